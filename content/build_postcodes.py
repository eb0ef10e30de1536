"""Derive the project's compact postal-code table from the shared GeoNames CSV.

Usage: python -m content.build_postcodes /work/shared/data/zipcodes.de.csv [OUT_DIR]

Writes OUT_DIR/postcodes.csv (plz,name,state,district,lat,lon,kind) and OUT_DIR/ATTRIBUTION.md.
OUT_DIR defaults to content/data next to this module.
"""
from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ATTRIBUTION = (
    "Postal code data © GeoNames (geonames.org), CC BY 4.0, "
    "via zauberware/postal-codes-json-xml-csv"
)
COLUMNS = ("plz", "name", "state", "district", "lat", "lon", "kind")
DEFAULT_OUT = Path(__file__).resolve().parent / "data"

# Organisation rows carry English (or "Land ...") state names; German names pass unchanged.
STATE_NAMES: dict[str, str] = {
    "Baden-Württemberg": "Baden-Württemberg",
    "Bavaria": "Bayern",
    "Bayern": "Bayern",
    "Berlin": "Berlin",
    "Land Berlin": "Berlin",
    "Brandenburg": "Brandenburg",
    "Bremen": "Bremen",
    "Hamburg": "Hamburg",
    "Hesse": "Hessen",
    "Hessen": "Hessen",
    "Lower Saxony": "Niedersachsen",
    "Niedersachsen": "Niedersachsen",
    "Mecklenburg-Western Pomerania": "Mecklenburg-Vorpommern",
    "Mecklenburg-Vorpommern": "Mecklenburg-Vorpommern",
    "North Rhine-Westphalia": "Nordrhein-Westfalen",
    "Nordrhein-Westfalen": "Nordrhein-Westfalen",
    "Rhineland-Palatinate": "Rheinland-Pfalz",
    "Rheinland-Pfalz": "Rheinland-Pfalz",
    "Saarland": "Saarland",
    "Saxony": "Sachsen",
    "Sachsen": "Sachsen",
    "Saxony-Anhalt": "Sachsen-Anhalt",
    "Sachsen-Anhalt": "Sachsen-Anhalt",
    "Schleswig-Holstein": "Schleswig-Holstein",
    "Thuringia": "Thüringen",
    "Thüringen": "Thüringen",
}

# In the 2026-03-30 snapshot every organisation row (and only those) has a numeric state_code;
# places have two-letter codes. The legal-form pattern is a second net for future snapshots.
ORG_NAME = re.compile(
    r"\b(GmbH|mbH|AG|KG|KGaA|OHG|eG|e\.\s?V\.|SE|IHK|HWK|Handwerkskammer|Industrie- und Handelskammer)\b"
)

# Rows whose source values are empty or ambiguous, fixed by hand: (plz, source name) -> fields.
MANUAL: dict[tuple[str, str], dict[str, str]] = {
    # Austrian exclave served by a German PLZ; the source leaves state and district empty.
    ("87491", "Jungholz"): {"state": "Tirol (Österreich)", "district": "Bezirk Reutte"},
}
HALLE_SAALE_CODE = "15002"  # community code of Kreisfreie Stadt Halle


@dataclass(frozen=True, slots=True)
class Row:
    plz: str
    name: str
    state: str
    district: str
    lat: str
    lon: str
    kind: str

    def values(self) -> tuple[str, ...]:
        return (self.plz, self.name, self.state, self.district, self.lat, self.lon, self.kind)


def _coord(text: str) -> str:
    """4 decimals (~10 m) is far below the ~1 km precision of the source; trailing zeros dropped."""
    return f"{round(float(text), 4):.4f}".rstrip("0").rstrip(".")


def _is_org(src: dict[str, str]) -> bool:
    return src["state_code"].isdigit() or bool(ORG_NAME.search(src["place"]))


def _district_names(rows: list[dict[str, str]]) -> dict[str, str]:
    """One district name per community code, preferring the spelling used by place rows.

    Organisation rows spell the same district differently ("Stadtkreis Stuttgart" vs "Stuttgart").
    """
    names: dict[str, str] = {}
    for src in sorted(rows, key=_is_org):  # place rows first
        names.setdefault(src["community_code"], src["community"])
    return names


