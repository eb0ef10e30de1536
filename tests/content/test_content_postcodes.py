"""Postal-code directory on the shipped table, with real places of the cluster regions."""
from __future__ import annotations

import io

import pytest

from content.postcodes import PostcodeDirectory, default_directory, fold
from flows.domain.geo import Place, place_distance_km


@pytest.fixture(scope="module")
def d() -> PostcodeDirectory:
    return default_directory()


def test_lookup_goerlitz(d: PostcodeDirectory) -> None:
    [goerlitz] = d.lookup("02826")
    assert isinstance(goerlitz, Place)
    assert (goerlitz.name, goerlitz.state, goerlitz.district) == ("Görlitz", "Sachsen", "Landkreis Görlitz")
    assert goerlitz.lat == pytest.approx(51.15, abs=0.01)
    assert goerlitz.lon == pytest.approx(14.98, abs=0.01)


def test_lookup_shared_plz_lists_every_place(d: PostcodeDirectory) -> None:
    names = {p.name for p in d.lookup("01454")}
    assert names == {"Radeberg", "Wachau"}
    assert "Löbau" in {p.name for p in d.lookup(" 02708 ")}
    assert [p.name for p in d.lookup("02708")] == sorted(p.name for p in d.lookup("02708"))


def test_find_named_place(d: PostcodeDirectory) -> None:
    querfurt = d.find("06268", "Querfurt")
    assert querfurt is not None and querfurt.lat == pytest.approx(51.38, abs=0.01)
    assert d.find("06108", "Halle") == d.find("06108", "halle (saale)") == d.lookup("06108")[0]
    assert d.find("02708", "loebau") is not None
    assert d.find("02708", "Görlitz") is None
    assert d.find("0282", "Görlitz") is None


def test_halle_saale_is_named_properly(d: PostcodeDirectory) -> None:
    for plz in ("06108", "06110", "06120", "06132"):
        assert "Halle (Saale)" in {p.name for p in d.lookup(plz)}
    assert d.lookup("33790")[0].name == "Halle"  # Halle (Westf.) keeps the source name


def test_organisation_plz_lookup_but_not_search(d: PostcodeDirectory) -> None:
    [ihk] = d.lookup("06077")
    assert ihk.name == "IHK Halle-Dessau"
    assert ihk.state == "Sachsen-Anhalt"  # normalised from "Saxony-Anhalt"
    assert d.is_known("06077")
    assert d.search("IHK Halle-Dessau") == []
    assert d.search("IHK") == []
    assert all(p.plz != "06077" for p in d.search("Halle", limit=50))


def test_organisation_rows_hidden_where_places_exist(d: PostcodeDirectory) -> None:
    # 14461 is Potsdam and also "Stadtverwaltung Potsdam" (Großkunde)
    assert [p.name for p in d.lookup("14461")] == ["Potsdam"]


def test_unknown_plz(d: PostcodeDirectory) -> None:
    for plz in ("0282", "99999", "", "abcde", "028266"):
        assert d.lookup(plz) == []
        assert not d.is_known(plz)
    assert d.is_known("02826")


@pytest.mark.parametrize("query", ["Löbau", "löbau", "loebau", "Loebau", "LOEBAU", "lobau", " Löbau "])
def test_search_tolerates_umlauts(d: PostcodeDirectory, query: str) -> None:
    assert [p.plz for p in d.search(query)][:1] == ["02708"]


def test_search_one_result_per_town(d: PostcodeDirectory) -> None:
    cottbus = [p for p in d.search("Cottbus") if p.name == "Cottbus"]
    assert [p.plz for p in cottbus] == ["03042"]  # not ten
    assert d.search("Görlitz")[0].plz == "02826"
    assert d.search("Weißwasser")[0].plz == "02943"
    assert d.search("weisswasser")[0].plz == "02943"


def test_search_halle_gives_several(d: PostcodeDirectory) -> None:
    found = d.search("Halle")
    exact = [p for p in found if p.name.split(" (")[0] == "Halle"]
    assert found[0].name == "Halle (Saale)" and found[0].plz == "06108"
    assert len(exact) >= 4  # Halle (Saale), Halle (Westf.), two Halle in Niedersachsen
    assert len({(p.state, p.district) for p in exact}) == len(exact)  # distinguishable
    assert {p.state for p in exact} >= {"Sachsen-Anhalt", "Nordrhein-Westfalen", "Niedersachsen"}


@pytest.mark.parametrize("query", ["Halle (Saale)", "halle saale", "Halle/Saale", "HALLE (SAALE)"])
def test_search_halle_saale_variants(d: PostcodeDirectory, query: str) -> None:
    assert [p.name for p in d.search(query)] == ["Halle (Saale)"]


def test_search_exact_before_prefix(d: PostcodeDirectory) -> None:
    found = d.search("Bautzen")
    assert found[0].plz == "02625"
    prefix = d.search("Bautz")
    assert prefix[0].name == "Bautzen"
    assert d.search("Muskau")[0].name == "Bad Muskau"  # word inside the name, last tier


def test_search_limit_and_empty(d: PostcodeDirectory) -> None:
    assert len(d.search("Berg", limit=3)) == 3
    assert d.search("") == [] and d.search("  ") == [] and d.search("---") == []
    assert d.search("Cottbus", limit=0) == []
    assert d.search("Xyzzyqwert") == []


def test_nearest(d: PostcodeDirectory) -> None:
    assert d.nearest(51.15, 14.98).name == "Görlitz"
    assert d.nearest(51.1826, 14.4290).plz == "02625"  # Bautzen
    assert d.nearest(51.48, 11.97).name == "Halle (Saale)"
    near_ihk = d.nearest(51.4783, 11.9796)  # the IHK's own coordinates: a town, never the org
    assert near_ihk.name == "Halle (Saale)"


def test_distance_goerlitz_bautzen(d: PostcodeDirectory) -> None:
    km = place_distance_km(d.lookup("02826")[0], d.lookup("02625")[0])
    # straight line between the two PLZ points (51.1503, 14.9829) and (51.1825, 14.4292): ~38.8 km
    assert 37.5 < km < 40.0


def test_has_district(d: PostcodeDirectory) -> None:
    assert d.has_district("Landkreis Görlitz") and d.has_district("Saalekreis")
    assert not d.has_district("Landkreis Gorlitz")


def test_fold() -> None:
    assert fold("Löbau") == ("lobau", "loebau")
    assert fold("Halle (Saale)") == ("halle saale",)
    assert fold("  ") == ()


def test_default_directory_is_cached_and_complete() -> None:
    assert default_directory() is default_directory()
    assert len(default_directory()) == 10814  # distinct PLZ of the 2026-03-30 snapshot


def test_from_csv_rejects_wrong_header() -> None:
    with pytest.raises(ValueError):
        PostcodeDirectory.from_csv(io.StringIO("zip,name\n"))
