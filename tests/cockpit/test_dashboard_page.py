"""Issue 12, point 2: the dashboard's funnel, per source, masked below 5, only the agent's cluster."""
from __future__ import annotations

import re

from sqlalchemy import text

from flows.core.model import Profile
from tests.cockpit.conftest import OTHER_AGENT, CockpitUnderTest


async def _people(cockpit: CockpitUnderTest, chats: range, cluster: str, source: str | None,
                  onboarded: bool = True) -> None:
    now = cockpit.clock.now()
    async with cockpit.app.uow_factory() as uow:
        for chat in chats:
            await uow.users.save(Profile(channel="telegram", chat_id=chat, role="teen", age_band="16_17",
                                         cluster=cluster, source=source, onboarded=onboarded, created_at=now,
                                         last_seen_at=now))
        await uow.commit()


def _row(page: str, attribute: str, value: str) -> list[str]:
    match = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', page, re.S)
    assert match is not None, f"no row {value}"
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", match.group(1), re.S)]


async def test_funnel_numbers_per_step_and_source_and_small_ones_masked(cockpit: CockpitUnderTest) -> None:
    await _people(cockpit, range(7000, 7012), "zukunftsmacher", "plakat-loebau")  # 12, all onboarded
    await _people(cockpit, range(7100, 7103), "zukunftsmacher", "stand-zittau", onboarded=False)  # 3
    await _people(cockpit, range(7200, 7250), "tab-mint", "plakat-halle")  # another cluster: never counted
    browser = await cockpit.signed_in()
    page = await (await browser.get("/")).text()
    # Everyone of the cluster counts, the fixture's three profiles of this cluster too.
    new = _row(page, "data-step", "new")
    onboarded = _row(page, "data-step", "onboarded")
    assert new[0].startswith("Neu") and onboarded[0] == "Anmeldung fertig"
    async with cockpit.app.uow_factory() as uow:
        rows = (await uow.session.execute(
            text("SELECT count(*), sum(CASE WHEN onboarded THEN 1 ELSE 0 END) FROM users "
                 "WHERE cluster = 'zukunftsmacher'"))).one()
    assert new[1] == str(rows[0]) and onboarded[1] == str(rows[1])
    assert _row(page, "data-step", "hired")[1] == "0"
    plakat = _row(page, "data-source", "plakat-loebau")
    assert plakat[1:3] == ["12", "12"]
    others = _row(page, "data-source", "")
    assert others[0].startswith("weitere") and "stand-zittau" not in page  # 3 people: not on their own
    assert "plakat-halle" not in page and "tab-mint" not in page
    other = await cockpit.signed_in(OTHER_AGENT)
    theirs = await (await other.get("/")).text()
    assert _row(theirs, "data-source", "plakat-halle")[1] == "50" and "plakat-loebau" not in theirs


async def test_a_small_cluster_shows_no_number_below_five(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    page = await (await browser.get("/?zeitraum=4")).text()
    # The fixture's three profiles of this cluster: shown as "< 5" everywhere.
    assert _row(page, "data-step", "new")[1] == "&lt; 5"
    assert _row(page, "data-step", "onboarded")[2] == "–"  # no drop-off next to a masked count
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert ">4<" not in svg and "&lt; 5" in svg
