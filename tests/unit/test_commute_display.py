"""Issue 16: travel times by bus and train on offer cards, company and profession pages, the filter
"höchstens 60 min mit Bus und Bahn" (list and saved-search alerts), and /fahrplan. Commutes are planned by the
planning job; here they are set in the fake store (Store.commute_plan, Store.commutes)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from content import default_directory
from flows.domain.commute import NO_CONNECTION, Commute, CommutePlan, FeedCredit
from flows.domain.commute_view import FAR, NO_TIMETABLE, UNPLANNED, clock_time, commute_view, commutes_to
from flows.domain.geo import Place
from flows.domain.journeys import Point
from flows.domain.places import home_of, located
from flows.jobs.alerts import alert_saved_searches
from prompts import default_catalog
from tests.fakes.bot_api_html import parse_html
from tests.unit.fakes import COMPANIES, VACANCIES, FakeCommutes, FakeUnitOfWork, Store
from tests.unit.harness import Harness, onboarded_teen

PLACES = default_directory()
CATALOG = default_catalog()
PLAN = CommutePlan(network="net-1", service_day=date(2027, 3, 9),
                   feeds=(FeedCredit("ZVON Fahrplan", "Zweckverband Verkehrsverbund Oberlausitz-Niederschlesien",
                                     "CC BY 4.0", "https://example.org/zvon-gtfs.zip"),),
                   planned_at=datetime(2027, 3, 1, 3, tzinfo=UTC), complete=True)


def _at(hours: int, minutes: int) -> int:
    return hours * 3600 + minutes * 60


BY_BUS = Commute(minutes=52, changes=1, walk_minutes=9, leave=_at(6, 20), arrive=_at(7, 12),
                 first_arrival=_at(6, 48), back_arrival=_at(16, 58))


def _bus(minutes: int) -> Commute:
    return Commute(minutes=minutes, changes=0, walk_minutes=5, leave=_at(7, 0), arrive=_at(7, 0) + minutes * 60,
                   first_arrival=_at(6, 0), back_arrival=_at(17, 0))


def _offer(slug: str) -> Any:
    return next(v for v in VACANCIES if v.slug == slug)


def _point(place: Place) -> Point:
    return place.lat, place.lon


_teen = onboarded_teen


def _home(h: Harness) -> Point:
    home = home_of(PLACES, h.profile)
    assert home is not None
    return _point(home)


def _text(key: str, values: dict[str, Any], locale: str = "de", formal: bool = False) -> str:
    text = CATALOG.render(key, values, locale, formal)
    parse_html(text)  # Telegram's HTML rules
    return text


def _count_lookups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many destinations each `lookup` call asked for."""
    calls: list[int] = []
    original = FakeCommutes.lookup

    async def counting(self: FakeCommutes, home: Point, destinations: Iterable[Point]) -> dict[Point, Commute | None]:
        wanted = list(destinations)
        calls.append(len(wanted))
        return await original(self, home, wanted)

    monkeypatch.setattr(FakeCommutes, "lookup", counting)
    return calls


# ---- offer cards ---------------------------------------------------------------------------------------
async def test_a_card_says_how_long_by_bus_and_train_to_the_offer_and_its_school(monkeypatch: pytest.MonkeyPatch) -> None:
    h = await _teen("02906")  # Niesky; the offer is in Niesky, its Berufsschule in Görlitz
    offer = _offer("nieskyer-im-2027")
    assert offer.school_lat is not None and offer.school_lon is not None
    school = (offer.school_lat, offer.school_lon)
    h.store.commute_plan = PLAN
    h.store.commutes[(_home(h), (offer.lat, offer.lon))] = BY_BUS
    h.store.commutes[(_home(h), school)] = NO_CONNECTION
    lookups = _count_lookups(monkeypatch)
    assert await h.forge(f"v:o:{offer.slug}") == ["vacancies.card"]
    assert lookups == [2]  # the offer and its school in one lookup
    values = h.reply("vacancies.card").values
    assert values["commute"] == {"status": "transit", "km": values["km"], "minutes": 52, "changes": 1, "walk_minutes": 9,
                                 "leave": "6:20", "arrive": "7:12", "first": "6:48", "back": "16:58",
                                 "back_minutes": 58}
    assert values["school_commute"]["status"] == "none" and values["school_commute"]["km"] == values["school_km"] > 0
    text = _text("vacancies.card", values)
    assert "🚌 52 min mit Bus und Bahn, 1× umsteigen, erste Ankunft 6:48" in text
    assert "↩️ zurück ab 16 Uhr: zu Hause 16:58" in text
    assert f"Mit Bus und Bahn nicht bis 8 Uhr erreichbar · {values['school_km']} km Luftlinie" in text
    english = _text("vacancies.card", values, "en")
    assert "52 min by bus and train, 1 change, earliest arrival 6:48" in english


