"""Issue 10, point 9 and 12: offers and events only for pupils, users outside the three regions,
"Erinnere mich" is a reminder (not a registration), agents see counts per event of their cluster."""
from __future__ import annotations

from datetime import UTC, datetime

from content import default_directory
from flows.domain.matching import HIDE, LAST, SHOW, pupils_only_offers
from tests.unit.fakes import EVENTS, VACANCIES, SteppableClock, Store
from tests.unit.harness import Harness
from tests.unit.test_leads import _agent

PLACES = default_directory()
PUPILS_ONLY = {v.slug for v in VACANCIES if v.pupils_only}
PUPIL_EVENTS = {e.slug for e in EVENTS if e.pupils_only}
GIRLS_DAY = next(e for e in EVENTS if e.slug == "girls-day-halle-2027")
LOEBAU_FAIR = next(e for e in EVENTS if e.slug == "karrieretage-loebau-2027")


async def _young(plz: str, age: str, school: str, store: Store | None = None, chat_id: int = 42,
                 start: datetime | None = None) -> Harness:
    h = Harness(store=store, chat_id=chat_id, places=PLACES,
                clock=SteppableClock(start or datetime(2027, 1, 10, 9, tzinfo=UTC)))
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press(f"ob:age:{age}")
    await h.text(plz)
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    await h.press(f"ob:school:{school}")
    if school == "pupil":
        await h.press("ob:class:9")
    return h


async def _all_cards(h: Harness) -> list[str]:
    """Every offer of the search, in order (widened to 100 km through the filter screen)."""
    await h.command("stellen")
    await h.press("v:f")
    await h.press("v:r:100")
    await h.press("v:n:0")
    slugs = []
    while "vacancies.card" in h.keys:
        slugs.append(next(d.removeprefix("ld:v:") for d in h.button_data if d.startswith("ld:v:")))
        await h.press(next(d for d in h.button_data if d.startswith("v:n:")))
    return slugs


def test_who_sees_what_is_only_for_pupils() -> None:
    assert pupils_only_offers("teen", "18plus", "mittlere_reife") == HIDE
    assert pupils_only_offers("teen", "16_17", "none") == HIDE  # left school without a certificate
    assert pupils_only_offers("teen", "18plus", None) == LAST
    assert pupils_only_offers("teen", "18plus", "pupil") == SHOW  # Abitur class 12
    assert pupils_only_offers("teen", "u16", None) == SHOW
    assert pupils_only_offers("parent", None, None) == SHOW


async def test_a_school_leaver_is_not_shown_pupils_only_offers() -> None:
    h = await _young("06108", "18plus", "mittlere_reife")  # the 19-year-old in Halle
    slugs = await _all_cards(h)
    assert slugs and not PUPILS_ONLY & set(slugs)
    assert "saalefunke-mecha-praktikum" not in slugs  # "Zwei Wochen Schülerpraktikum" was first


async def test_a_pupil_still_gets_them() -> None:
    h = await _young("06108", "u16", "pupil")
    assert "saalefunke-mecha-praktikum" in await _all_cards(h)


async def test_an_adult_with_unknown_school_gets_them_last_and_marked() -> None:
    h = await _young("06108", "18plus", "skip")
    seen: list[tuple[str, str]] = []
    await h.command("stellen")
    await h.press("v:f")
    await h.press("v:r:100")
    await h.press("v:n:0")
    while "vacancies.card" in h.keys:
        card = h.reply("vacancies.card")
        seen.append((next(d for d in h.button_data if d.startswith("ld:v:")).removeprefix("ld:v:"),
                     card.values["audience"]))
        await h.press(next(d for d in h.button_data if d.startswith("v:n:")))
    marked = [audience == "pupils" for _, audience in seen]
    assert any(marked) and marked == sorted(marked)  # all of them at the end
    assert all((slug in PUPILS_ONLY) == m for (slug, _), m in zip(seen, marked))


