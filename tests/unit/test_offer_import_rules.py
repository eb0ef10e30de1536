"""The rules of the Arbeitsagentur import (flows/domain/offer_import.py) and its daily due time."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.offer_import_job import is_due
from flows.domain.ba_listing import BaListing
from flows.domain.offer_import import (
    ClusterCompany,
    ImportContext,
    ImportProfession,
    ImportRegion,
    RegionTown,
    Skip,
    complete_groups,
    employer_key,
    names_profession,
    plan_searches,
    to_offer,
)
from tests.unit.fakes import FakePlaces

BERLIN = ZoneInfo("Europe/Berlin")
ROOFER = ImportProfession(slug="dachdecker-in", ba_names=("Dachdecker/in",), clusters=("z",),
                          berufsschule=(RegionTown("Görlitz", "02826"),))
CONTEXT = ImportContext(
    regions=(ImportRegion("z", (RegionTown("Löbau", "02708"), RegionTown("Görlitz", "02826")), 20),
             ImportRegion("other", (RegionTown("Cottbus", "03046"),), 20)),
    professions=(ROOFER, ImportProfession(slug="koch-in", ba_names=(), clusters=("z",))),
    companies=(ClusterCompany("dach-mueller", "Dach Müller GmbH & Co. KG"),),
    own_offers=frozenset({("dach-mueller", "dachdecker-in")}))


def listing(**changes: object) -> BaListing:
    values: dict[str, object] = {"ref": "10000-1-S", "title": "Ausbildung Dachdecker/in", "employer": "Dächer Neumann",
                                 "plz": "02708", "place": "Löbau", "start": date(2027, 8, 1),
                                 "published": date(2026, 11, 1), "professions": ("Dachdecker/in",)}
    values.update(changes)
    return BaListing.model_validate(values)


def test_searches_cover_each_region_town_kind_and_mapped_profession_of_the_cluster() -> None:
    searches = plan_searches(CONTEXT, "z")
    assert [(s.query.kind, s.query.wo) for s in searches] == [
        ("ausbildung", "Löbau"), ("ausbildung", "Görlitz"), ("praktikum", "Löbau"), ("praktikum", "Görlitz")]
    assert {s.query.was for s in searches} == {"Dachdecker/in"} and {s.query.umkreis for s in searches} == {20}
    assert plan_searches(CONTEXT, "other") == []  # no mapped profession of that cluster


def test_only_groups_whose_every_search_was_read_whole_may_archive() -> None:
    searches = plan_searches(CONTEXT, "z")
    keys = [s.key for s in searches]
    assert complete_groups(searches, keys[:1]) == set()  # Görlitz's Ausbildung search failed
    assert complete_groups(searches, keys[:2]) == {("z", "dachdecker-in", "ausbildung")}


def test_employers_compare_without_legal_form_case_and_umlauts() -> None:
    assert employer_key("Dach Müller GmbH & Co. KG") == employer_key("DACH MULLER gmbh") == "dach muller"
    assert CONTEXT.company_for("Dach Müller GmbH") == CONTEXT.companies[0]
    assert CONTEXT.company_for("Dach Müllerhof GmbH") is None


def test_a_listing_must_name_the_profession_not_a_neighbouring_one() -> None:
    assert names_profession(listing(), ROOFER)
    assert names_profession(listing(professions=("Dachdecker/-in (m/w/d)",)), ROOFER)
    assert not names_profession(listing(professions=("Dachdeckerhelfer/in",)), ROOFER)
    assert names_profession(listing(professions=(), title="Azubi Dachdecker (m/w/d) 2027"), ROOFER)
    assert not names_profession(listing(professions=(), title="Helfer Gerüstbau"), ROOFER)


def test_a_listing_becomes_an_offer_or_says_why_not() -> None:
    search = plan_searches(CONTEXT, "z")[0]
    today = date(2026, 12, 3)
    offer = to_offer(listing(), search, ROOFER, CONTEXT, FakePlaces(), today)
    assert not isinstance(offer, Skip)
    assert (offer.slug, offer.company, offer.plz, offer.region) == ("ba-10000-1-s", "", "02708", "z")
    assert offer.data["berufsschule"] == {"name": "Görlitz", "plz": "02826"}
    assert offer.data["url"].endswith("/jobdetail/10000-1-S")
    assert to_offer(listing(plz="99999"), search, ROOFER, CONTEXT, FakePlaces(), today) is Skip.UNKNOWN_POSTCODE
    assert to_offer(listing(employer="Dach Müller GmbH"), search, ROOFER, CONTEXT, FakePlaces(), today) \
        is Skip.OWN_OFFER_WINS
    open_start = to_offer(listing(start=None), search, ROOFER, CONTEXT, FakePlaces(), today)
    assert not isinstance(open_start, Skip) and open_start.data["start"] is None and open_start.start == today


def test_the_daily_run_is_due_once_a_day_from_its_hour() -> None:
    morning = datetime(2027, 3, 1, 3, 30, tzinfo=BERLIN).astimezone(UTC)
    after = datetime(2027, 3, 1, 4, 5, tzinfo=BERLIN).astimezone(UTC)
    assert not is_due(morning, None, 4, BERLIN)
    assert is_due(after, None, 4, BERLIN)
    assert is_due(after, datetime(2027, 2, 28, 4, 1, tzinfo=BERLIN), 4, BERLIN)  # yesterday's
    assert not is_due(after, datetime(2027, 3, 1, 4, 1, tzinfo=BERLIN), 4, BERLIN)  # today's ran
