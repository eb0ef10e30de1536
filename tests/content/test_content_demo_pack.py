"""The shipped demo pack loads without problems and has the promised content."""
from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter

import pytest

from content import DEMO_DIR, Pack, default_directory, load_pack
from content.schema import BBIG_MINIMUM_PAY, BERLIN


@pytest.fixture(scope="module")
def pack() -> Pack:
    return load_pack(DEMO_DIR)


def test_counts(pack: Pack) -> None:
    assert {c.slug for c in pack.clusters} == {"tab-mint", "zukunftsmacher", "lausitz-cares"}
    per_cluster = Counter(c.cluster for c in pack.companies)
    assert all(per_cluster[c.slug] >= 10 for c in pack.clusters), per_cluster
    assert all(c.example and c.description.startswith("Beispielbetrieb") for c in pack.companies)
    assert all("(Beispiel)" in c.name for c in pack.companies)
    assert len(pack.vacancies) >= 36
    assert {v.kind for v in pack.vacancies} == {"ausbildung", "praktikum"}
    assert len(pack.events) >= 18
    assert len(pack.professions) >= 14


def test_real_cluster_facts(pack: Pack) -> None:
    zm = pack.clusters_by_slug["zukunftsmacher"]
    assert zm.lead_organisation == "Lausitz Matrix e.V."
    assert zm.lead_address == "Obermarkt 7, 02826 Görlitz"
    assert {"Landkreis Görlitz", "Landkreis Bautzen", "Kreisfreie Stadt Cottbus"} <= set(zm.districts)
    assert pack.clusters_by_slug["tab-mint"].lead_organisation == "Bildungswerk Halle-Saalkreis"
    assert pack.clusters_by_slug["lausitz-cares"].districts == ["Landkreis Bautzen"]
    assert all(c.sources for c in pack.clusters) and all(p.sources for p in pack.professions)


def test_region_towns_lie_in_their_districts(pack: Pack) -> None:
    d = default_directory()
    for cluster in pack.clusters:
        for town in cluster.region_towns:
            place = d.find(town.plz, town.name)
            assert place is not None and place.district in cluster.districts, (cluster.slug, town)


@pytest.mark.parametrize(
    ("slug", "months"),
    [
        ("mechatroniker-in", 42), ("industriemechaniker-in", 42), ("anlagenmechaniker-in-shk", 42),
        ("elektroniker-in-automatisierungstechnik", 42), ("elektroniker-in-informations-und-systemtechnik", 42),
        ("oberflaechenbeschichter-in", 36), ("dachdecker-in", 36), ("maurer-in", 36), ("strassenbauer-in", 36),
        ("hauswirtschafter-in", 36), ("pflegefachfrau-pflegefachmann", 36),
        ("maschinen-und-anlagenfuehrer-in", 24), ("hochbaufacharbeiter-in", 24), ("tiefbaufacharbeiter-in", 24),
    ],
)
def test_profession_durations(pack: Pack, slug: str, months: int) -> None:
    assert pack.professions_by_slug[slug].duration_months == months


def test_pay_floors_2026(pack: Pack) -> None:
    for p in pack.professions:
        if p.pay.basis == "bbig-mindestverguetung":
            years = math.ceil(p.duration_months / 12)
            assert p.pay.monthly_eur == list(BBIG_MINIMUM_PAY[2026][:years]), p.slug
    nursing = pack.professions_by_slug["pflegefachfrau-pflegefachmann"]
    assert nursing.pay.basis == "tarif" and nursing.pay.monthly_eur is None
    assert nursing.legal_requirement and "Hauptschulabschluss" in nursing.legal_requirement


def test_texts_address_teens_with_du_and_parents_with_sie(pack: Pack) -> None:
    informal = re.compile(r"\b(du|dich|dir|dein\w*)\b", re.IGNORECASE)
    for p in pack.professions:
        teen = " ".join(p.teen.model_dump().values())
        parent = " ".join(p.parent.model_dump().values())
        assert informal.search(teen), p.slug
        assert re.search(r"\b(Sie|Ihr\w*)\b", parent) and not informal.search(parent), p.slug


def test_vacancies(pack: Pack) -> None:
    companies = pack.companies_by_slug
    for v in pack.vacancies:
        assert v.plz is not None  # filled from the company when the file leaves it out
        assert v.profession in companies[v.company].professions
        assert v.published <= v.start
        if v.kind == "ausbildung":
            assert v.start in (dt.date(2027, 8, 1), dt.date(2027, 9, 1), dt.date(2027, 10, 1))
    assert pack.vacancies_by_slug["saalefunke-ea-2027"].plz == "06112"
    assert pack.vacancies_by_slug["trassenbau-tiefbau-2027"].plz == "03130"  # own branch PLZ


def test_events_are_local_time_and_cover_clock_changes(pack: Pack) -> None:
    for e in pack.events:
        assert e.starts.tzinfo is BERLIN and e.starts < e.ends
        assert e.starts.year == 2027
    days = {e.starts.date() for e in pack.events}
    assert {dt.date(2027, 3, 27), dt.date(2027, 3, 28)} <= days  # around 28 March 2027
    assert {dt.date(2027, 10, 30), dt.date(2027, 11, 1)} <= days  # around 31 October 2027
    before = pack.events_by_slug["insidertreff-loebau-2027"].starts
    after = pack.events_by_slug["tdot-neisse-metallbau-2027"].starts
    assert before.utcoffset() == dt.timedelta(hours=1) and after.utcoffset() == dt.timedelta(hours=2)


def test_event_formats_and_audiences(pack: Pack) -> None:
    formats = Counter(e.format for e in pack.events)
    for fmt in ("messe", "schau-rein", "girls-boys-day", "tag-der-offenen-tuer", "elternabend",
                "mint-mobil", "workshop", "spaetschicht", "unternehmen-machen-schule"):
        assert formats[fmt] >= 1, fmt
    titles = " ".join(e.title for e in pack.events)
    for name in ("Impuls", "Oberlausitzer Karrieretage", "InsiderTreff", "Schau rein!", "Girls'Day",
                 "Boys'Day", "Digitale Technik erleben", "Spätschicht", "MINT-Mobil"):
        assert name in titles, name
    assert all(e.audience == "parents" for e in pack.events if e.format == "elternabend")
    assert all(e.cluster == "tab-mint" for e in pack.events if e.format == "mint-mobil")
    assert any(e.cancelled for e in pack.events)