async def test_without_a_timetable_a_card_shows_the_km() -> None:
    h = await _teen("02906")
    await h.forge("v:o:nieskyer-im-2027")
    values = h.reply("vacancies.card").values
    assert values["commute"]["status"] == NO_TIMETABLE and values["commute"]["minutes"] is None
    assert values["school_commute"]["status"] == NO_TIMETABLE
    text = _text("vacancies.card", values)
    assert f"📏 {values['school_km']} km Luftlinie · ohne Fahrplan keine Fahrzeit" in text


async def test_a_card_far_away_says_too_far_and_an_unplanned_one_the_km() -> None:
    h = await _teen("02906")
    h.store.commute_plan = PLAN  # nothing planned from Niesky
    await h.forge("v:o:saalefunke-ea-2027")  # Halle (Saale): about 200 km
    values = h.reply("vacancies.card").values
    assert values["commute"]["status"] == FAR and values["commute"]["km"] > 100
    assert "zu weit, um jeden Tag hinzufahren" in _text("vacancies.card", values)
    await h.forge("v:o:nieskyer-im-2027")
    assert h.reply("vacancies.card").values["commute"]["status"] == UNPLANNED


async def test_on_foot_it_says_minutes_on_foot() -> None:
    h = await _teen("02906")
    offer = _offer("nieskyer-im-2027")
    h.store.commute_plan = PLAN
    h.store.commutes[(_home(h), (offer.lat, offer.lon))] = Commute(
        minutes=18, changes=0, walk_minutes=18, leave=_at(7, 42), arrive=_at(8, 0), first_arrival=None,
        back_arrival=_at(16, 18))
    await h.forge(f"v:o:{offer.slug}")
    values = h.reply("vacancies.card").values
    assert values["commute"]["status"] == "on_foot" and values["commute"]["first"] is None
    text = _text("vacancies.card", values)
    assert "🚶 18 min zu Fuß" in text and "zurück ab" not in text.split("🏫")[0]


# ---- pages ---------------------------------------------------------------------------------------------
async def test_profession_page_lists_schools_quickest_first_then_nearest(monkeypatch: pytest.MonkeyPatch) -> None:
    h = await _teen("02906")  # Niesky: Görlitz ~16 km, Cottbus ~70 km, Halle (Saale) ~200 km
    goerlitz, cottbus = PLACES.find("02826", "Görlitz"), PLACES.find("03046", "Cottbus")
    assert goerlitz is not None and cottbus is not None
    h.store.commute_plan = PLAN
    h.store.commutes[(_home(h), _point(goerlitz))] = NO_CONNECTION
    h.store.commutes[(_home(h), _point(cottbus))] = _bus(95)
    lookups = _count_lookups(monkeypatch)
    await h.forge("p:show:mechatroniker-in")
    assert lookups == [3]
    schools = h.reply("professions.teen_page").values["schools"]
    assert [s["name"] for s in schools] == ["Cottbus", "Görlitz", "Halle (Saale)"]
    assert [s["commute"]["status"] for s in schools] == ["transit", "none", FAR]
    assert schools[0]["commute"]["minutes"] == 95 and schools[1]["km"] < schools[0]["km"]
    text = _text("professions.teen_page", h.reply("professions.teen_page").values)
    assert "• Cottbus: 🚌 95 min mit Bus und Bahn, direkt" in text
    await h.forge("p:parent:mechatroniker-in")
    parent = _text("professions.parent_page", h.reply("professions.parent_page").values, formal=True)
    assert "• Görlitz: 🚌 Mit Bus und Bahn nicht bis 8 Uhr erreichbar" in parent


