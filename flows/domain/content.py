"""Content as the flows see it: professions and quiz items, built by storage from the pack."""
from __future__ import annotations

from datetime import date, datetime

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


class VacancyCandidate(BaseModel):
    """What ranking needs of an offer; the card's details are fetched only for the page shown."""

    slug: str
    profession: str
    kind: str  # ausbildung | praktikum
    lat: float
    lon: float
    start: date
    published: date
    school_level: str | None = None  # none | hauptschule | mittlere_reife | abitur
    pupils_only: bool = False  # a Schülerpraktikum: only for people still at school


class VacancyCard(BaseModel):
    slug: str
    title: str
    kind: str
    profession: str
    profession_name: str
    company: str
    company_name: str
    example: bool
    place: str
    plz: str
    lat: float
    lon: float
    start: date
    places: int = 1
    description: str | None = None
    school: Town | None = None  # Berufsschule, where the offer names it
    school_lat: float | None = None
    school_lon: float | None = None
    pupils_only: bool = False
    company_place: str | None = None  # the company's own town (the offer may be at another site)
    # Imported from the Arbeitsagentur (flows/domain/offer_import.py): its page there; `company` is "" when the
    # employer is not a cluster company (then no company page and no hand-over: the BA page instead).
    source_url: str | None = None
    start_known: bool = True  # False: the listing names no start ("nach Absprache"); `start` is for ranking

    @property
    def imported(self) -> bool:
        return self.source_url is not None


class SearchFilters(BaseModel):
    radius_km: int = 25
    kind: str | None = None  # None: both
    profession: str | None = None  # None: all
    around: str | None = None  # a cluster's slug: search around its main town instead of home
    max_minutes: int | None = None  # "höchstens 60 Minuten mit Bus und Bahn" (issue 16); None: no such filter


class VacancyMark(BaseModel):
    slug: str
    mark: str  # saved | interested
    at: datetime


class EventInfo(BaseModel):
    slug: str
    cluster: str
    title: str
    format: str
    starts: datetime  # UTC
    ends: datetime  # UTC
    place: str
    plz: str
    address: str | None = None
    audience: str  # teens | parents | both
    description: str
    companies: list[str] = Field(default_factory=list)  # company names, examples marked by the pack
    company_slugs: list[str] = Field(default_factory=list)  # the same companies, for links to their pages
    professions: list[str] = Field(default_factory=list)
    cancelled: bool = False
    lat: float
    lon: float
    sequence: int = 0  # grows with every change of time or place (calendar files use it)
    pupils_only: bool = False  # at a school, Girls'Day/Boys'Day: only for people still at school
    registration_url: str | None = None  # the organiser takes registrations there


class Rsvp(BaseModel):
    event: str
    offsets: list[str]  # reminder offset codes; empty: reminders off
    created_at: datetime


class CompanyInfo(BaseModel):
    id: int
    slug: str
    name: str
    cluster: str
    plz: str
    place: str
    professions: list[str]
    example: bool
    description: str = ""  # starts with "Beispielbetrieb" for demo companies
    size: str | None = None
    website: str | None = None
    email: str | None = None
    webhook_url: str | None = None
