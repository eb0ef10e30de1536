"""Interest scoring (RIASEC) and fit of professions: plain functions, easy to test and benchmark."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from datetime import date

from flows.catalog import RIASEC, ProfessionInfo, QuizItem, VacancyCandidate
from flows.geo import distance_km

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


def best_professions(scores: Mapping[str, float], professions: Sequence[ProfessionInfo],
                     cluster: str | None, count: int = 3) -> list[Match]:
    """The best fits in the user's cluster; other clusters fill up if it has too few."""
    ranked = sorted(professions, key=lambda p: (-fit(scores, p.riasec), p.name))
    own = [p for p in ranked if cluster in p.clusters] if cluster else []
    chosen = own[:count] + [p for p in ranked if p not in own][: max(0, count - len(own))]
    return [Match(p, fit(scores, p.riasec), reasons(scores, p.riasec)) for p in chosen]


# ---- vacancies ---------------------------------------------------------------------------------
SCHOOL_RANK = {"none": 0, "hauptschule": 1, "mittlere_reife": 2, "abitur": 3}
WEIGHTS = {"fit": 0.35, "distance": 0.30, "school": 0.15, "start": 0.10, "fresh": 0.10}
START_HORIZON_DAYS = 365
FRESH_FULL_DAYS, FRESH_ZERO_DAYS = 30, 180
STARTED_GRACE_DAYS = 30  # an offer that started a month ago may still take someone; older ones are gone


def expected_school_level(status: str | None, school_class: int | None) -> int | None:
    """The certificate a user has, or will likely have when training starts (None: unknown)."""
    if status in SCHOOL_RANK:
        return SCHOOL_RANK[status]  # type: ignore[index]
    if status == "pupil" and school_class is not None:
        return 3 if school_class >= 11 else 2 if school_class == 10 else 1
    return None


@dataclass(frozen=True)
class RankedVacancy:
    candidate: VacancyCandidate
    km: float
    score: float


def rank_vacancies(candidates: Sequence[VacancyCandidate], home: tuple[float, float], radius_km: float,
                   today: date, interests: Mapping[str, float] | None,
                   profiles: Mapping[str, Mapping[str, int]], school_level: int | None) -> list[RankedVacancy]:
    """Offers within the radius, best first: interest fit, distance, school fit, start, freshness."""
    ranked: list[RankedVacancy] = []
    fits: dict[str, float] = {}
    for c in candidates:
        if (today - c.start).days > STARTED_GRACE_DAYS:
            continue
        km = distance_km(home[0], home[1], c.lat, c.lon)
        if km > radius_km:
            continue
        if interests is None:
            interest = 0.5  # no quiz yet: neutral, so distance and the rest decide
        else:
            interest = fits.get(c.profession)
            if interest is None:
                interest = fits[c.profession] = fit(interests, profiles.get(c.profession, {}))
        required = SCHOOL_RANK.get(c.school_level or "none", 0)
        school = 0.7 if school_level is None else (1.0 if school_level >= required else 0.3)
        days_to_start = (c.start - today).days
        start = max(0.0, 1 - max(0, days_to_start) / START_HORIZON_DAYS)
        age = (today - c.published).days
        fresh = 1.0 if age <= FRESH_FULL_DAYS else max(0.0, 1 - (age - FRESH_FULL_DAYS) / (FRESH_ZERO_DAYS - FRESH_FULL_DAYS))
        score = (WEIGHTS["fit"] * interest + WEIGHTS["distance"] * (1 - km / radius_km if radius_km else 0)
                 + WEIGHTS["school"] * school + WEIGHTS["start"] * start + WEIGHTS["fresh"] * fresh)
        ranked.append(RankedVacancy(c, km, score))
    ranked.sort(key=lambda r: (-r.score, r.km, r.candidate.slug))
    return ranked