async def test_profession_page_without_a_timetable_sorts_by_km() -> None:
    h = await _teen("02906")
    await h.forge("p:show:mechatroniker-in")
    schools = h.reply("professions.teen_page").values["schools"]
    assert [s["name"] for s in schools] == ["Görlitz", "Cottbus", "Halle (Saale)"]
    assert {s["commute"]["status"] for s in schools} == {NO_TIMETABLE}


async def test_company_page_says_how_to_get_there() -> None:
    h = await _teen("02826")  # Görlitz
    company = next(c for c in COMPANIES if c.slug == "nieskyer-stahlfeder")
    site = located(PLACES, company)
    assert site is not None
    h.store.commute_plan = PLAN
    h.store.commutes[(_home(h), _point(site))] = BY_BUS
    assert await h.forge("co:s:nieskyer-stahlfeder") == ["companies.page"]
    values = h.reply("companies.page").values
    assert values["commute"]["status"] == "transit" and values["commute"]["minutes"] == 52
    assert values["km"] == values["commute"]["km"] > 0
    assert "🚌 52 min mit Bus und Bahn, 1× umsteigen" in _text("companies.page", values)


# ---- the filter "höchstens 60 min mit Bus und Bahn" ----------------------------------------------------------
async def _goerlitz_with_plan() -> tuple[Harness, Point]:
    """A teen in Görlitz; only the offers at Görlitz 02826's centre are within 60 minutes."""
    h = await _teen("02826")
    near = _offer("neisse-metallbau-im-2027")
    h.store.commute_plan = PLAN
    h.store.commutes[(_home(h), (near.lat, near.lon))] = _bus(25)
    loebau = _offer("loebauer-ob-2027")
    h.store.commutes[(_home(h), (loebau.lat, loebau.lon))] = _bus(75)
    return h, (near.lat, near.lon)


async def test_the_filter_button_shows_only_with_a_timetable() -> None:
    h = await _teen("02826")
    await h.command("stellen")
    await h.press("v:f")
    assert not [d for d in h.button_data if d.startswith("v:c:")]
    assert h.reply("vacancies.filters").values["planned"] is False
    h.store.commute_plan = PLAN
    await h.command("stellen")
    await h.press("v:f")
    assert "v:c:60" in h.button_data and h.reply("vacancies.filters").values["planned"] is True
    assert await h.press("v:c:60") == ["vacancies.filters"]  # chosen, not searched yet
    assert "v:c:0" in h.button_data and h.reply("vacancies.filters").values["max_minutes"] == 60
    assert "Bus und Bahn: höchstens 60 min" in _text("vacancies.filters", h.reply("vacancies.filters").values)
    await h.press("v:c:0")
    assert "v:c:60" in h.button_data and h.reply("vacancies.filters").values["max_minutes"] is None


async def test_the_filter_keeps_only_offers_within_60_minutes() -> None:
    h, near = await _goerlitz_with_plan()
    await h.command("stellen")
    everything = h.reply("vacancies.header").values["count"]
    await h.press("v:f")
    await h.press("v:c:60")
    assert await h.press("v:n:0") == ["vacancies.header", "vacancies.card"]
    header = h.reply("vacancies.header").values
    assert header["max_minutes"] == 60 and header["ignored_minutes"] is None
    assert 0 < header["count"] < everything
    assert "höchstens 60 min mit Bus und Bahn" in _text("vacancies.header", header)
    for n in range(header["count"]):
        card = h.reply("vacancies.card").values
        assert card["commute"]["status"] == "transit" and card["commute"]["minutes"] == 25
        await h.press(f"v:n:{n + 1}")
    assert h.keys == ["vacancies.end"]
    assert h.store.filters[h.user_id].max_minutes == 60  # kept for the next /stellen


