"""Where a user lives and where a company is, and how far apart: the lookups every flow shares."""
from __future__ import annotations

from collections.abc import Sequence

from flows.core.model import ClusterInfo, Profile
from flows.core.ports import PlaceDirectory
from flows.domain.content import CompanyInfo
from flows.domain.geo import Place, place_distance_km
from flows.domain.recognise import place_query, postcodes_in, same_town, town_of

MAX_TOWN_QUERY = 60  # longer text is no town name
MAX_TOWN_WORDS = 4  # "Halle (Saale)", "Frankfurt an der Oder": a longer message is a sentence


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


def regional_towns(clusters: Sequence[ClusterInfo], companies: Sequence[CompanyInfo]) -> list[tuple[str, str]]:
    """(name, plz) of the towns the clusters name and the companies are in: the places people here
    are most likely to type, to recognise them with typos."""
    towns = [town for cluster in clusters for town in cluster.towns] + [(c.place, c.plz) for c in companies]
    return list(dict.fromkeys(towns))


def places_named(places: PlaceDirectory, text: str, towns: Sequence[tuple[str, str]] = (),
                 limit: int = 12) -> list[Place]:
    """The places a short message names: a postcode's places; a town called exactly so (any in
    Germany); else one of the regional `towns`, typos allowed ("Weisswaser"). Empty when none."""
    codes = postcodes_in(text)
    if codes:
        return places.lookup(codes[0])[:limit]
    query = place_query(text)
    if not query or len(query) > MAX_TOWN_QUERY:
        return []
    if len(query.split()) <= MAX_TOWN_WORDS:
        exact = [p for p in places.search(query, limit=limit) if same_town(query, p.name)]
        if exact:
            return exact
    found = [places.find(towns[i][1], towns[i][0]) for i in town_of(text, towns)]
    return [p for p in found if p is not None][:limit]
