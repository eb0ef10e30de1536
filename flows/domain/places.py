"""Where a user lives and where a company is, and how far apart: the lookups every flow shares."""
from __future__ import annotations

from collections.abc import Sequence

from flows.core.model import Profile
from flows.core.ports import PlaceDirectory
from flows.domain.content import CompanyInfo
from flows.domain.geo import Place, place_distance_km


def home_of(places: PlaceDirectory, profile: Profile) -> Place | None:
    return places.find(profile.plz, profile.place) if profile.plz and profile.place else None


def located(places: PlaceDirectory, company: CompanyInfo) -> Place | None:
    """The company's place: by name under its PLZ, else the PLZ's first place."""
    return places.find(company.plz, company.place) or next(iter(places.lookup(company.plz)), None)


def km_from(places: PlaceDirectory, home: Place | None, company: CompanyInfo) -> int | None:
    place = located(places, company) if home else None
    return round(place_distance_km(home, place)) if home and place else None


def nearest_first(places: PlaceDirectory, home: Place | None,
                  companies: Sequence[CompanyInfo]) -> list[tuple[CompanyInfo, int | None]]:
    """Companies with their km from home, nearest first; by name where the distance is unknown."""
    pairs = [(c, km_from(places, home, c)) for c in companies]
    return sorted(pairs, key=lambda pair: (pair[1] is None, pair[1] or 0, pair[0].name))