async def test_no_offer_within_60_minutes_offers_to_drop_the_filter() -> None:
    h = await _teen("02826")
    h.store.commute_plan = PLAN  # nothing planned from Görlitz: nothing reachable
    await h.command("stellen")
    await h.press("v:f")
    await h.press("v:c:60")
    assert await h.press("v:n:0") == ["vacancies.none"]
    none = h.reply("vacancies.none").values
    assert none["max_minutes"] == 60 and "v:dc" in h.button_data
    assert "mit deinen Filtern (höchstens 60 min mit Bus und Bahn)" in _text("vacancies.none", none)
    assert await h.press("v:dc") == ["vacancies.header", "vacancies.card"]
    assert h.reply("vacancies.header").values["max_minutes"] is None
    assert h.store.filters[h.user_id].max_minutes is None


async def test_the_filter_is_left_out_when_the_timetable_is_gone() -> None:
    h, _ = await _goerlitz_with_plan()
    await h.command("stellen")
    everything = h.reply("vacancies.header").values["count"]
    await h.press("v:f")
    await h.press("v:c:60")
    await h.press("v:n:0")
    h.store.commute_plan = None  # the timetable was unloaded
    assert await h.command("stellen") == ["vacancies.header", "vacancies.card"]
    header = h.reply("vacancies.header").values
    assert header["count"] == everything and header["max_minutes"] is None and header["ignored_minutes"] == 60
    assert "lasse ich gerade weg" in _text("vacancies.header", header)
    await h.press("v:f")
    assert not [d for d in h.button_data if d.startswith("v:c:")]
    none = {"radius": 10, "place": "Görlitz", "kind": None, "profession": None, "wider": 25, "max_minutes": None,
            "ignored_minutes": 60}
    assert "keine Fahrpläne.\nSoll ich bis 25 km suchen?" in _text("vacancies.none", none)


async def test_alerts_honour_the_filter() -> None:
    h, near = await _goerlitz_with_plan()
    await h.command("stellen")
    await h.press("v:f")
    await h.press("v:c:60")
    await h.press("v:n:0")
    assert await h.press("v:a") == ["vacancies.alert_saved"]
    saved = h.reply("vacancies.alert_saved").values
    assert saved["max_minutes"] == 60
    assert "höchstens 60 min entfernt" in _text("vacancies.alert_saved", saved)
    new = ["neisse-metallbau-im-2027", "loebauer-ob-2027"]  # 25 and 75 minutes away
    async with FakeUnitOfWork(h.store) as uow:
        assert await alert_saved_searches(uow, new, PLACES, h.clock.now()) == 1
        await uow.commit()
    [alert] = [m for m in h.store.outbox.values() if m.reply.key == "vacancies.alert"]
    assert alert.reply.values["count"] == 1
    h.store.commute_plan = None  # no timetable: the filter is left out, both offers match
    async with FakeUnitOfWork(h.store) as uow:
        assert await alert_saved_searches(uow, new, PLACES, h.clock.now()) == 1
        await uow.commit()
    assert sorted(m.reply.values["count"] for m in h.store.outbox.values() if m.reply.key == "vacancies.alert") == [1, 2]


# ---- /fahrplan -------------------------------------------------------------------------------------------------
async def test_fahrplan_names_each_timetable_with_its_licence_escaped() -> None:
    h = await _teen("02826")
    hostile = FeedCredit("<b>x</b>", "Verkehrsverbund & Co", "DL-DE/BY-2.0", "https://example.org/feed?a=1&b=<2>")
    h.store.commute_plan = CommutePlan(network="net-2", service_day=date(2027, 3, 9), feeds=(*PLAN.feeds, hostile),
                                       planned_at=PLAN.planned_at, complete=False)
    assert await h.command("fahrplan") == ["privacy.timetable"]
    values = h.reply("privacy.timetable").values
    assert values["planned"] is True and values["service_day"] == "09.03.2027"
    assert [f["licence"] for f in values["feeds"]] == ["CC BY 4.0", "DL-DE/BY-2.0"]
    text = _text("privacy.timetable", values)
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text
    assert "Verkehrsverbund &amp; Co" in text and "Lizenz: CC BY 4.0" in text and "09.03.2027" in text
    assert "1,5 km" in text and "4,5 km/h" in text and "30 %" in text and "2 Minuten" in text
    assert "bis 8:00 Uhr" in text and "ab 16:00 Uhr" in text and "Noch sind nicht alle Ziele berechnet" in text
    assert "nicht deinen Ort" in text
    assert "Ihren Ort" in _text("privacy.timetable", values, formal=True)
    assert "licence: DL-DE/BY-2.0" in _text("privacy.timetable", values, "en")
    assert await h.command("timetable") == ["privacy.timetable"]


