"""Offers from the Arbeitsagentur's job search, as the bot's own offers (issue 15): which searches an
import makes, and what a listing becomes.

The searches: for each cluster, each region town, each profession of the pack that names its
Arbeitsagentur profession (`ba_names`) and belongs to the cluster, and each kind (Ausbildung,
Praktikum), one search around the town (the cluster's `ba_radius_km`).

A listing becomes an offer when
- one of its professions is one of the profession's `ba_names` (the job search's free text also finds
  helpers, neighbouring trades and retraining; those are left out), or, if it names none, its title
  names the profession;
- its postal code is in our table (the coordinates come from there, not from the listing);
- no cluster company offers the same profession itself (that offer wins; matched by the employer's
  name without legal form, and the profession).
A listing of a cluster company belongs to that company (its page, "Interessiert mich" as for every
offer of the cluster); any other employer's listing leads to the Arbeitsagentur's page instead.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Any

from flows.core.ports import PlaceDirectory
from flows.domain.ba_listing import BaListing, BaQuery, Kind
from flows.domain.geo import Place, distance_km

SOURCE = "ba"  # the offers' `origin`
SLUG_PREFIX = "ba-"
KINDS: tuple[Kind, ...] = ("ausbildung", "praktikum")
# Legal forms and filler words left out when employers' names are compared ("Dach GmbH & Co. KG" = "Dach").
_LEGAL = frozenset({"gmbh", "mbh", "co", "kg", "ag", "ug", "ohg", "gbr", "ek", "ev", "eg", "kgaa", "se", "inh",
                    "haftungsbeschrankt", "und", "the", "gesellschaft", "beschrankter", "haftung"})


@dataclass(frozen=True)
class RegionTown:
    name: str
    plz: str


@dataclass(frozen=True)
class ImportRegion:
    cluster: str
    towns: tuple[RegionTown, ...]
    radius_km: int


@dataclass(frozen=True)
class ImportProfession:
    slug: str
    ba_names: tuple[str, ...]
    clusters: tuple[str, ...]
    berufsschule: tuple[RegionTown, ...] = ()


@dataclass(frozen=True)
class ClusterCompany:
    slug: str
    name: str


@dataclass(frozen=True)
class ImportContext:
    """What the import needs of the content: the regions, the professions, the cluster companies and
    which of them offer which profession themselves."""

    regions: tuple[ImportRegion, ...]
    professions: tuple[ImportProfession, ...]
    companies: tuple[ClusterCompany, ...]
    own_offers: frozenset[tuple[str, str]] = frozenset()  # (company, profession) of the pack's and cockpit's

    @cached_property
    def _by_employer(self) -> dict[str, ClusterCompany]:
        keys: dict[str, ClusterCompany] = {}
        for company in self.companies:
            keys.setdefault(employer_key(company.name), company)
        return keys

    def company_for(self, employer: str) -> ClusterCompany | None:
        key = employer_key(employer)
        return self._by_employer.get(key) if key else None


@dataclass(frozen=True)
class PlannedSearch:
    cluster: str
    profession: str
    query: BaQuery

    @property
    def key(self) -> str:
        """Names the search in the run's record of searches read to their end."""
        return f"{self.cluster}|{self.profession}|{self.query.kind}|{self.query.wo}"

    @property
    def group(self) -> tuple[str, str, str]:
        """The offers this search vouches for: (cluster, profession, kind)."""
        return self.cluster, self.profession, self.query.kind


def plan_searches(context: ImportContext, scope: str | None = None) -> list[PlannedSearch]:
    """Every search of a run, in a stable order (a resumed run's cursor points into this list)."""
    searches: list[PlannedSearch] = []
    for region in sorted(context.regions, key=lambda r: r.cluster):
        if scope is not None and region.cluster != scope:
            continue
        for profession in sorted(context.professions, key=lambda p: p.slug):
            if region.cluster not in profession.clusters or not profession.ba_names:
                continue
            for kind in KINDS:
                for town in region.towns:
                    searches.append(PlannedSearch(region.cluster, profession.slug, BaQuery(
                        kind=kind, was=profession.ba_names[0], wo=town.name, umkreis=region.radius_km)))
    return searches


def complete_groups(searches: Iterable[PlannedSearch], complete: Iterable[str]) -> set[tuple[str, str, str]]:
    """(cluster, profession, kind) whose every search was read to its end: only their offers that were
    not seen may be archived (a search that failed half-way proves nothing about the others)."""
    done = set(complete)
    groups: dict[tuple[str, str, str], bool] = {}
    for search in searches:
        groups[search.group] = groups.get(search.group, True) and search.key in done
    return {group for group, whole in groups.items() if whole}


