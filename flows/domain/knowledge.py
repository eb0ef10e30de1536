"""What the bot knows for free questions: search hits over its pages (FAQ entries, professions,
clusters, companies, events, offers) and the FAQ entries of the content pack (faq.yaml)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

KINDS = ("faq", "profession", "cluster", "company", "event", "offer")


class KnowledgeHit(BaseModel):
    """One page that matches a question, best first: `id` is "<kind>:<ref>" (what the model cites)."""

    id: str
    kind: str
    ref: str
    title: str
    text: str = ""  # the page's words (an excerpt), as the model may see them
    score: float = 0.0


class FaqSource(BaseModel):
    title: str
    url: str


class FaqInfo(BaseModel):
    slug: str
    question: str
    answer_du: str  # for young people
    answer_sie: str  # for parents and other adults
    audience: str = "both"  # teens | parents | both
    sources: list[FaqSource] = Field(default_factory=list)

    def answer(self, formal: bool) -> str:
        return self.answer_sie if formal else self.answer_du


def faq_info(data: dict[str, Any]) -> FaqInfo:
    """A pack entry (faq.yaml, as stored) as the flows read it: one answer, or one per form of address."""
    answer = data.get("answer") or ""
    return FaqInfo(slug=data["slug"], question=data.get("question", ""),
                   answer_du=data.get("answer_du") or answer, answer_sie=data.get("answer_sie") or answer,
                   audience=data.get("audience", "both"),
                   sources=[FaqSource(title=str(s.get("title") or s["url"]), url=str(s["url"]))
                            for s in data.get("sources", []) if isinstance(s, dict) and s.get("url")])