async def test_a_school_leaver_does_not_get_school_only_events() -> None:
    h = await _young("06108", "18plus", "mittlere_reife")
    assert await h.command("termine") == ["events.list"]
    listed = {d.removeprefix("e:s:") for d in h.button_data if d.startswith("e:s:")}
    assert listed and not listed & PUPIL_EVENTS
    pupil = await _young("06108", "u16", "pupil", chat_id=43)
    await pupil.command("termine")
    assert {d.removeprefix("e:s:") for d in pupil.button_data if d.startswith("e:s:")} & PUPIL_EVENTS


async def test_outside_the_regions_the_bot_says_so_and_offers_the_clusters_towns() -> None:
    h = await _young("80331", "18plus", "abitur")  # München
    assert await h.command("stellen") == ["vacancies.outside"]
    outside = h.reply("vacancies.outside").values
    assert outside["place"] == "München" and outside["km"] > 60
    assert {r["name"] for r in outside["regions"]} == {"TAB_MINT", "Die Zukunftsmacher", "Lausitz-Cares"}
    towns = [d for d in h.button_data if d.startswith("v:t:")]
    assert towns[0] == "v:t:tab-mint"  # the nearest first
    assert await h.press("v:t:tab-mint") == ["vacancies.header", "vacancies.card"]
    assert h.reply("vacancies.header").values["place"] == "Halle (Saale)"
    assert await h.command("stellen") == ["vacancies.header", "vacancies.card"]  # the choice is kept
    assert await h.forge("v:t:gibt-es-nicht") != ["vacancies.header", "vacancies.card"]


async def test_remind_me_says_it_is_no_registration_and_shows_where_to_register() -> None:
    h = await _young("06108", "u16", "pupil")
    await h.forge(f"e:s:{LOEBAU_FAIR.slug}")
    assert h.reply("events.page").values["registration"] is None
    assert await h.press(f"e:y:{LOEBAU_FAIR.slug}") == ["events.going", "events.page"]
    assert h.reply("events.going").values["registration"] is None
    assert h.reply("events.page").values["new"] is True  # the note says it; the page does not repeat it
    await h.forge(f"e:s:{GIRLS_DAY.slug}")
    assert h.reply("events.page").values["registration"] == GIRLS_DAY.registration_url
    await h.press(f"e:y:{GIRLS_DAY.slug}")
    assert h.reply("events.going").values["registration"] == GIRLS_DAY.registration_url


async def test_an_agent_sees_counts_for_their_clusters_events_and_nobody_else_does() -> None:
    store, clock = Store(), SteppableClock(datetime(2027, 1, 10, 9, tzinfo=UTC))
    teen = await _young("02708", "u16", "pupil", store=store, chat_id=501)
    other = await _young("02708", "16_17", "pupil", store=store, chat_id=502)
    for user in (teen, other):
        await user.forge(f"e:s:{LOEBAU_FAIR.slug}")
        await user.press(f"e:y:{LOEBAU_FAIR.slug}")
    await teen.forge(f"e:s:{LOEBAU_FAIR.slug}")
    assert teen.reply("events.page").values["rsvps"] is None  # young people see no counts
    agent = await _agent(store, clock, 900, "02826")  # Görlitz: Die Zukunftsmacher
    assert agent.profile.cluster == "zukunftsmacher"
    assert await agent.command("termine") == ["events.agent_list"]
    items = agent.reply("events.agent_list").values["items"]
    counts = {i["title"]: i["rsvps"] for i in items}
    assert counts[LOEBAU_FAIR.title] == 2
    listed = {d.removeprefix("e:s:") for d in agent.button_data if d.startswith("e:s:")}
    assert {e.cluster for e in EVENTS if e.slug in listed} == {"zukunftsmacher"}
    await agent.press(f"e:s:{LOEBAU_FAIR.slug}")
    page = agent.reply("events.page").values
    assert page["rsvps"] == 2 and "first_name" not in page
    await agent.forge(f"e:s:{GIRLS_DAY.slug}")  # another cluster's event: no count
    assert agent.reply("events.page").values["rsvps"] is None
