"""The evaluation set of free questions loads, is big enough and names only passages the demo pack has."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from content import DEMO_DIR, load_pack
from tests.eval.questions import (
    PASSAGE_KINDS,
    injection_questions,
    load_questions,
    passage_ids,
    recall_at,
    retrieval_questions,
)


def test_the_set_is_big_enough_and_varied() -> None:
    retrieval, injection = retrieval_questions(), injection_questions()
    assert len(retrieval) >= 70 and len(injection) >= 15
    tags = Counter(tag for q in retrieval for tag in q.tags)
    assert tags["typo"] >= 5 and tags["colloquial"] >= 15 and tags["keywords"] >= 10
    roles = Counter(q.role for q in retrieval)
    assert roles["parent"] >= 15 and roles["teen"] >= 25
    assert sum(q.lang == "en" for q in retrieval) >= 5
    assert {pid.split(":")[0] for q in retrieval for pid in q.expected} == set(PASSAGE_KINDS)


def test_every_expected_passage_exists_in_the_demo_pack() -> None:
    known = passage_ids(load_pack(DEMO_DIR))
    missing = [(q.question, pid) for q in retrieval_questions() for pid in q.expected if pid not in known]
    assert missing == []


def test_questions_are_unique_and_refusals_expect_nothing() -> None:
    items = load_questions()
    counts = Counter(q.question.casefold() for q in items)
    assert [text for text, n in counts.items() if n > 1] == []
    assert all(q.expected == () for q in injection_questions())
    assert all(q.expected and len(set(q.expected)) == len(q.expected) for q in retrieval_questions())


def test_no_question_is_copied_from_the_faq() -> None:
    """Recall must measure understanding, not copying: no item repeats a FAQ question or variant."""
    def norm(text: str) -> str:
        return text.casefold().strip(" ?!.")

    faq = {norm(text) for f in load_pack(DEMO_DIR).faq for text in (f.question, *f.variants)}
    assert [q.question for q in load_questions() if norm(q.question) in faq] == []


@pytest.mark.parametrize("item", [
    {"question": "Was ist BAB?", "expect": ["bab"]},  # not "<kind>:<slug>"
    {"question": "Was ist BAB?", "expect": ["job:bab"]},  # not a kind the search has
    {"question": "Was ist BAB?", "expect": "ablehnen"},
    {"question": "Was ist BAB?", "expect": []},
    {"question": "Was ist BAB?", "expect": ["faq:bab-antrag"], "who": "teen"},
    {"question": "Was ist BAB?", "expect": ["faq:bab-antrag"], "tags": ["tippfehler"]},
])
def test_malformed_items_are_rejected(tmp_path: Path, item: dict[str, object]) -> None:
    path = tmp_path / "questions.yaml"
    path.write_text(yaml.safe_dump([item], allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError):
        load_questions(path)


def test_recall_at_counts_expected_passages_in_the_top_k() -> None:
    ranked = ["faq:a", "profession:b", "offer:c", "event:d", "company:e", "cluster:f"]
    assert recall_at(5, ("faq:a", "profession:b"), ranked) == 1.0
    assert recall_at(5, ("faq:a", "cluster:f"), ranked) == 0.5
    assert recall_at(5, (), []) == 1.0
