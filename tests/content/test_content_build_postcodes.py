"""Deriving the compact postal-code table from the GeoNames CSV."""
from __future__ import annotations

import csv
import filecmp
from pathlib import Path

import pytest

from content.build_postcodes import ATTRIBUTION, derive, main

HEADER = "country_code,zipcode,place,state,state_code,province,province_code,community,community_code,latitude,longitude"
SAMPLE = f"""{HEADER}
DE,06108,Halle,Sachsen-Anhalt,ST,,00,Kreisfreie Stadt Halle,15002,51.483,11.972
DE,06077,IHK Halle-Dessau,Saxony-Anhalt,14,,,Kreisfreie Stadt Halle,15002,51.47831,11.97958
DE,33790,Halle,Nordrhein-Westfalen,NW,Reg.-Bez. Detmold,057,Gütersloh,05754,52.0601,8.3608
DE,70173,Stuttgart,Baden-Württemberg,BW,,08,Stuttgart,08111,48.7823,9.177
DE,70049,Daimler AG,Baden-Württemberg,01,,,Stadtkreis Stuttgart,08111,48.78,9.18
DE,80331,Betriebs-Center für Banken AG,Bavaria,02,Upper Bavaria,091,Kreisfreie Stadt München,09162,48.1372,11.5755
DE,02708,Löbau,Sachsen,SN,,00,Landkreis Görlitz,14626,51.09951,14.66739
DE,02708,Löbau,Sachsen,SN,,00,Landkreis Görlitz,14626,51.099512,14.667388
DE,87491,Jungholz,,,,,,,47.5741,10.4472
"""
ROOT = Path(__file__).resolve().parents[2]
# shared/ lies beside the checkout (CI clones main next to it); /work/shared on the dev machines.
SHARED = next((p for p in (ROOT.parent / "shared" / "data" / "zipcodes.de.csv",
                           Path("/work/shared/data/zipcodes.de.csv")) if p.exists()),
              ROOT.parent / "shared" / "data" / "zipcodes.de.csv")


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(text.splitlines()))


def test_derive_sample() -> None:
    out, stats = derive(rows(SAMPLE))
    table = {(r.plz, r.name): r for r in out}
    assert table["06108", "Halle (Saale)"].kind == "place"
    assert table["33790", "Halle"].kind == "place"  # other Halles keep their name
    ihk = table["06077", "IHK Halle-Dessau"]
    assert (ihk.kind, ihk.state, ihk.lat, ihk.lon) == ("org", "Sachsen-Anhalt", "51.4783", "11.9796")
    assert table["80331", "Betriebs-Center für Banken AG"].state == "Bayern"
    # organisation rows take the district spelling of the place rows of the same community
    assert table["70049", "Daimler AG"].district == "Stuttgart"
    assert table["87491", "Jungholz"].state == "Tirol (Österreich)"
    assert stats["dropped_duplicates"] == 1  # the two Löbau rows are equal after rounding
    assert [r.plz for r in out] == sorted(r.plz for r in out)


def test_unknown_state_fails_loudly() -> None:
    with pytest.raises(ValueError, match="Atlantis"):
        derive(rows(f"{HEADER}\nDE,12345,Nirgendwo,Atlantis,AT,,,Kreis X,00000,50.0,10.0\n"))


def test_main_writes_table_and_attribution(tmp_path: Path) -> None:
    source = tmp_path / "zipcodes.de.csv"
    source.write_text(SAMPLE, encoding="utf-8")
    assert main([str(source), str(tmp_path / "out")]) == 0
    lines = (tmp_path / "out" / "postcodes.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "plz,name,state,district,lat,lon,kind"
    assert "06108,Halle (Saale),Sachsen-Anhalt,Kreisfreie Stadt Halle,51.483,11.972,place" in lines
    assert ATTRIBUTION in (tmp_path / "out" / "ATTRIBUTION.md").read_text(encoding="utf-8")


def test_shipped_attribution() -> None:
    text = (ROOT / "content" / "data" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "Postal code data © GeoNames (geonames.org), CC BY 4.0, via zauberware/postal-codes-json-xml-csv" in text


def test_shipped_table_is_up_to_date(tmp_path: Path) -> None:
    assert main([str(SHARED), str(tmp_path)]) == 0
    assert filecmp.cmp(tmp_path / "postcodes.csv", ROOT / "content" / "data" / "postcodes.csv", shallow=False)
