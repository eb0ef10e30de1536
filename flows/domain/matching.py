"""Interest scoring (RIASEC) and fit of professions: plain functions, easy to test and benchmark."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from flows.core.model import ClusterInfo
from flows.domain.content import RIASEC, ProfessionInfo, QuizItem, VacancyCandidate
from flows.domain.geo import Place

if TYPE_CHECKING:  # flows.core.ports imports this module
    from flows.core.ports import PlaceDirectory

MAX_PROFILE = 5


def interest_scores(items: Sequence[QuizItem], answers: Mapping[str, int]) -> dict[str, float]:
    """Points per dimension as a share (0..1) of what the answered questions could give at most.

    Normalising per dimension keeps a dimension with many items from outweighing the others.
    Unanswered (skipped) questions count neither way.
    """
    got = dict.fromkeys(RIASEC, 0.0)
    best = dict.fromkeys(RIASEC, 0.0)
    for item in items:
        chosen = answers.get(item.slug)
        if chosen is None or not 0 <= chosen < len(item.options):
            continue
        for code in RIASEC:
            best[code] += max(option.weights.get(code, 0) for option in item.options)
            got[code] += item.options[chosen].weights.get(code, 0)
    return {code: (got[code] / best[code] if best[code] else 0.0) for code in RIASEC}


def fit(scores: Mapping[str, float], profile: Mapping[str, int]) -> float:
    """Cosine similarity of the user's interests and a profession's profile (0..1)."""
    u = [scores.get(code, 0.0) for code in RIASEC]
    p = [profile.get(code, 0) / MAX_PROFILE for code in RIASEC]
    norm = math.hypot(*u) * math.hypot(*p)
    return sum(a * b for a, b in zip(u, p)) / norm if norm else 0.0


@dataclass(frozen=True)
class Match:
    profession: ProfessionInfo
    fit: float
    reasons: tuple[str, ...]  # the one or two dimensions that carry the fit, strongest first


def reasons(scores: Mapping[str, float], profile: Mapping[str, int], most: int = 2) -> tuple[str, ...]:
    shared = sorted(RIASEC, key=lambda c: scores.get(c, 0.0) * profile.get(c, 0), reverse=True)
    strong = [c for c in shared if scores.get(c, 0.0) * profile.get(c, 0) > 0]
    return tuple(strong[:most]) or (max(RIASEC, key=lambda c: profile.get(c, 0)),)


def distinct_reasons(scores: Mapping[str, float], profiles: Sequence[Mapping[str, int]],
                     most: int = 2) -> list[tuple[str, ...]]:
    """Reasons for several professions, each its own where the interests allow it.

    Each profession gets the strongest pair (or single dimension) of interests it shares with the
    user that no profession before it was given: three technical jobs do not all say "because you
    like working with your hands and technology". Only shared dimensions (the user scored them and
    the job asks for them) are used; when they are exhausted, the profession's strongest reasons repeat.
    """
    used: set[frozenset[str]] = set()
    chosen: list[tuple[str, ...]] = []
    for profile in profiles:
        def weight(code: str, profile: Mapping[str, int] = profile) -> float:
            return scores.get(code, 0.0) * profile.get(code, 0)

        shared = [c for c in sorted(RIASEC, key=weight, reverse=True) if weight(c) > 0][:4]
        options: list[tuple[str, ...]] = []
        if most >= 2:
            pairs = [(a, b) for i, a in enumerate(shared) for b in shared[i + 1:]]
            options += sorted(pairs, key=lambda pair: -(weight(pair[0]) + weight(pair[1])))
        options += [(c,) for c in shared]
        fresh = next((o for o in options if frozenset(o) not in used), None)
        pick = fresh or reasons(scores, profile, most)
        used.add(frozenset(pick))
        chosen.append(pick)
    return chosen


def best_professions(scores: Mapping[str, float], professions: Sequence[ProfessionInfo],
                     cluster: str | None, count: int = 3) -> list[Match]:
    """The best fits in the user's cluster; other clusters fill up if it has too few. Each comes with
    its own reasons (distinct_reasons)."""
    ranked = sorted(professions, key=lambda p: (-fit(scores, p.riasec), p.name))
    own = [p for p in ranked if cluster in p.clusters] if cluster else []
    chosen = own[:count] + [p for p in ranked if p not in own][: max(0, count - len(own))]
    why = distinct_reasons(scores, [p.riasec for p in chosen])
    return [Match(p, fit(scores, p.riasec), r) for p, r in zip(chosen, why)]


# ---- vacancies ---------------------------------------------------------------------------------
# The score of an offer is a weighted sum of five terms, each 0..1. The same formula runs in Python
# (here, for tests and small data) and in SQL (storage/vacancies.py, for 50,000 offers): only plain
# arithmetic, so both give the same order. Distance is the equirectangular approximation and
# enters squared: a few km more hardly matter nearby, they do near the edge of the radius.
SCHOOL_RANK = {"none": 0, "hauptschule": 1, "mittlere_reife": 2, "abitur": 3}
WEIGHTS = {"fit": 0.35, "distance": 0.30, "school": 0.15, "start": 0.10, "fresh": 0.10}
NEUTRAL_FIT = 0.5  # no quiz result yet: interest neither helps nor hurts
SCHOOL_UNKNOWN, SCHOOL_OK, SCHOOL_SHORT = 0.7, 1.0, 0.3
START_HORIZON_DAYS = 365
FRESH_FULL_DAYS, FRESH_ZERO_DAYS = 30, 180
STARTED_GRACE_DAYS = 30  # an offer that started a month ago may still take someone; older ones are gone
KM_PER_DEGREE = 111.195


# Offers and events only for pupils (a Schülerpraktikum, a school visit): who sees them.
SHOW, LAST, HIDE = "show", "last", "hide"
LEFT_SCHOOL = ("hauptschule", "mittlere_reife", "abitur", "none")  # a certificate, or left without one
PUPILS_ONLY_PENALTY = 1.0  # scores are 0..1: such an offer ranks below every other one


def pupils_only_offers(role: str | None, age_band: str | None, school_status: str | None) -> str:
    """What to do with offers and events meant only for pupils.

    Someone who has left school never gets them (HIDE). A young person of 18 or more who did not say
    whether they still go to school may (Abitur class 12/13): they come LAST, marked as "only for
    pupils". Pupils, younger people, parents (for their child) and companies see them (SHOW).
    """
    if school_status in LEFT_SCHOOL:
        return HIDE
    if school_status is None and age_band == "18plus" and role in (None, "teen"):
        return LAST
    return SHOW


def main_town(places: PlaceDirectory, cluster: ClusterInfo) -> Place | None:
    """A cluster's main town (the first of its reference towns): where "search around the region" looks."""
    for name, plz in cluster.towns[:1]:
        return places.find(plz, name)
    return None