class Skip(StrEnum):
    """Why a listing did not become an offer (a count in the run's report, a line in the log)."""

    OTHER_PROFESSION = "other_profession"
    UNKNOWN_POSTCODE = "unknown_postcode"
    OWN_OFFER_WINS = "own_offer_wins"


@dataclass(frozen=True)
class ImportedOffer:
    """A listing as an offer row: the columns the ranking reads, and `data`, what the card shows."""

    slug: str
    company: str  # a cluster company's slug, or "" (not in a cluster)
    profession: str
    kind: str
    title: str
    plz: str
    lat: float
    lon: float
    start: date  # the ranking's start: the listing's, else its publication ("ab sofort")
    published: date
    region: str
    data: dict[str, Any] = field(default_factory=dict)


def slug_of(ref: str) -> str:
    return SLUG_PREFIX + ref.lower()


def _fold(text: str) -> str:
    text = text.casefold().replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def employer_key(name: str) -> str:
    """An employer's name for comparing: case, accents, punctuation and legal form left out."""
    words = re.findall(r"[a-z0-9]+", _fold(name))
    return " ".join(w for w in words if w not in _LEGAL)


def profession_key(name: str) -> str:
    """A profession's name for comparing: "Dachdecker/in", "Dachdecker/-in (m/w/d)" and "dachdecker/in" meet."""
    text = re.sub(r"\((?:m|w|d|f|x)(?:\s*/\s*(?:m|w|d|f|x))*\)", " ", _fold(name))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _stem(name: str) -> str:
    """The profession's word before the gender ending: "Dachdecker/in" -> "dachdecker"."""
    return profession_key(re.split(r"[/:(]", name, maxsplit=1)[0])


def names_profession(listing: BaListing, profession: ImportProfession) -> bool:
    wanted = {profession_key(n) for n in profession.ba_names}
    if listing.professions:
        return any(profession_key(p) in wanted for p in listing.professions)
    title = profession_key(listing.title)
    return any(stem and re.search(rf"\b{re.escape(stem)}", title) for stem in map(_stem, profession.ba_names))


def _nearest_school(profession: ImportProfession, here: Place, places: PlaceDirectory) -> dict[str, str] | None:
    best: tuple[float, RegionTown] | None = None
    for town in profession.berufsschule:
        spot = places.find(town.plz, town.name) or next(iter(places.lookup(town.plz)), None)
        if spot is None:
            continue
        km = distance_km(here.lat, here.lon, spot.lat, spot.lon)
        if best is None or km < best[0]:
            best = (km, town)
    return {"name": best[1].name, "plz": best[1].plz} if best else None


def to_offer(listing: BaListing, search: PlannedSearch, profession: ImportProfession, context: ImportContext,
             places: PlaceDirectory, today: date) -> ImportedOffer | Skip:
    """The offer a listing of this search becomes, or why it does not."""
    if not names_profession(listing, profession):
        return Skip.OTHER_PROFESSION
    here = None
    if listing.plz is not None:
        here = (places.find(listing.plz, listing.place) if listing.place else None) \
            or next(iter(places.lookup(listing.plz)), None)
    if here is None:
        return Skip.UNKNOWN_POSTCODE
    company = context.company_for(listing.employer)
    if company is not None and (company.slug, profession.slug) in context.own_offers:
        return Skip.OWN_OFFER_WINS
    published = listing.published or today
    start = listing.start or max(published, today)
    school = _nearest_school(profession, here, places)
    slug = slug_of(listing.ref)
    data: dict[str, Any] = {
        "slug": slug, "source": SOURCE, "ref": listing.ref, "url": listing.url, "title": listing.title,
        "kind": search.query.kind, "profession": profession.slug, "company": company.slug if company else "",
        "employer": listing.employer, "plz": here.plz, "place": here.name,
        "start": listing.start.isoformat() if listing.start else None, "published": published.isoformat(),
    }
    if school is not None:
        data["berufsschule"] = school
    return ImportedOffer(slug=slug, company=company.slug if company else "", profession=profession.slug,
                         kind=search.query.kind, title=listing.title, plz=here.plz, lat=here.lat, lon=here.lon,
                         start=start, published=published, region=search.cluster, data=data)
