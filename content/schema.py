"""Pydantic models of the content pack (one model per YAML file entry).

Rules that need only one entry live here; rules across entries or files (references, duplicate
slugs, postal codes) live in content.loader. Unknown fields are errors, so typos are caught.

Times of events are written as local wall-clock time ("2027-03-13T09:00") and mean Europe/Berlin;
they are stored timezone-aware. An explicit offset ("...+01:00") is accepted and converted.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

BERLIN = ZoneInfo("Europe/Berlin")

# § 17 BBiG minimum monthly training pay by start year, for training years 1..4.
BBIG_MINIMUM_PAY: dict[int, tuple[int, int, int, int]] = {
    2025: (682, 805, 921, 955),
    2026: (724, 854, 977, 1014),
}


def _no_yaml_number(value: Any) -> Any:
    # YAML reads 01454 as the octal number 812 and 02826 as text: insist on quotes.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError('write the postal code in quotes, e.g. plz: "02826"')
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,47}$")]
Plz = Annotated[str, BeforeValidator(_no_yaml_number), StringConstraints(strip_whitespace=True)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# ASCII addresses only: an internationalised address would need SMTPUTF8 from every relay.
EMAIL_RE = re.compile(rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+)*@{_LABEL}(?:\.{_LABEL})+")


def check_email(value: str) -> str:
    """A plain address (name@example.org), as an SMTP server takes it in RCPT TO."""
    value = value.strip()
    local, _, domain = value.rpartition("@")
    if not EMAIL_RE.fullmatch(value) or len(value) > 254 or len(local) > 64 or domain[-1:].isdigit():
        raise ValueError(f"is not an e-mail address like name@example.org: {value!r}")
    return value


def check_webhook_url(value: str) -> str:
    """http(s) with a host; no credentials in the pack (they would end up in version control)."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError(f"is not an http:// or https:// URL with a host: {value!r}")
    if parts.username or parts.password or parts.fragment:
        raise ValueError("must not contain a user name, password or #fragment")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise ValueError(f"has an invalid port: {value!r}") from None
    return value


Email = Annotated[str, AfterValidator(check_email)]
WebhookUrl = Annotated[str, AfterValidator(check_webhook_url)]