async def test_fahrplan_without_a_timetable_says_km_only() -> None:
    h = await _teen("02826")
    assert await h.command("fahrplan") == ["privacy.timetable"]
    values = h.reply("privacy.timetable").values
    assert values["planned"] is False and values["feeds"] == []
    text = _text("privacy.timetable", values)
    assert "kein Fahrplan geladen" in text and "km Luftlinie" in text


async def test_privacy_and_help_point_to_fahrplan() -> None:
    h = await _teen("02826")
    await h.command("datenschutz")
    assert "/fahrplan" in _text("privacy.info", h.reply("privacy.info").values)
    await h.command("hilfe")
    assert "/fahrplan" in _text("menu.help", {})


# ---- the view itself ---------------------------------------------------------------------------------------------
def test_clock_time_rounds_arrivals_up_and_wraps_the_day() -> None:
    assert clock_time(_at(7, 12)) == "7:12"
    assert clock_time(_at(7, 12) + 30) == "7:12" and clock_time(_at(7, 12) + 30, round_up=True) == "7:13"
    assert clock_time(_at(24, 40)) == "0:40" and clock_time(-_at(0, 30)) == "23:30"
    assert clock_time(_at(16, 0)) == "16:00"


def test_commute_view_statuses() -> None:
    home = Place("02826", "Görlitz", "Sachsen", "Landkreis Görlitz", 51.1503, 14.9829)
    near, far = (51.2924, 14.8211), (51.4753, 11.9973)
    assert commute_view(home, near, None, {}).status == NO_TIMETABLE
    assert commute_view(home, near, PLAN, {}).status == UNPLANNED
    assert commute_view(home, far, PLAN, {}).status == FAR
    assert commute_view(home, near, PLAN, {near: NO_CONNECTION}).status == "none"
    view = commute_view(home, near, PLAN, {near: BY_BUS})
    assert (view.status, view.known_minutes, view.first, view.back) == ("transit", 52, "6:48", "16:58")
    no_way_back = commute_view(home, near, PLAN, {near: Commute(52, 1, 9, _at(6, 20), _at(7, 12), _at(6, 48), None)})
    assert no_way_back.back is None and no_way_back.back_minutes is None
    text = _text("commute.line", {"c": no_way_back.values()})
    assert "keine Verbindung bis 19 Uhr" in text


@pytest.mark.parametrize("locale", ["de", "en"])
@pytest.mark.parametrize("formal", [False, True])
def test_every_status_renders(locale: str, formal: bool) -> None:
    home = Place("02826", "Görlitz", "Sachsen", "Landkreis Görlitz", 51.1503, 14.9829)
    near, far = (51.2924, 14.8211), (51.4753, 11.9973)
    foot = Commute(18, 0, 18, _at(7, 42), _at(8, 0), None, _at(16, 18))
    views = [commute_view(home, near, None, {}), commute_view(home, near, PLAN, {}), commute_view(home, far, PLAN, {}),
             commute_view(home, near, PLAN, {near: None}), commute_view(home, near, PLAN, {near: BY_BUS}),
             commute_view(home, near, PLAN, {near: foot}), commute_view(home, near, PLAN, {near: _bus(30)})]
    texts = [_text("commute.line", {"c": v.values()}, locale, formal) for v in views]
    assert len(set(texts)) == len(texts)  # each status says something of its own
    assert all("None" not in t for t in texts)


async def test_commutes_to_without_a_home_asks_nothing() -> None:
    store = Store()
    store.commute_plan = PLAN
    calls: list[str] = []

    class Reader(FakeCommutes):
        async def plan(self) -> CommutePlan | None:
            calls.append("plan")
            return await super().plan()

    assert await commutes_to(Reader(store), None, [(51.0, 14.0), None]) == [None, None]
    assert calls == []
