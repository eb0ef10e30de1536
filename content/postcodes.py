"""Postal-code directory over the shipped table content/data/postcodes.csv.

Town-name search folds case, umlauts and punctuation, so "loebau", "Löbau" and "lobau" all hit Löbau,
and "halle saale" / "Halle (Saale)" / "Halle" all hit Halle (Saale).
"""
from __future__ import annotations

import bisect
import csv
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from flows.domain.geo import Place

_UMLAUT_E = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_UMLAUT_PLAIN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_PARENTHESIS = re.compile(r"\s*\(.*?\)\s*")


def _ascii_words(text: str) -> str:
    if not text.isascii():  # rare after umlaut folding: é, combining marks, ...
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_ALNUM.sub(" ", text).strip()


def fold(text: str) -> tuple[str, ...]:
    """Search forms of a name: lower-case ASCII words, umlauts written out (ö→oe) and dropped (ö→o)."""
    low = unicodedata.normalize("NFC", text).lower()
    if low.isascii():
        form = _ascii_words(low)
        return (form,) if form else ()
    forms = {_ascii_words(low.translate(_UMLAUT_E)), _ascii_words(low.translate(_UMLAUT_PLAIN))}
    return tuple(sorted(f for f in forms if f))


@dataclass(frozen=True, slots=True)
class _Town:
    """One searchable (name, district): its lowest-PLZ place and how many PLZ it has."""

    place: Place
    plz_count: int


@dataclass(slots=True)
class _TownIndex:
    towns: list[_Town]
    exact: dict[str, list[int]]  # form of the full name or of the name without "(...)" -> towns
    starts: list[tuple[str, int]]  # sorted (form of the full name, town) for prefix search
    words: list[tuple[str, int]]  # sorted (form from the 2nd, 3rd... word on, town)


def _prefixed(index: list[tuple[str, int]], prefix: str) -> Iterator[int]:
    i = bisect.bisect_left(index, (prefix, -1))
    while i < len(index) and index[i][0].startswith(prefix):
        yield index[i][1]
        i += 1


class PostcodeDirectory:
    def __init__(self, rows: Iterable[tuple[Place, bool]]) -> None:
        """rows: (place, is_organisation) pairs, e.g. from the shipped CSV."""
        self._places: dict[str, list[Place]] = {}
        self._orgs: dict[str, list[Place]] = {}
        for place, is_org in rows:
            (self._orgs if is_org else self._places).setdefault(place.plz, []).append(place)
        self._populated: list[Place] = [p for ps in self._places.values() for p in ps]
        self._index: _TownIndex | None = None  # built on first search; keeps loading fast
        self._districts: frozenset[str] | None = None

    @classmethod
    def from_csv(cls, lines: Iterable[str]) -> PostcodeDirectory:
        reader = csv.reader(lines)
        header = next(reader)
        if header != ["plz", "name", "state", "district", "lat", "lon", "kind"]:
            raise ValueError(f"unexpected postcode table header {header}")
        return cls(
            (Place(plz, name, state, district, float(lat), float(lon)), kind == "org")
            for plz, name, state, district, lat, lon, kind in reader
        )

    def populated(self) -> list[Place]:
        """Every populated place (no organisations), e.g. to spread test data over real towns."""
        return list(self._populated)

    def __len__(self) -> int:
        return len(self._places.keys() | self._orgs.keys())

    def is_known(self, plz: str) -> bool:
        plz = plz.strip()
        return plz in self._places or plz in self._orgs

    def has_district(self, district: str) -> bool:
        """Whether any populated place lies in this district (exact spelling of the table)."""
        if self._districts is None:
            self._districts = frozenset(p.district for p in self._populated)
        return district in self._districts

    def lookup(self, plz: str) -> list[Place]:
        """Populated places with this PLZ (alphabetical); organisations only for a pure Großkunden-PLZ."""
        plz = plz.strip()
        return list(self._places.get(plz) or self._orgs.get(plz) or ())

    def find(self, plz: str, name: str) -> Place | None:
        """The place called name (case/umlaut-insensitive, "Halle" = "Halle (Saale)") at plz.

        lookup() lists a PLZ's places alphabetically (the source has no "main town"), so callers that
        know the town name should use this instead of lookup(plz)[0].
        """
        wanted = set(fold(name))
        for place in self.lookup(plz):
            if wanted & (set(fold(place.name)) | set(fold(_PARENTHESIS.sub(" ", place.name)))):
                return place
        return None

    def nearest(self, lat: float, lon: float) -> Place:
        """Nearest populated place; equirectangular metric is exact enough at this scale."""
        k = math.cos(math.radians(lat))
        return min(self._populated, key=lambda p: (p.lat - lat) ** 2 + ((p.lon - lon) * k) ** 2)

    def search(self, name: str, limit: int = 10) -> list[Place]:
        """Town-name search: exact names, then name prefixes, then word prefixes inside names.

        One result per (name, district), the lowest PLZ; bigger towns (more PLZ) first in each tier.
        """
        query = fold(name)
        if not query or limit <= 0:
            return []
        index = self._town_index()
        tiers: tuple[set[int], set[int], set[int]] = (set(), set(), set())
        for q in query:
            tiers[0].update(index.exact.get(q, ()))
            tiers[1].update(_prefixed(index.starts, q))
            tiers[2].update(_prefixed(index.words, q))
        result: list[Place] = []
        seen: set[int] = set()
        for tier in tiers:
            towns = sorted(tier - seen, key=lambda i: self._rank(index.towns[i]))
            result.extend(index.towns[i].place for i in towns)
            seen |= tier
            if len(result) >= limit:
                break
        return result[:limit]

    @staticmethod
    def _rank(town: _Town) -> tuple[int, str, str]:
        return (-town.plz_count, town.place.name, town.place.plz)

    def _town_index(self) -> _TownIndex:
        if self._index is None:
            groups: dict[tuple[str, str], list[Place]] = {}
            for place in self._populated:
                groups.setdefault((place.name, place.district), []).append(place)
            index = _TownIndex([], {}, [], [])
            for i, ((town_name, _), places) in enumerate(groups.items()):
                index.towns.append(_Town(min(places, key=lambda p: p.plz), len({p.plz for p in places})))
                full = fold(town_name)
                base = fold(_PARENTHESIS.sub(" ", town_name)) if "(" in town_name else ()
                for form in {*full, *base}:
                    index.exact.setdefault(form, []).append(i)
                for form in full:
                    index.starts.append((form, i))
                    words = form.split(" ")
                    index.words.extend((" ".join(words[w:]), i) for w in range(1, len(words)))
            index.starts.sort()
            index.words.sort()
            self._index = index
        return self._index


@lru_cache(maxsize=1)
def default_directory() -> PostcodeDirectory:
    """The directory of the shipped table, loaded once per process."""
    table = resources.files(__package__ or "content").joinpath("data/postcodes.csv")
    with table.open("r", encoding="utf-8") as fh:  # no newlines inside fields
        return PostcodeDirectory.from_csv(fh)