# Occupational fields; professions have one, clusters target several.
ProfessionField = Literal["mechatronik", "metall-elektro", "bau-handwerk", "pflege-hauswirtschaft"]
SchoolLevel = Literal["none", "hauptschule", "mittlere_reife", "abitur"]
VacancyKind = Literal["ausbildung", "praktikum"]
Audience = Literal["teens", "parents", "both"]
EventFormat = Literal[
    "messe",  # Ausbildungsmessen: Impuls (Cottbus), Oberlausitzer Karrieretage, InsiderTreff (Löbau)
    "schau-rein",  # "Schau rein! – Woche der offenen Unternehmen" (Sachsen)
    "girls-boys-day",
    "tag-der-offenen-tuer",
    "spaetschicht",  # evening company visits
    "workshop",  # e.g. "Digitale Technik erleben", "Arbeitswelt 4.0"
    "unternehmen-machen-schule",  # companies visiting schools
    "mint-mobil",  # TAB_MINT's mobile learning trailer
    "elternabend",
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Entry(Model):
    slug: Slug


class TownRef(Model):
    """A town (or school) with the postal code used for distances."""

    name: Text
    plz: Plz


class Cluster(Entry):
    name: Text
    lead_organisation: Text
    lead_address: Text | None = None
    region_name: Text
    states: list[Text] = Field(min_length=1)
    districts: list[Text] = Field(min_length=1)
    region_towns: list[TownRef] = Field(min_length=1)  # to find the nearest cluster to a user
    target_fields: list[ProfessionField] = Field(min_length=1)
    # The Arbeitsagentur import (`lotse offers import ba`) searches this far around each region town.
    ba_radius_km: int = Field(default=20, ge=5, le=100)
    description_teen: Text
    description_parent: Text
    website: Url | None = None
    sources: list[Text] = Field(min_length=1)


class Pay(Model):
    """Monthly training pay per training year (1st, 2nd, ...)."""

    basis: Literal["bbig-mindestverguetung", "tarif"]
    start_year: int = Field(default=2026, ge=2020, le=2035)  # year the training starts
    monthly_eur: list[Annotated[int, Field(gt=0)]] | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _complete(self) -> Pay:
        if self.basis == "bbig-mindestverguetung" and not self.monthly_eur:
            raise ValueError("monthly_eur is required for bbig-mindestverguetung")
        if self.basis == "tarif" and not self.note:
            raise ValueError("a note is required for tarif pay")
        return self


class TeenText(Model):
    summary: Text
    what_you_do: Text
    where_you_learn: Text


class ParentText(Model):
    summary: Text
    prospects: Text
    how_to_support: Text
    berufsschule_travel: Text


RiasecCode = Literal["R", "I", "A", "S", "E", "C"]
RIASEC: tuple[str, ...] = ("R", "I", "A", "S", "E", "C")


def _all_six(profile: dict[str, int]) -> dict[str, int]:
    missing = [code for code in RIASEC if code not in profile]
    if missing:
        raise ValueError(f"needs all six RIASEC codes; missing {', '.join(missing)}")
    return profile


class Profession(Entry):
    name: Text
    clusters: list[Slug] = Field(min_length=1)
    # Interest profile on Holland's six dimensions, 0 (not at all) to 5 (at the heart of the job).
    riasec: Annotated[dict[RiasecCode, Annotated[int, Field(ge=0, le=5)]], AfterValidator(_all_six)]
    field: ProfessionField
    duration_months: int = Field(ge=12, le=60)
    school_expectation: Text  # what companies usually expect (text)
    legal_requirement: Text | None = None  # e.g. the PflBG access rule
    pay: Pay
    berufsschule: list[TownRef] = Field(default_factory=list)
    # The profession's names in the Arbeitsagentur's job search ("Dachdecker/in"): the import searches the
    # first and takes a listing whose profession is any of them. None: the profession is not imported.
    ba_names: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]] = \
        Field(default_factory=list)
    teen: TeenText
    parent: ParentText
    sources: list[Text] = Field(min_length=1)

    @property
    def training_years(self) -> int:
        return math.ceil(self.duration_months / 12)

    @field_validator("pay")
    @classmethod
    def _pay_matches_duration(cls, pay: Pay, info: ValidationInfo) -> Pay:
        months = info.data.get("duration_months")
        if pay.monthly_eur is None or months is None:
            return pay
        years = math.ceil(months / 12)
        if len(pay.monthly_eur) != years:
            raise ValueError(f"monthly_eur needs {years} values, one per training year")
        floor = BBIG_MINIMUM_PAY.get(pay.start_year)
        if floor and any(eur < minimum for eur, minimum in zip(pay.monthly_eur, floor)):
            raise ValueError(f"below the § 17 BBiG minimum for {pay.start_year}: {list(floor[:years])}")
        return pay


class Company(Entry):
    name: Text
    cluster: Slug
    example: bool  # required: demo companies are fictitious and must say so
    plz: Plz
    place: Text  # town of that postal code
    professions: list[Slug] = Field(min_length=1)
    description: Text
    size: Text | None = None
    website: Url | None = None
    email: Email | None = None  # business address for lead e-mails (bot/delivery/email.py)
    webhook_url: WebhookUrl | None = None  # receives leads as signed JSON (bot/delivery/webhook.py)

    @field_validator("description")
    @classmethod
    def _example_says_so(cls, description: str, info: ValidationInfo) -> str:
        if info.data.get("example") and not description.startswith("Beispielbetrieb"):
            raise ValueError('description of an example company must start with "Beispielbetrieb"')
        return description