def derive(rows: list[dict[str, str]]) -> tuple[list[Row], Counter[str]]:
    stats: Counter[str] = Counter(source_rows=len(rows))
    districts = _district_names(rows)
    seen: set[Row] = set()
    out: list[Row] = []
    for src in rows:
        kind = "org" if _is_org(src) else "place"
        state_src = src["state"].strip()
        fix = MANUAL.get((src["zipcode"], src["place"]), {})
        if state_src not in STATE_NAMES and "state" not in fix:
            raise ValueError(f"unknown state name {state_src!r} in row {src}")
        name = src["place"].strip()
        if kind == "place" and name == "Halle" and src["community_code"] == HALLE_SAALE_CODE:
            name = "Halle (Saale)"
            stats["renamed_halle_saale"] += 1
        row = Row(
            plz=src["zipcode"].strip(),
            name=name,
            state=fix.get("state") or STATE_NAMES[state_src],
            district=fix.get("district") or districts.get(src["community_code"], src["community"]),
            lat=_coord(src["latitude"]),
            lon=_coord(src["longitude"]),
            kind=kind,
        )
        if not re.fullmatch(r"\d{5}", row.plz):
            raise ValueError(f"bad PLZ in row {src}")
        if row in seen:
            stats["dropped_duplicates"] += 1
            continue
        seen.add(row)
        out.append(row)
        stats[kind] += 1
    out.sort(key=lambda r: (r.plz, r.kind != "place", r.name))
    stats["distinct_plz"] = len({r.plz for r in out})
    return out, stats


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(r.values() for r in rows)


def write_attribution(stats: Counter[str], source: Path, path: Path) -> None:
    path.write_text(
        f"""# Postal-code data

{ATTRIBUTION}

Licence: Creative Commons Attribution 4.0 International (CC BY 4.0),
https://creativecommons.org/licenses/by/4.0/ — source: GeoNames postal-code export for Germany
(www.geonames.org), as converted to CSV by the public repository zauberware/postal-codes-json-xml-csv
(snapshot of 2026-03-30, file `{source.name}`).

## What `postcodes.csv` is

A table derived by `python -m content.build_postcodes {source.name}` with the columns
`plz,name,state,district,lat,lon,kind`. Changes made to the source data:

- Only the columns above are kept (country, state/province/community codes dropped).
- `kind` marks each row as `place` (a populated place) or `org` (a "Großkunden-PLZ" of an
  organisation, e.g. `06077 IHK Halle-Dessau`). Organisation rows are recognised by their numeric
  `state_code` (places have two-letter codes) or a legal form/chamber in the name (GmbH, AG, IHK, ...).
  They are kept so every PLZ stays known, but are excluded from town-name search.
- English state names of organisation rows are translated (Saxony → Sachsen, Bavaria → Bayern,
  Land Berlin → Berlin, ...).
- District (`community`) names are unified per community code, using the spelling of the place rows.
- The place `Halle` in Kreisfreie Stadt Halle (PLZ 06108–06132) is named `Halle (Saale)`.
- Jungholz (87491), an Austrian municipality with a German PLZ, gets state `Tirol (Österreich)`
  and district `Bezirk Reutte` (empty in the source).
- Coordinates are rounded to 4 decimals; rows that became identical are dropped.

Counts of the last build: {stats['source_rows']} source rows → {stats['place']} place rows,
{stats['org']} organisation rows, {stats['distinct_plz']} distinct PLZ,
{stats['dropped_duplicates']} duplicates dropped.
""",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    source = Path(args[0])
    out_dir = Path(args[1]) if len(args) == 2 else DEFAULT_OUT
    with source.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    derived, stats = derive(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(derived, out_dir / "postcodes.csv")
    write_attribution(stats, source, out_dir / "ATTRIBUTION.md")
    print(", ".join(f"{k}={v}" for k, v in sorted(stats.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
