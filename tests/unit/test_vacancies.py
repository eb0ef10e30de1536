"""Stellen & Praktika: ranking, filters, paging, no-result help, Merken, Interessiert mich, alerts."""
from __future__ import annotations

from datetime import date

from content import default_directory
from flows.domain.content import VacancyCandidate
from flows.domain.matching import expected_school_level, rank_spec, rank_vacancies
from tests.unit.harness import Harness, onboarded_teen

_teen = onboarded_teen


async def test_offers_near_home_come_as_cards_with_distance_and_paging() -> None:
    h = await _teen()
    assert await h.press("v:open") == ["vacancies.header", "vacancies.card"]
    header = h.reply("vacancies.header").values
    assert header["radius"] == 25 and header["count"] >= 2 and header["place"] == "Görlitz"
    first = h.reply("vacancies.card").values
    assert first["number"] == 1 and first["km"] <= 25 and first["company"]
    assert first["example"] is False and "(Beispiel)" in first["company"]  # the name says it already
    def shown() -> str:
        return next(d for d in h.button_data if d.startswith("ld:v:"))

    seen = {shown()}
    for _ in range(header["count"] - 1):
        assert await h.press(next(d for d in h.button_data if d.startswith("v:n:"))) == ["vacancies.card"]
        seen.add(shown())
        assert h.reply("vacancies.card").values["km"] <= 25
    assert len(seen) == header["count"]
    assert await h.press(next(d for d in h.button_data if d.startswith("v:n:"))) == ["vacancies.end"]


async def test_filters_change_radius_kind_and_profession() -> None:
    h = await _teen()
    await h.press("v:open")
    near = h.reply("vacancies.header").values["count"]
    assert await h.press("v:f") == ["vacancies.filters"]
    assert await h.press("v:r:100") == ["vacancies.filters"]  # chosen, not searched yet
    assert await h.press("v:n:0") == ["vacancies.header", "vacancies.card"]
    assert h.reply("vacancies.header").values["count"] > near
    await h.press("v:f")
    await h.press("v:k:praktikum")
    await h.press("v:n:0")
    assert h.reply("vacancies.header").values["kind"] == "praktikum"
    assert h.reply("vacancies.card").values["kind"] == "praktikum"
    await h.press("v:f")
    await h.press("v:k:all")
    assert await h.press("v:p") == ["vacancies.choose_profession"]
    await h.press("v:pp:maurer-in")
    await h.press("v:n:0")
    assert h.reply("vacancies.card").values["profession"] == "Maurer:in"


async def test_no_result_says_why_and_offers_a_wider_radius() -> None:
    h = await _teen()  # Görlitz: no Hauswirtschaft offer within 10 km
    await h.press("v:open")
    for data in ("v:f", "v:r:10", "v:p", "v:pp:hauswirtschafter-in"):
        await h.press(data)
    assert await h.press("v:n:0") == ["vacancies.none"]
    none = h.reply("vacancies.none").values
    assert (none["radius"], none["wider"], none["place"]) == (10, 25, "Görlitz")
    assert await h.press("v:w:25") == ["vacancies.none"]  # "search wider" searches at once
    assert h.reply("vacancies.none").values["radius"] == 25
    await h.press("v:w:50")
    if "v:w:100" in h.button_data:
        await h.press("v:w:100")
    if h.keys == ["vacancies.none"]:
        assert h.reply("vacancies.none").values["wider"] is None  # nothing wider to offer at 100 km
    assert "v:a" in h.button_data and "v:f" in h.button_data


async def test_far_from_every_region_the_bot_says_so() -> None:
    h = await _teen("20095")  # Hamburg
    assert await h.press("v:open") == ["vacancies.outside"]


async def test_without_a_home_place_the_user_is_asked_for_it() -> None:
    h = Harness(places=default_directory())
    await h.command("start")
    await h.press("ob:role:skip")
    await h.press("ob:place:skip")
    assert await h.command("stellen") == ["vacancies.need_place"]
    assert "ob:settings:place" in h.button_data


