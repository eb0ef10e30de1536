"""RIASEC scoring and profession fit on the demo quiz and professions."""
from __future__ import annotations

from flows.domain.matching import best_professions, fit, interest_scores, reasons
from tests.unit.fakes import PROFESSIONS, QUIZ


def _answers(prefer: str) -> dict[str, int]:
    """For every question the option that gives `prefer` the most points."""
    return {q.slug: max(range(len(q.options)), key=lambda j: q.options[j].weights.get(prefer, 0)) for q in QUIZ}


def test_scores_are_shares_of_what_was_possible() -> None:
    scores = interest_scores(QUIZ, _answers("R"))
    assert set(scores) == {"R", "I", "A", "S", "E", "C"}
    assert all(0 <= v <= 1 for v in scores.values())
    assert scores["R"] == max(scores.values()) and scores["R"] > 0.8
    assert interest_scores(QUIZ, {}) == dict.fromkeys("RIASEC", 0.0)  # nothing answered, nothing claimed


def test_out_of_range_answers_are_ignored() -> None:
    assert interest_scores(QUIZ, {QUIZ[0].slug: 99}) == dict.fromkeys("RIASEC", 0.0)


def test_social_answers_lead_to_care_and_practical_ones_to_trades() -> None:
    social = best_professions(interest_scores(QUIZ, _answers("S")), PROFESSIONS, "lausitz-cares")
    assert social[0].profession.slug == "pflegefachfrau-pflegefachmann"
    assert "S" in social[0].reasons
    practical = best_professions(interest_scores(QUIZ, _answers("R")), PROFESSIONS, "zukunftsmacher")
    assert all("zukunftsmacher" in m.profession.clusters for m in practical)
    assert practical[0].profession.riasec["R"] == 5


def test_small_cluster_is_filled_up_from_other_clusters() -> None:
    matches = best_professions(interest_scores(QUIZ, _answers("I")), PROFESSIONS, "lausitz-cares", count=3)
    own = [m for m in matches if "lausitz-cares" in m.profession.clusters]
    assert len(matches) == 3 and 1 <= len(own) < 3 and matches[:len(own)] == own


def test_fit_is_cosine_and_reasons_name_shared_strengths() -> None:
    assert fit({"R": 1.0}, {"R": 5}) == 1.0
    assert fit(dict.fromkeys("RIASEC", 0.0), {"R": 5}) == 0.0
    assert reasons({"S": 0.9, "C": 0.5, "R": 0.1}, {"S": 5, "C": 3, "R": 2, "I": 3}) == ("S", "C")