class Vacancy(Entry):
    company: Slug
    profession: Slug
    kind: VacancyKind
    title: Text
    start: dt.date
    plz: Plz | None = None  # None: the company's postal code (filled in by the loader)
    # Town of that postal code, where the offer is (filled in by the loader: the company's place for
    # the company's postal code, the only place of a postal code with one place). Required when the
    # offer is at another postal code that covers several places (03130: Spremberg, Bagenz, ...).
    place: Text | None = None
    places: int = Field(default=1, ge=1)
    published: dt.date
    school_expectation: SchoolLevel | None = None
    berufsschule: TownRef | None = None
    description: Text | None = None
    # Only for pupils (a Schülerpraktikum organised with the school, a Girls'Day place): not shown to
    # people who have left school, ranked last with a note for adults whose school status is unknown.
    pupils_only: bool = False

    @field_validator("slug")
    @classmethod
    def _not_imported(cls, slug: str) -> str:
        if slug.startswith("ba-"):
            raise ValueError("slugs starting with ba- are kept for offers imported from the Arbeitsagentur")
        return slug

    @field_validator("published")
    @classmethod
    def _published_before_start(cls, published: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and published > start:
            raise ValueError("published after start")
        return published


def _berlin(value: dt.datetime) -> dt.datetime:
    """Attach Europe/Berlin to local times; reject times the clock change skips or repeats."""
    if value.tzinfo is not None:
        return value.astimezone(BERLIN)
    first, second = value.replace(tzinfo=BERLIN, fold=0), value.replace(tzinfo=BERLIN, fold=1)
    roundtrip = first.astimezone(dt.UTC).astimezone(BERLIN).replace(tzinfo=None)
    if roundtrip != value:
        raise ValueError(f"{value:%Y-%m-%d %H:%M} does not exist in Europe/Berlin (clock change)")
    if first.utcoffset() != second.utcoffset():
        raise ValueError(
            f"{value:%Y-%m-%d %H:%M} occurs twice in Europe/Berlin (clock change); "
            "add the offset, e.g. +02:00 or +01:00"
        )
    return first


BerlinTime = Annotated[dt.datetime, AfterValidator(_berlin)]


class Event(Entry):
    cluster: Slug
    title: Text
    format: EventFormat
    starts: BerlinTime
    ends: BerlinTime
    place: Text  # town of that postal code
    plz: Plz
    address: Text | None = None  # venue and street
    audience: Audience
    description: Text
    companies: list[Slug] = Field(default_factory=list)
    professions: list[Slug] = Field(default_factory=list)
    cancelled: bool = False
    # Only for pupils (at a school, Girls'Day/Boys'Day): hidden from people who have left school.
    pupils_only: bool = False
    # Where to register, if the organiser takes registrations. Without it "Erinnere mich" is only a
    # reminder for the user; nobody is told (the bot says so).
    registration_url: Url | None = None

    @field_validator("ends")
    @classmethod
    def _ends_after_starts(cls, ends: dt.datetime, info: ValidationInfo) -> dt.datetime:
        starts = info.data.get("starts")
        if starts is not None and ends < starts:
            raise ValueError("ends before starts")
        if starts is not None and ends == starts:
            raise ValueError("ends when it starts")
        return ends


class LocalText(Model):
    """A text of the content pack in both bot languages."""

    de: Text
    en: Text


class QuizOption(Model):
    label: LocalText
    # What choosing this option says about the six interest dimensions (0-3 points each).
    weights: dict[RiasecCode, Annotated[int, Field(ge=0, le=3)]] = Field(default_factory=dict)


class QuizQuestion(Entry):
    text: LocalText
    options: list[QuizOption] = Field(min_length=2, max_length=4)


# faq.yaml: questions people ask, answered from the clusters' knowledge (issue 13).
FAQ_QUESTION_MAX = 300  # the faq table's question column
FAQ_ANSWER_MAX = 700  # short enough to read on a phone, with the question and sources around it


def check_source_url(value: str) -> str:
    """A public https page with a host name (shown to users as a link; no credentials)."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or "." not in parts.hostname or any(c.isspace() for c in value):
        raise ValueError(f"is not an https:// address of a public page: {value!r}")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password")
    return value


FaqQuestion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=FAQ_QUESTION_MAX)]
FaqAnswer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=FAQ_ANSWER_MAX)]


class Source(Model):
    """Where a FAQ answer's facts come from: a law on gesetze-im-internet.de, a page of the
    Bundesagentur für Arbeit, the BIBB, a ministry or a cluster's own site."""

    title: Text
    url: Annotated[str, AfterValidator(check_source_url)]


class Faq(Entry):
    """A question and its answer. Both forms of address are written out: young people read
    answer_du, parents and other adults answer_sie, whoever the entry is mainly for (audience)."""

    question: FaqQuestion  # the main wording
    variants: list[FaqQuestion] = Field(default_factory=list)  # other ways people ask it
    answer_du: FaqAnswer
    answer_sie: FaqAnswer
    audience: Audience  # who asks it mostly; both answers are required regardless
    professions: list[Slug] = Field(default_factory=list)  # the professions it is about
    clusters: list[Slug] = Field(default_factory=list)  # empty: true in every cluster
    sources: list[Source] = Field(min_length=1)

    @field_validator("variants")
    @classmethod
    def _variants_differ(cls, variants: list[str], info: ValidationInfo) -> list[str]:
        seen = {str(info.data.get("question", "")).casefold()}
        for variant in variants:
            if variant.casefold() in seen:
                raise ValueError(f"repeats the question or another variant: {variant!r}")
            seen.add(variant.casefold())
        return variants