async def test_saved_offers_land_on_the_merkliste_and_interest_starts_a_hand_over() -> None:
    h = await _teen()
    await h.press("v:open")
    slug = next(d for d in h.button_data if d.startswith("v:s:")).removeprefix("v:s:")
    assert await h.press(f"v:s:{slug}") == ["vacancies.saved"]
    assert await h.press(next(d for d in h.button_data if d.startswith("v:n:"))) == ["vacancies.card"]
    assert await h.press(next(d for d in h.button_data if d.startswith("ld:v:"))) == ["leads.choose_recipients"]
    await h.press("ld:x")
    await h.press("v:open")
    await h.press("v:n:1")
    other = next(d for d in h.button_data if d.startswith("v:s:")).removeprefix("v:s:")
    assert await h.press(f"v:s:{other}") == ["vacancies.saved"]
    assert h.reply("vacancies.saved").values["new"] is True
    assert await h.forge(f"v:s:{other}") == ["vacancies.saved"]
    assert h.reply("vacancies.saved").values["new"] is False
    assert await h.press("v:m") == ["vacancies.saved_list"]
    assert h.reply("vacancies.saved_list").values["count"] == 2
    marks = h.store.marks[h.user_id]
    assert {(m.slug, m.mark) for m in marks} == {(slug, "saved"), (other, "saved")}


async def test_saved_search_is_stored_once() -> None:
    h = await _teen()
    await h.press("v:open")
    assert await h.press("v:a") == ["vacancies.alert_saved"]
    assert await h.forge("v:a") == ["vacancies.alert_saved"]
    assert h.reply("vacancies.alert_saved").values["new"] is False
    assert len(h.store.searches[h.user_id]) == 1


def _candidate(slug: str, lat: float, lon: float, **fields: object) -> VacancyCandidate:
    base = dict(profession="maurer-in", kind="ausbildung", start=date(2027, 8, 1),
                published=date(2027, 1, 10), school_level=None)
    return VacancyCandidate(slug=slug, lat=lat, lon=lon, **{**base, **fields})  # type: ignore[arg-type]


def test_ranking_prefers_near_fitting_fresh_offers_and_drops_far_and_started_ones() -> None:
    home = (51.15, 14.98)
    today = date(2027, 1, 15)
    offers = [_candidate("near", 51.16, 14.99), _candidate("far", 51.5, 14.98),
              _candidate("mid", 51.25, 14.98), _candidate("started", 51.15, 14.98, start=date(2026, 9, 1)),
              _candidate("stale", 51.16, 14.99, published=date(2026, 3, 1)),
              _candidate("abi", 51.16, 14.99, school_level="abitur")]
    spec = rank_spec(*home, 25, today, None, None, None, {}, expected_school_level("pupil", 9))
    slugs = [r.slug for r in rank_vacancies(offers, spec)]
    assert "far" not in slugs and "started" not in slugs
    assert slugs[0] == "near" and slugs.index("near") < slugs.index("stale")  # same place, fresher first
    assert slugs.index("near") < slugs.index("abi")  # Abitur expected, user heads for Hauptschulabschluss


def test_interest_fit_outweighs_a_few_kilometres() -> None:
    home = (51.15, 14.98)
    offers = [_candidate("pflege", 51.17, 14.98, profession="pflegefachfrau-pflegefachmann"),
              _candidate("bau", 51.16, 14.98, profession="maurer-in")]
    profiles = {"pflegefachfrau-pflegefachmann": {"S": 5, "I": 3}, "maurer-in": {"R": 5}}
    spec = rank_spec(*home, 25, date(2027, 1, 15), None, None, {"S": 1.0, "I": 0.5}, profiles, None)
    assert rank_vacancies(offers, spec)[0].slug == "pflege"


async def test_alert_for_new_offers_can_be_opened_and_unsubscribed() -> None:
    from flows.jobs.alerts import alert_saved_searches
    from tests.unit.fakes import VACANCIES, FakeUnitOfWork

    h = await _teen()
    await h.press("v:open")
    await h.press("v:a")
    near = [v.slug for v in VACANCIES if abs(v.lat - 51.15) < 0.2 and abs(v.lon - 14.98) < 0.3]
    async with FakeUnitOfWork(h.store) as uow:
        assert await alert_saved_searches(uow, near, default_directory(), h.clock.now()) == 1
        assert await alert_saved_searches(uow, near, default_directory(), h.clock.now()) == 0  # once per news
        await uow.commit()
    [alert] = [m for m in h.store.outbox.values() if m.reply.key == "vacancies.alert"]
    pupils_only = {v.slug for v in VACANCIES if v.pupils_only}  # the teen has left school
    assert alert.reply.values["count"] == len(set(near) - pupils_only)
    assert await h.forge("v:q:0") == ["vacancies.header", "vacancies.card"]
    assert await h.forge("v:u:0") == ["vacancies.unsubscribed", "menu.main"]
    assert h.store.searches[h.user_id] == []
    assert (await h.forge("v:u:0"))[0] == "fallback.stale_button"
