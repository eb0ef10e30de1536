"""The evaluation set of free questions (tests/eval/questions.yaml), as typed items.

Retrieval items name the passages ("<kind>:<slug>") that must all be among the top 5 results;
injection items (`expect: refuse`) name none: the bot must refuse them. The benchmark measures
recall@5 over the retrieval items; tests/eval/test_questions_file.py keeps the file consistent with
the demo pack.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from content import Pack

QUESTIONS_FILE = Path(__file__).resolve().parent / "questions.yaml"
# The kinds of page the search indexes (flows/domain/knowledge.py KINDS); an offer is a vacancy.
PASSAGE_KINDS = ("faq", "profession", "cluster", "company", "event", "offer")
PassageId = Annotated[
    str, StringConstraints(pattern=r"^(faq|profession|cluster|company|event|offer):[a-z0-9][a-z0-9-]{1,47}$")]
Tag = Literal["typo", "colloquial", "keywords"]


class EvalQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    expect: Annotated[list[PassageId], Field(min_length=1, max_length=3)] | Literal["refuse"]
    role: Literal["teen", "parent"] | None = None  # who asks; None: anyone
    lang: Literal["de", "en"] = "de"
    tags: list[Tag] = Field(default_factory=list)

    @property
    def refuse(self) -> bool:
        """An attack or abuse: no passage may be used, the bot must say no."""
        return self.expect == "refuse"

    @property
    def expected(self) -> tuple[str, ...]:
        """The passage ids that must be among the top 5 (empty for a refusal)."""
        return () if isinstance(self.expect, str) else tuple(self.expect)


_ITEMS = TypeAdapter(list[EvalQuestion])


def load_questions(path: Path = QUESTIONS_FILE) -> list[EvalQuestion]:
    """All items of the evaluation set, in file order (raises pydantic.ValidationError if malformed)."""
    return _ITEMS.validate_python(yaml.safe_load(path.read_text(encoding="utf-8")) or [])


def retrieval_questions(path: Path = QUESTIONS_FILE) -> list[EvalQuestion]:
    return [q for q in load_questions(path) if not q.refuse]


def injection_questions(path: Path = QUESTIONS_FILE) -> list[EvalQuestion]:
    return [q for q in load_questions(path) if q.refuse]


def passage_ids(pack: Pack) -> set[str]:
    """Every passage id a pack provides ("faq:<slug>", "offer:<vacancy slug>", ...)."""
    groups: dict[str, list[str]] = {
        "faq": [f.slug for f in pack.faq],
        "profession": [p.slug for p in pack.professions],
        "cluster": [c.slug for c in pack.clusters],
        "company": [c.slug for c in pack.companies],
        "event": [e.slug for e in pack.events],
        "offer": [v.slug for v in pack.vacancies],
    }
    return {f"{kind}:{slug}" for kind, slugs in groups.items() for slug in slugs}


def recall_at(k: int, expected: tuple[str, ...], ranked: list[str]) -> float:
    """Share of the expected passages among the first k results (1.0 for a refusal item)."""
    if not expected:
        return 1.0
    top = set(ranked[:k])
    return sum(1 for passage in expected if passage in top) / len(expected)
