"""Free questions answered by a language model, and the rules every such answer must pass (issue 13).

The model (behind the `Answerer` port, flows/core/ports.py; bot/llm.py talks to it) sees only the
question with personal data scrubbed out (`scrub`) and the passages retrieved for it. It answers in
structured form: a status, a short text and the ids of the passages it used. Nothing it says reaches a
user before `check` has accepted it:

- every cited id is one of the retrieved passages; an "answered" answer cites at least one;
- the text is not empty and at most ANSWER_MAX_CHARS long;
- every link, e-mail address, Telegram @name, bot command (/start) and phone number in it stands in a
  cited passage;
- every number (amounts of money, durations, ages, years, dates, times, "drei Jahre") stands in a
  cited passage: facts are never invented, rounded or converted.

Otherwise `check` gives None and the bot does not show the answer (it falls back to its own pages).
An answer "not in the knowledge" or "out of scope" keeps no text: the bot says that in its own words.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.domain.contact_details import DEFAULT_REGION, parse_name
from flows.domain.knowledge import KnowledgeHit

ANSWER_MAX_CHARS = 1200  # well within a Telegram message (4096) with the label and the sources around it
QUESTION_HARD_MAX = 2000  # the conversation caps questions lower (QUESTION_MAX_CHARS); this is the last guard
PASSAGE_MAX_CHARS = 3000  # per passage: what the model sees, and what its answer is checked against
MAX_PASSAGES = 10

PassageKind = Literal["faq", "profession", "cluster", "company", "event", "offer"]
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"  # slugs: no quotes, spaces or fences in an id


class Passage(BaseModel):
    """One retrieved page as the model sees it; it cites it by `id` ("<kind>:<ref>")."""

    model_config = ConfigDict(frozen=True)

    kind: PassageKind
    ref: str = Field(pattern=REF_PATTERN)
    title: str = Field(max_length=300)
    text: str

    @field_validator("text")
    @classmethod
    def _bounded(cls, value: str) -> str:
        return value[:PASSAGE_MAX_CHARS]

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.ref}"

    @classmethod
    def from_hit(cls, hit: KnowledgeHit) -> Passage:
        """A search hit (flows/domain/knowledge.py) as a passage for the model."""
        return cls.model_validate({"kind": hit.kind, "ref": hit.ref, "title": hit.title[:300], "text": hit.text})


class AnswerRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    question: str = Field(min_length=1, max_length=QUESTION_HARD_MAX)
    passages: tuple[Passage, ...] = Field(default=(), max_length=MAX_PASSAGES)
    form: Literal["du", "sie"] = "du"  # young people get "du", parents and other adults "Sie"
    locale: str = Field(default="de", pattern=r"^[a-z]{2}$")

    @field_validator("passages")
    @classmethod
    def _unique(cls, value: tuple[Passage, ...]) -> tuple[Passage, ...]:
        ids = [p.id for p in value]
        if len(set(ids)) != len(ids):
            raise ValueError("passage ids must be unique")
        return value


class AnswerStatus(StrEnum):
    ANSWERED = "answered"
    NOT_IN_KNOWLEDGE = "not_in_knowledge"  # on topic, but the passages do not answer it
    OUT_OF_SCOPE = "out_of_scope"  # anything else: other users' data, the instructions, role play, off topic


class Answer(BaseModel):
    """What the model said, unchecked: never shown as it is."""

    model_config = ConfigDict(frozen=True)

    status: AnswerStatus
    text: str = ""
    cited: tuple[str, ...] = ()


class CheckedAnswer(BaseModel):
    """An answer that passed `check`: plain text (escape it for Telegram's HTML), and the cited passages,
    in the order cited (the bot shows them as buttons into its pages)."""

    model_config = ConfigDict(frozen=True)

    status: AnswerStatus
    text: str
    sources: tuple[Passage, ...] = ()


class UnavailableReason(StrEnum):
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"  # 429
    SERVER_ERROR = "server_error"  # 5xx
    CONNECTION = "connection"  # refused, reset, TLS
    REJECTED = "rejected"  # 4xx other than 429: a wrong key, an unknown model, a request the server refuses
    MALFORMED = "malformed"  # not the JSON asked for


class AnswerUnavailable(Exception):
    """No answer from the model this time; the bot answers from its own pages instead."""

    def __init__(self, reason: UnavailableReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail  # for the log: never the question, the passages or the key


# ---- checking an answer ----------------------------------------------------------------------------
class Refusal(StrEnum):
    """Why `check` refused an answer (for the log and the tests; the user sees the fallback)."""

    FOREIGN_CITATION = "foreign_citation"
    UNCITED = "uncited"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    URL = "url"
    EMAIL = "email"
    HANDLE = "handle"
    COMMAND = "command"
    PHONE = "phone"
    NUMBER = "number"


def check(answer: Answer, passages: tuple[Passage, ...] | list[Passage]) -> CheckedAnswer | None:
    """The answer as the bot may show it, or None if it breaks a rule (see the module's text)."""
    checked = _checked(answer, tuple(passages))
    return checked if isinstance(checked, CheckedAnswer) else None


def refusal(answer: Answer, passages: tuple[Passage, ...] | list[Passage]) -> Refusal | None:
    """The first rule the answer breaks, or None if `check` accepts it."""
    checked = _checked(answer, tuple(passages))
    return checked if isinstance(checked, Refusal) else None


def _checked(answer: Answer, passages: tuple[Passage, ...]) -> CheckedAnswer | Refusal:
    by_id = {p.id: p for p in passages}
    cited = list(dict.fromkeys(answer.cited))  # in order, once each
    if any(c not in by_id for c in cited):
        return Refusal.FOREIGN_CITATION
    if answer.status is not AnswerStatus.ANSWERED:
        return CheckedAnswer(status=answer.status, text="")  # the bot says it in its own words
    if not cited:
        return Refusal.UNCITED
    sources = tuple(by_id[c] for c in cited)
    text = clean_text(answer.text, list(by_id))
    if not text:
        return Refusal.EMPTY
    if len(text) > ANSWER_MAX_CHARS:
        return Refusal.TOO_LONG
    problem = _invented(text, "\n".join(f"{p.title}\n{clean_text(p.text, [])}" for p in sources))
    return problem or CheckedAnswer(status=answer.status, text=text, sources=sources)


_ZERO_WIDTH = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def clean_text(text: str, ids: list[str]) -> str:
    """Compatibility forms folded (NFKC: full-width digits are digits), invisible and control characters
    dropped, passage ids the model wrote into its text taken out, blank lines at most one."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c)[0] != "C")
    for pid in sorted(ids, key=len, reverse=True):
        text = re.sub(rf"\s*[\[(]?{re.escape(pid)}[\])]?", "", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+"
    r"|(?<![\w.@-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"\.(?:de|com|org|net|eu|info|io|me|app|ly|gl|co|link|online|site|xyz|biz|gov|edu|ru|cn|to|tk)\b"
    r"(?:/[^\s<>\"'()\[\]{}]*)?",
    re.IGNORECASE)
_HANDLE_RE = re.compile(r"(?<![\w@.])@[A-Za-z][A-Za-z0-9_]{3,31}\b")
_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z][A-Za-z0-9_]{1,31}\b")


def _norm_url(url: str) -> str:
    url = re.sub(r"^(?:https?://)?(?:www\.)?", "", url.lower())
    return url.rstrip(".,;:!?/")


def _url_known(url: str, known: set[str]) -> bool:
    return any(k == url or k.startswith(url + "/") for k in known)


_DATE_LIKE = re.compile(r"\d{1,2}\.\d{1,2}\.\d{2,4}|\d{4}-\d{1,2}-\d{1,2}")


def _phones(text: str) -> tuple[set[str], list[tuple[int, int]]]:
    """Valid phone numbers in the text (E.164) and where they stand."""
    found: set[str] = set()
    spans: list[tuple[int, int]] = []
    for match in phonenumbers.PhoneNumberMatcher(text, DEFAULT_REGION, leniency=phonenumbers.Leniency.VALID):
        if sum(c.isdigit() for c in match.raw_string) < 7 or _DATE_LIKE.fullmatch(match.raw_string):
            continue  # "1682", "02.08.2027": numbers and dates, checked as such
        found.add(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
        spans.append((match.start, match.end))
    return found, spans


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text


def _invented(text: str, sources: str) -> Refusal | None:
    """The first thing in `text` that does not stand in `sources`."""
    facts = _Facts(sources)
    emails = {m.group(0).lower() for m in _EMAIL_RE.finditer(text)}
    if not emails <= facts.emails:
        return Refusal.EMAIL
    rest = _EMAIL_RE.sub(" ", text)
    urls = {_norm_url(m.group(0)) for m in _URL_RE.finditer(rest)}
    if not all(_url_known(u, facts.urls) for u in urls):
        return Refusal.URL
    rest = _URL_RE.sub(" ", rest)
    handles = {m.group(0).lower() for m in _HANDLE_RE.finditer(rest)}
    if not handles <= facts.handles:
        return Refusal.HANDLE
    rest = _HANDLE_RE.sub(" ", rest)
    if not {m.group(0).lower() for m in _COMMAND_RE.finditer(rest)} <= facts.commands:
        return Refusal.COMMAND  # Telegram makes "/loeschen" a tap that sends it
    phones, spans = _phones(rest)
    as_written = [re.sub(r"\s+", " ", rest[start:end]) for start, end in spans]
    if phones and not all(facts.has_written(w) for w in as_written) and not phones <= facts.phones():
        return Refusal.PHONE
    numbers = _Numbers(_blank(rest, spans))
    if not numbers.within(facts.numbers):
        return Refusal.NUMBER
    return None


class _Facts:
    """What the cited passages say, in the forms an answer is compared by."""

    def __init__(self, sources: str) -> None:
        self.emails = {m.group(0).lower() for m in _EMAIL_RE.finditer(sources)}
        rest = _EMAIL_RE.sub(" ", sources)
        self.urls = {_norm_url(m.group(0)) for m in _URL_RE.finditer(rest)}
        rest = _URL_RE.sub(" ", rest)
        self.handles = {m.group(0).lower() for m in _HANDLE_RE.finditer(rest)}
        self._rest = _HANDLE_RE.sub(" ", rest)
        self.commands = {m.group(0).lower() for m in _COMMAND_RE.finditer(self._rest)}
        self.numbers = _Numbers(self._rest, source=True)  # a phone number's digits count too: harmless

    def has_written(self, number: str) -> bool:
        """Whether the number stands in the passages exactly as written (fast, and true even where the
        passage runs it into the next number: "0355 123456 682 Euro")."""
        return re.search(rf"(?<![\d+]){re.escape(number)}(?!\d)", re.sub(r"\s+", " ", self._rest)) is not None

    def phones(self) -> set[str]:
        """Only asked for when the answer has a phone number (the matcher is slow on long texts)."""
        return _phones(self._rest)[0]


# ---- numbers, dates and times ----------------------------------------------------------------------
_MONTHS = {
    "januar": 1, "jänner": 1, "jan": 1, "january": 1, "februar": 2, "feb": 2, "february": 2, "märz": 3,
    "maerz": 3, "mär": 3, "march": 3, "mar": 3, "april": 4, "apr": 4, "mai": 5, "may": 5, "juni": 6, "jun": 6,
    "june": 6, "juli": 7, "jul": 7, "july": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "october": 10, "oct": 10, "november": 11, "nov": 11, "dezember": 12, "dez": 12,
    "december": 12, "dec": 12,
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_NUM_DATE = re.compile(r"(?<![\d.,])(\d{1,2})\.(\d{1,2})\.(?:(\d{4}|\d{2})(?!\d))?")
_DAY_MONTH = re.compile(rf"(?<![\d.,])(\d{{1,2}})(?:\.|st|nd|rd|th)?\s*(?:of\s+)?({_MONTH})\b\.?(?:,?\s*(\d{{4}})(?!\d))?",
                        re.IGNORECASE)
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\.\d)(?:,?\s*(\d{{4}})(?!\d))?",
                        re.IGNORECASE)
_TIME = re.compile(r"(?<![\d.,:])(\d{1,2})(?:[:.](\d{2}))?\s*Uhr\b|(?<![\d.,:])(\d{1,2}):(\d{2})(?!\d)",
                   re.IGNORECASE)
_NUMBER = re.compile(r"(?<!\d)\d+(?:[.,]\d+)*")

# Number words. In the passages every one of them counts (except the article "ein", which is
# everywhere); in an answer those before a unit ("drei Jahre", "im zweiten Lehrjahr", "two years") must
# stand in a passage, in words or in digits.
_CARDINALS: dict[str, float] = {
    "null": 0, "zero": 0, "ein": 1, "eine": 1, "einen": 1, "einem": 1, "einer": 1, "eins": 1, "one": 1, "a": 1,
    "zwei": 2, "two": 2, "drei": 3, "three": 3, "vier": 4, "four": 4, "fünf": 5, "fuenf": 5, "five": 5,
    "sechs": 6, "six": 6, "sieben": 7, "seven": 7, "acht": 8, "eight": 8, "neun": 9, "nine": 9, "zehn": 10,
    "ten": 10, "elf": 11, "eleven": 11, "zwölf": 12, "zwoelf": 12, "twelve": 12, "zwanzig": 20, "twenty": 20,
    "dreißig": 30, "dreissig": 30, "thirty": 30, "hundert": 100, "hundred": 100, "tausend": 1000,
    "thousand": 1000, "halb": 0.5, "halbe": 0.5, "halben": 0.5, "halbes": 0.5, "half": 0.5, "anderthalb": 1.5,
    "eineinhalb": 1.5, "zweieinhalb": 2.5, "dreieinhalb": 3.5, "viereinhalb": 4.5,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10,
}
_ORDINALS: dict[str, float] = {  # stems: "ersten", "zweite", "dritter", "achtes"
    "erst": 1, "zweit": 2, "dritt": 3, "viert": 4, "fünft": 5, "sechst": 6, "siebt": 7, "siebent": 7, "acht": 8,
    "neunt": 9, "zehnt": 10, "elft": 11, "zwölft": 12,
}
_ORDINAL_ENDINGS = ("e", "en", "er", "es", "em")
_ARTICLES = {"ein", "eine", "einen", "einem", "einer", "a"}
_UNITS = (r"(?:lehr|ausbildungs|schul|berufsschul)?jahr(?:e|en|es)?|monat(?:e|en|s)?|woche(?:n)?|tag(?:e|en)?"
          r"|stunde(?:n)?|minute(?:n)?|euro|prozent|semester|klasse(?:n)?|plätze|platz"
          r"|years?|months?|weeks?|days?|hours?|minutes?|euros?|percent|places?")
_WORD_NUMBER = re.compile(r"\b([^\W\d_]+)\s+(?:" + _UNITS + r")\b", re.IGNORECASE)
_ANY_WORD = re.compile(r"[^\W\d_]+")


def _word_value(word: str) -> float | None:
    low = word.lower()
    if low in _CARDINALS:
        return _CARDINALS[low]
    for ending in _ORDINAL_ENDINGS:
        stem = low.removesuffix(ending)
        if stem != low and stem in _ORDINALS:
            return _ORDINALS[stem]
    return None


def _canonical(token: str) -> set[str]:
    """The values a written number may mean: German (1.050,5) and English (1,050.5) separators."""
    values: set[str] = set()
    readings = []
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", token) or re.fullmatch(r"\d+(?:,\d+)?", token):
        readings.append(token.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", token) or re.fullmatch(r"\d+(?:\.\d+)?", token):
        readings.append(token.replace(",", ""))
    for reading in readings:
        try:
            values.add(_decimal(Decimal(reading)))
        except InvalidOperation:
            continue
    return values


def _decimal(value: Decimal | float) -> str:
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return format(number.normalize(), "f")


class _Numbers:
    """The numbers of a text: dates (day, month, year or None), times (hour, minute), other numbers
    (as written, and as values)."""

    def __init__(self, text: str, source: bool = False) -> None:
        self.dates: set[tuple[int, int, int | None]] = set()
        self.times: set[tuple[int, int]] = set()
        self.written: set[str] = set()
        self.values: set[str] = set()
        self.required: list[tuple[str, set[str]]] = []  # (as written, its possible values) for an answer
        spans: list[tuple[int, int]] = []

        def date(day: str, month: int, year: str | None, span: tuple[int, int]) -> None:
            d = int(day)
            if 1 <= d <= 31 and 1 <= month <= 12:
                y = None if year is None else (int(year) + 2000 if len(year) == 2 else int(year))
                self.dates.add((d, month, y))
                if source and y is not None:
                    self.values.add(str(y))
                spans.append(span)

        for m in _ISO_DATE.finditer(text):
            date(m.group(3), int(m.group(2)), m.group(1), m.span())
        text = _blank(text, spans)
        spans = []
        for m in _DAY_MONTH.finditer(text):
            date(m.group(1), _MONTHS[m.group(2).lower()], m.group(3), m.span())
        text = _blank(text, spans)
        spans = []
        for m in _MONTH_DAY.finditer(text):
            date(m.group(2), _MONTHS[m.group(1).lower()], m.group(3), m.span())
        text = _blank(text, spans)
        spans = []
        for m in _NUM_DATE.finditer(text):
            date(m.group(1), int(m.group(2)), m.group(3), m.span())
        text = _blank(text, spans)
        spans = []
        for m in _TIME.finditer(text):
            hour, minute = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
            h, mi = int(hour), int(minute or 0)
            if h <= 24 and mi < 60:
                self.times.add((h, mi))
                if source:
                    self.values.add(str(h))
                spans.append(m.span())
        text = _blank(text, spans)
        for m in _NUMBER.finditer(text):
            token = m.group(0)
            values = _canonical(token)
            if source:
                self.written.add(token)
                self.values |= values
            else:
                self.required.append((token, values))
        if source:
            for m in _ANY_WORD.finditer(text):
                if m.group(0).lower() not in _ARTICLES and (value := _word_value(m.group(0))) is not None:
                    self.values.add(_decimal(value))
            for m in _WORD_NUMBER.finditer(text):
                if (value := _word_value(m.group(1))) is not None:
                    self.values.add(_decimal(value))
        else:
            for m in _WORD_NUMBER.finditer(text):
                if (value := _word_value(m.group(1))) is not None:
                    self.required.append((m.group(1), {_decimal(value)}))

    def within(self, source: _Numbers) -> bool:
        """Whether every number of this answer stands in `source`."""
        for day, month, year in self.dates:
            if not any(d == day and mo == month and (year is None or y == year or (y is None and str(year) in source.values))
                       for d, mo, y in source.dates):
                return False
        if not self.times <= source.times:
            return False
        return all(token in source.written or values & source.values for token, values in self.required)


# ---- scrubbing personal data out of a question ----------------------------------------------------
NAME_MARK = "[Name]"
PHONE_MARK = "[Telefonnummer]"
EMAIL_MARK = "[E-Mail]"
ADDRESS_MARK = "[Adresse]"
HANDLE_MARK = "[Kontakt]"
BIRTHDAY_MARK = "[Geburtsdatum]"

_NAME_WORD = r"[^\W\d_]+(?:['’-][^\W\d_]+)*"
_MORE_WORDS = rf"(?P<more>(?:[ \t]+{_NAME_WORD}){{0,2}})"
# After these, the next words are a name whatever their case ("ich heiße max müller").
_NAMED = re.compile(
    r"(?:\b(?:(?:ich|und)\s+hei(?:ß|ss|s)e|mein\s+(?:vor|nach|ruf)?name\s+(?:ist|lautet)|(?:vor|nach)?name\s*:|namens|"
    r"(?:sohn|tochter|kind|enkel|enkelin|er|sie)\s+hei(?:ß|ss|s)t|nenn(?:t|en)?\s+mich|man\s+nennt\s+mich|"
    r"ich\s+bins|(?:mutter|vater|mama|papa|oma|opa|eltern|tante|onkel)\s+von|my\s+name\s+is|call\s+me|"
    r"(?:liebe|viele|beste|freundliche|herzliche)\s+gr(?:ü|ue)(?:ß|ss)e|mit\s+freundlichen\s+gr(?:ü|ue)(?:ß|ss)en|"
    r"lg|vg|mfg|gru(?:ß|ss)|gr(?:ü|ue)(?:ß|ss)e|cheers|regards)"
    r"|^[\s,!.]*(?:(?:hallo|hi|hey|moin|servus|guten\s+tag)\b[\s,!.]*)?hier\s+(?:ist|schreibt))(?!\w)"
    rf"[\s,:!.-]*(?P<name>{_NAME_WORD}){_MORE_WORDS}",
    re.IGNORECASE)
# After these, a capitalised word (any word after der/die) is a name unless it says what someone is.
# "Frau Kowalski", "Herrn Müller": a capitalised word after a form of address is a surname ("als Frau
# Dachdeckerin": what, not who).
_ADDRESSED = re.compile(rf"(?<!\bals )(?<!\bAls )\b(?:Frau|Herrn?|Fr\.|Hr\.|Mrs?\.|Ms\.)[ \t]+(?:(?:Dr|Prof)\.[ \t]*)*(?P<name>{_NAME_WORD}){_MORE_WORDS}")
_INTRO = re.compile(
    rf"\b(?:ich\s+bin|i\s+am|i['’]m)\s+(?P<article>(?:der|die)\s+)?(?P<name>{_NAME_WORD}){_MORE_WORDS}",
    re.IGNORECASE)
_NOT_A_NAME = {
    # what someone is, not who ("ich bin Mutter", "ich bin Azubi"), and words that follow a name
    "mutter", "vater", "mama", "papa", "oma", "opa", "elternteil", "eltern", "großmutter", "großvater", "tante",
    "onkel", "schüler", "schülerin", "azubi", "auszubildende", "auszubildender", "student", "studentin", "lehrer",
    "lehrerin", "lehrkraft", "erzieher", "erzieherin", "anfang", "ende", "mitte", "neu", "hier", "jetzt", "gerade",
    "noch", "schon", "in", "im", "auf", "an", "am", "bei", "seit", "aus", "mit", "von", "vom", "für", "nicht",
    "kein", "keine", "sehr", "echt", "total", "ganz", "so", "auch", "gerne", "gern", "unsicher", "interessiert",
    "mädchen", "junge", "kind", "frau", "mann", "herr", "alleinerziehend", "alleinerziehende", "arbeitslos",
    "fertig", "zu", "nur", "eher", "wirklich", "dabei", "bereit", "gut", "schlecht", "und", "oder", "aber", "weil",
    "dass", "ob", "wie", "was", "wo", "wann", "warum", "wer", "welche", "welcher", "der", "die", "das", "den",
    "dem", "des", "ein", "eine", "einen", "mein", "meine", "meinen", "meinem", "dein", "deine", "ihr", "ihre",
    "bin", "bist", "ist", "sind", "habe", "hab", "hat", "hätte", "möchte", "will", "würde", "wollte", "mache",
    "mach", "suche", "komme", "wohne", "gehe", "frage", "kann", "darf", "muss", "soll", "ich", "du", "sie", "er",
    "es", "wir", "man", "alle", "allen", "fragen", "danke", "bitte", "hallo", "tschüss",
    "a", "the", "not", "from", "at", "looking", "interested", "parent", "mother", "father", "mom", "mum", "dad",
    "pupil", "teacher", "going", "years", "year", "and", "or", "but", "to", "is", "have", "want",
    "would", "like", "i", "you", "of", "for", "with", "here", "new", "thanks", "please",
}
_ROLE_SUFFIXES = ("schüler", "schülerin", "lehrer", "lehrerin", "mutter", "vater", "azubi", "student", "studentin",
                  "erzieher", "erzieherin", "pfleger", "pflegerin", "kraft", "elternteil")
_EMAIL_FIND = re.compile(r"(?<![\w.+-])[\w.+-]+(?:@|\s*[(\[]at[)\]]\s*)[\w-]+(?:(?:\.|\s*[(\[]dot[)\]]\s*)[\w-]+)+",
                         re.IGNORECASE)
_PHONE_LIKE = re.compile(r"(?<![\w+])(?:\+|00|0)\d[\d \-/()]{5,}\d(?!\d)")
_STREET = re.compile(r"\b[A-ZÄÖÜ][\w.-]*(?:straße|strasse|str\.|weg|gasse|allee|damm|chaussee|ufer|steig|pfad)"
                     r"[ \t]+\d{1,3}(?!\d)(?:[ \t]?[a-zA-Z]\b)?")
_BIRTHDAY = re.compile(r"\b(?:geb(?:oren)?\.?|born)\s*(?:am|on)?\s*\d{1,2}\.\s*\d{1,2}\.\s*\d{2,4}", re.IGNORECASE)


def scrub(question: str) -> str:
    """The question with personal data replaced by marks, before it goes to a model: names after
    "ich heiße", "ich bin", "mein Name ist" (and in greetings), phone numbers, e-mail addresses,
    Telegram @names, street addresses, birth dates. Errs on the side of removing."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", question))
    text = _EMAIL_FIND.sub(EMAIL_MARK, text)
    text = _HANDLE_RE.sub(HANDLE_MARK, text)
    text = _BIRTHDAY.sub(BIRTHDAY_MARK, text)
    _, spans = _phones(text)
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + PHONE_MARK + text[end:]
    text = _PHONE_LIKE.sub(lambda m: PHONE_MARK if sum(c.isdigit() for c in m.group(0)) >= 7 else m.group(0), text)
    text = _STREET.sub(ADDRESS_MARK, text)
    text = _NAMED.sub(lambda m: _replace_name(m, any_case=True), text)
    text = _ADDRESSED.sub(lambda m: _replace_name(m, any_case=False), text)
    return _INTRO.sub(lambda m: _replace_name(m, any_case=bool(m.group("article"))), text)


def _replace_name(match: re.Match[str], any_case: bool) -> str:
    """The match with its name (and a surname after it) replaced by NAME_MARK, or unchanged if the word
    is no name. `any_case`: a name typed in lower case counts (after "ich heiße")."""
    name = match.group("name")
    if not _may_be_name(name):
        return match.group(0)
    if not any_case and not (name[:1].isupper() and not name.lower().endswith(_ROLE_SUFFIXES)):
        return match.group(0)  # "ich bin unsicher", "ich bin Schülerin": what, not who
    end = match.end("name")
    lower_typed = name == name.lower()
    for word in re.finditer(_NAME_WORD, match.group("more")):
        following = word.group(0)
        if not _may_be_name(following) or not (following[:1].isupper() or lower_typed and any_case):
            break
        end = match.start("more") + word.end()
    return match.string[match.start():match.start("name")] + NAME_MARK + match.string[end:match.end()]


def _may_be_name(word: str) -> bool:
    return word.lower() not in _NOT_A_NAME and parse_name(word) is not None
