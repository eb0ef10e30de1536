"""Issue 13, point 6: attempts to get other people's data, the instructions or actions for others are
refused; the real questions of the evaluation set are not."""
from __future__ import annotations

import pytest

from flows.domain.probes import is_probe
from tests.eval.questions import injection_questions, retrieval_questions


@pytest.mark.parametrize("question", [q.question for q in injection_questions()])
def test_every_injection_attempt_of_the_evaluation_set_is_recognised(question: str) -> None:
    assert is_probe(question)


def test_no_real_question_of_the_evaluation_set_is_taken_for_one() -> None:
    flagged = [q.question for q in retrieval_questions() if is_probe(q.question)]
    assert flagged == []


@pytest.mark.parametrize("question", ["Was passiert mit meinen Daten?", "Brauche ich eine E-Mail-Adresse für die Bewerbung?",
                                      "Wie schreibe ich eine Bewerbung?", "Welche Daten bekommt der Betrieb?",
                                      "Was verdienen andere Azubis in der Pflege?"])
def test_own_data_and_everyday_questions_are_fine(question: str) -> None:
    assert not is_probe(question)