def expected_school_level(status: str | None, school_class: int | None) -> int | None:
    """The certificate a user has, or will likely have when training starts (None: unknown)."""
    if status in SCHOOL_RANK:
        return SCHOOL_RANK[status]
    if status == "pupil" and school_class is not None:
        return 3 if school_class >= 11 else 2 if school_class == 10 else 1
    return None


@dataclass(frozen=True)
class RankSpec:
    """Everything the score needs besides the offer itself; built once per page."""

    lat: float
    lon: float
    radius_km: float
    today: date
    kind: str | None = None
    profession: str | None = None
    interest: Mapping[str, float] = field(default_factory=dict)  # profession -> fit; missing: neutral
    school_level: int | None = None
    pupils_only: str = SHOW  # offers only for pupils: SHOW, LAST or HIDE (pupils_only_offers)
    # "höchstens 60 Minuten mit Bus und Bahn": only offers at these places (lat, lon); None: no such filter
    reachable: frozenset[tuple[float, float]] | None = None

    @property
    def lon_scale(self) -> float:
        """km per degree of longitude at the user's latitude."""
        return KM_PER_DEGREE * math.cos(math.radians(self.lat))

    def school_score(self, required: str | None) -> float:
        if self.school_level is None:
            return SCHOOL_UNKNOWN
        return SCHOOL_OK if self.school_level >= SCHOOL_RANK.get(required or "none", 0) else SCHOOL_SHORT


def rank_spec(lat: float, lon: float, radius_km: float, today: date, kind: str | None, profession: str | None,
              interests: Mapping[str, float] | None, profiles: Mapping[str, Mapping[str, int]],
              school_level: int | None, pupils_only: str = SHOW,
              reachable: frozenset[tuple[float, float]] | None = None) -> RankSpec:
    interest = {slug: fit(interests, profile) for slug, profile in profiles.items()} if interests else {}
    return RankSpec(lat, lon, radius_km, today, kind, profession, interest, school_level, pupils_only, reachable)


@dataclass(frozen=True)
class RankedVacancy:
    slug: str
    lat: float
    lon: float
    score: float


def approx_km2(spec: RankSpec, lat: float, lon: float) -> float:
    dy = (lat - spec.lat) * KM_PER_DEGREE
    dx = (lon - spec.lon) * spec.lon_scale
    return dx * dx + dy * dy


def vacancy_score(spec: RankSpec, c: VacancyCandidate) -> float | None:
    """The score of one offer, None if it is outside the search (radius, filters, long started)."""
    if spec.kind is not None and c.kind != spec.kind or spec.profession is not None and c.profession != spec.profession:
        return None
    km2, r2 = approx_km2(spec, c.lat, c.lon), spec.radius_km * spec.radius_km
    if km2 > r2 or (spec.today - c.start).days > STARTED_GRACE_DAYS:
        return None
    if c.pupils_only and spec.pupils_only == HIDE:
        return None
    if spec.reachable is not None and (c.lat, c.lon) not in spec.reachable:
        return None
    penalty = PUPILS_ONLY_PENALTY if c.pupils_only and spec.pupils_only == LAST else 0.0
    days_to_start = (c.start - spec.today).days
    age = (spec.today - c.published).days
    start = 1.0 if days_to_start <= 0 else max(0.0, 1 - days_to_start / START_HORIZON_DAYS)
    fresh = 1.0 if age <= FRESH_FULL_DAYS else max(0.0, 1 - (age - FRESH_FULL_DAYS) / (FRESH_ZERO_DAYS - FRESH_FULL_DAYS))
    return (WEIGHTS["fit"] * spec.interest.get(c.profession, NEUTRAL_FIT)
            + WEIGHTS["distance"] * (1 - km2 / r2)
            + WEIGHTS["school"] * spec.school_score(c.school_level)
            + WEIGHTS["start"] * start + WEIGHTS["fresh"] * fresh - penalty)


def rank_vacancies(candidates: Sequence[VacancyCandidate], spec: RankSpec) -> list[RankedVacancy]:
    """Offers within the search, best first (ties: nearer first, then by slug)."""
    scored = []
    for c in candidates:
        score = vacancy_score(spec, c)
        if score is not None:
            scored.append((-score, approx_km2(spec, c.lat, c.lon), c.slug, c))
    scored.sort(key=lambda t: t[:3])
    return [RankedVacancy(c.slug, c.lat, c.lon, -neg) for neg, _, _, c in scored]
