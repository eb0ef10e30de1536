"""Berufe entdecken: browsing, teen and parent pages, Berufsschule distances."""
from __future__ import annotations

from content import default_directory
from tests.unit.harness import Harness


async def _user(role: str, plz: str = "02826") -> Harness:
    h = Harness(places=default_directory())  # the real postcode table: every Berufsschule town is in it
    await h.command("start")
    await h.press(f"ob:role:{role}")
    if role == "teen":
        await h.press("ob:age:16_17")
    await h.text(plz)
    await h.press("ob:place_confirm:yes")
    if role == "teen":
        await h.press("ob:school:skip")
    return h


async def test_browse_by_cluster_then_open_a_teen_page_with_school_distances() -> None:
    h = await _user("teen")
    assert await h.press("p:open") == ["professions.choose"]
    assert h.button_data[0] == "p:c:zukunftsmacher"  # own cluster first
    assert await h.press("p:c:zukunftsmacher") == ["professions.list_cluster"]
    assert await h.press("p:show:mechatroniker-in") == ["professions.teen_page"]
    page = h.reply("professions.teen_page").values
    assert page["years"] == 3.5 and page["pay"][0] == 724
    assert page["texts"]["what_you_do"]
    schools = page["schools"]
    assert schools and all(s["km"] is not None for s in schools)
    assert schools == sorted(schools, key=lambda s: s["km"])  # nearest Berufsschule first


async def test_parents_get_the_parent_page_and_can_switch() -> None:
    h = await _user("parent")
    await h.press("p:open")
    assert await h.press("p:f:pflege-hauswirtschaft") == ["professions.list_field"]
    assert await h.press("p:show:pflegefachfrau-pflegefachmann") == ["professions.parent_page"]
    page = h.reply("professions.parent_page").values
    assert page["tarif"] and page["legal_requirement"]
    assert await h.press("p:teen:pflegefachfrau-pflegefachmann") == ["professions.teen_page"]


async def test_unknown_profession_or_cluster_is_a_stale_button() -> None:
    h = await _user("teen")
    await h.press("p:open")
    assert (await h.forge("p:show:astronaut"))[0] == "fallback.stale_button"
    assert (await h.forge("p:c:atlantis"))[0] == "fallback.stale_button"
