"""Content as the flows see it: professions and quiz items, built by storage from the pack."""
from __future__ import annotations

from pydantic import BaseModel, Field

RIASEC = ("R", "I", "A", "S", "E", "C")


class Town(BaseModel):
    name: str
    plz: str


class ProfessionInfo(BaseModel):
    slug: str
    name: str
    clusters: list[str]
    field: str
    duration_months: int
    school_expectation: str
    legal_requirement: str | None = None
    pay_basis: str  # bbig-mindestverguetung | tarif
    pay_monthly_eur: list[int] = Field(default_factory=list)
    pay_note: str | None = None
    berufsschule: list[Town] = Field(default_factory=list)
    teen: dict[str, str] = Field(default_factory=dict)  # summary, what_you_do, where_you_learn
    parent: dict[str, str] = Field(default_factory=dict)  # summary, prospects, how_to_support, ...
    riasec: dict[str, int] = Field(default_factory=dict)


class QuizOption(BaseModel):
    label: dict[str, str]  # locale -> text
    weights: dict[str, int] = Field(default_factory=dict)


class QuizItem(BaseModel):
    slug: str
    text: dict[str, str]  # locale -> text
    options: list[QuizOption]

    def text_in(self, locale: str) -> str:
        return self.text.get(locale) or self.text["de"]
