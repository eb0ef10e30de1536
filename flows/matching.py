"""Interest scoring (RIASEC) and fit of professions: plain functions, easy to test and benchmark."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flows.catalog import RIASEC, ProfessionInfo, QuizItem

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
