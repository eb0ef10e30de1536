"""Offers from the Bundesagentur für Arbeit's job search (Jobsuche), read tolerantly.

The interface is public but unofficial: it moved from `/pc/v4/jobs` to `/pc/v6/jobs` in 2026 and
renamed its fields on the way. `parse_page` reads both shapes, item by item (an item is looked up
under its v4 and its v6 names, whatever the list is called), and turns what it finds into plain
text: HTML tags and the content of <script>/<style> are dropped, entities decoded, whitespace
collapsed, long texts cut at a word boundary. A listing that cannot be used becomes a `Defect`
(for a log line and a count), never an exception; only a page whose list is missing altogether
raises `BaShapeError` (the interface changed again).

Pure: pydantic and the standard library only; the HTTP client is bot/ba_client.py.
"""
from __future__ import annotations

import html
import math
import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum
from html.parser import HTMLParser
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["ausbildung", "praktikum"]
ANGEBOTSART: dict[Kind, int] = {"ausbildung": 4, "praktikum": 34}
PAGE_SIZE = 100
PAGE_LIMIT = 100  # size*page caps at 10,000

DETAIL_URL = "https://www.arbeitsagentur.de/jobsuche/jobdetail/"
REF_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z-]{0,39}$"
TITLE_MAX = 200
EMPLOYER_MAX = 160
PLACE_MAX = 120
PROFESSION_MAX = 160
PROFESSIONS_MAX = 20  # a listing naming more professions than this is noise
URL_MAX = 2000
_REF = re.compile(REF_PATTERN)
_PLZ = re.compile(r"^\d{5}$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_GERMAN_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


# ---- the query -------------------------------------------------------------------------------------
class BaQuery(BaseModel):
    """One search: a kind of offer, a profession, a town and a radius."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    was: str = Field(min_length=1, max_length=200)  # the BA profession name searched for, e.g. "Dachdecker/in"
    wo: str = Field(min_length=1, max_length=200)  # a town, e.g. "Halle (Saale)"
    umkreis: int = Field(ge=1, le=200)  # km
    berufsfeld: str | None = None

    def params(self, page: int, size: int = PAGE_SIZE) -> dict[str, str]:
        """The query string of one page (pages count from 1; the server refuses page*size > 10,000)."""
        if page < 1:
            raise ValueError(f"pages count from 1, not {page}")
        if not 1 <= size <= PAGE_SIZE:
            raise ValueError(f"size must be 1..{PAGE_SIZE}, not {size}")
        values = {"angebotsart": str(ANGEBOTSART[self.kind]), "was": self.was, "wo": self.wo,
                  "umkreis": str(self.umkreis), "page": str(page), "size": str(size), "pav": "false"}
        if self.berufsfeld:
            values["berufsfeld"] = self.berufsfeld
        return values


# ---- one listing -----------------------------------------------------------------------------------
class BaListing(BaseModel):
    """One offer as the BA lists it, reduced to plain text."""

    model_config = ConfigDict(frozen=True)

    ref: str = Field(pattern=REF_PATTERN)  # refnr / referenznummer
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    employer: str = Field(min_length=1, max_length=EMPLOYER_MAX)
    plz: str | None = Field(default=None, pattern=r"^\d{5}$")
    place: str | None = None  # ort
    start: date | None = None  # eintrittsdatum
    published: date | None = None  # aktuelleVeroeffentlichungsdatum (v4) / datumErsteVeroeffentlichung (v6)
    professions: tuple[str, ...] = ()  # v4 beruf; v6 hauptberuf, then alleBerufe
    external_url: str | None = None  # https only
    # extra, optional: the coordinates the BA gives (WGS84), for a postal code our table does not know
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @property
    def url(self) -> str:
        """The listing's public page at the BA."""
        return DETAIL_URL + self.ref


class Defect(StrEnum):
    """Why a listing was left out (for a log line and a count)."""

    NOT_AN_OBJECT = "not_an_object"
    MISSING_REF = "missing_ref"
    BAD_REF = "bad_ref"
    MISSING_TITLE = "missing_title"
    MISSING_EMPLOYER = "missing_employer"


class BaPage(BaseModel):
    """One page of results: the usable listings, what was left out and why, and the total the server reports."""

    shape: Literal["v4", "v6"]
    listings: list[BaListing]
    defects: list[tuple[str | None, Defect]]  # (the ref if known, what was wrong)
    total: int | None  # maxErgebnisse; None if missing/invalid
    duplicates: list[str] = []  # extra: refs listed more than once on this page (the first was kept)


class BaShapeError(ValueError):
    """Neither "stellenangebote" nor "ergebnisliste" is a list: the interface changed again."""


class BaUnavailable(Exception):
    """No page this time: the server was slow, refused, failed or answered something that is not JSON."""

    REASONS = frozenset({"timeout", "rate_limited", "server_error", "connection", "rejected", "malformed"})

    def __init__(self, reason: str, status: int | None = None, detail: str = "") -> None:
        text = reason if status is None else f"{reason} (HTTP {status})"
        super().__init__(f"{text}: {detail}" if detail else text)
        self.reason = reason
        self.status = status
        self.detail = detail  # for the log: short, never a response body


class JobBoard(Protocol):
    async def page(self, query: BaQuery, page: int, size: int = PAGE_SIZE) -> BaPage:
        """One page of offers; raises BaUnavailable, BaShapeError."""
        ...


# ---- plain text ------------------------------------------------------------------------------------
class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment: tags dropped, entities decoded, script/style content dropped."""

    _HIDDEN = frozenset({"script", "style", "template", "iframe", "object", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in {"br", "p", "div", "li", "td", "tr"}:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _strip_html(text: str) -> str:
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return html.unescape("".join(parser.parts))  # close() may hand over an unfinished "&x" as text


def _visible(character: str) -> str:
    category = unicodedata.category(character)
    if category in {"Zs", "Zl", "Zp"} or character in "\t\n\r\f\v":
        return " "
    if category[0] == "C":  # control, format (bidi overrides, zero-width), unassigned, private use
        return ""
    return character


def plain_text(value: object, limit: int) -> str:
    """A value of the BA as one line of plain text, at most `limit` characters ("" if nothing is left).

    HTML is stripped until nothing changes any more (so "&lt;b&gt;" does not come back as a tag),
    at most three rounds; a leftover "<" or ">" of a tag cut in half is dropped."""
    if not isinstance(value, str):
        return ""
    text = value[: limit * 20]  # a megabyte of title is cut before it is parsed
    for _ in range(3):
        stripped = _strip_html(text)
        if stripped == text:
            break
        text = stripped
    if "<" in text and re.search(r"<\s*/?\s*[A-Za-z!?]", text):
        text = re.sub(r"<\s*/?\s*[A-Za-z!?][^>]*>?", " ", text)
    text = " ".join("".join(_visible(c) for c in unicodedata.normalize("NFC", text)).split())
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary to at most `limit` characters, marked with "…"."""
    if len(text) <= limit:
        return text
    window = text[: limit - 1]
    cut = window.rfind(" ")
    if cut >= limit // 2:
        window = window[:cut]
    return window.rstrip(" ,;:-–/(") + "…"


# ---- fields ----------------------------------------------------------------------------------------
def _first(item: dict[str, object], *names: str) -> object:
    """The first of these fields that is there and not null."""
    for name in names:
        value = item.get(name)
        if value is not None:
            return value
    return None


def _ref(value: object) -> str | None:
    """The reference number as text; None when there is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _plz(value: object) -> str | None:
    """Five digits; a number (or four digits) lost its leading zero: 6108 means "06108"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = f"{value:05d}" if 1000 <= value <= 99999 else ""
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[1-9]\d{3}", text):
            text = "0" + text
    else:
        return None
    return text if _PLZ.match(text) and not text.startswith("00") else None  # German codes run 01001..99998


def _day(value: object) -> date | None:
    """A date from "2027-08-01", "2027-08-01T10:11:12.123(Z|+01:00)" or "01.08.2027"; else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if match := _ISO_DAY.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _GERMAN_DAY.match(text):
            return date(int(match[3]), int(match[2]), int(match[1]))
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _https(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > URL_MAX or any(c.isspace() or unicodedata.category(c)[0] == "C" for c in text):
        return None
    if any(c in text for c in "<>\"'`\\"):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname or parts.username or parts.password:
        return None
    return text


def _coordinate(value: object, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and -bound <= number <= bound else None


def _location(item: dict[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """(address, coordinates) of the first place of work: v4 "arbeitsort", v6 "stellenlokationen"."""
    candidates: list[object] = []
    for name in ("arbeitsort", "stellenlokationen", "arbeitsorte"):
        value = item.get(name)
        if isinstance(value, list):
            candidates.extend(value[:1])
        elif value is not None:
            candidates.append(value)
    for candidate in candidates:
        if not isinstance(candidate, dict):
            continue
        address = candidate.get("adresse")
        address = address if isinstance(address, dict) else candidate
        coordinates = candidate.get("koordinaten", address.get("koordinaten"))
        return address, coordinates if isinstance(coordinates, dict) else {}
    return {}, {}


def _professions(item: dict[str, object]) -> tuple[str, ...]:
    names: list[object] = [item.get("hauptberuf"), item.get("beruf")]
    for key in ("alleBerufe", "berufe"):
        value = item.get(key)
        if isinstance(value, list):
            names.extend(value[: PROFESSIONS_MAX * 2])
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        text = plain_text(name, PROFESSION_MAX)
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            kept.append(text)
    return tuple(kept[:PROFESSIONS_MAX])


def parse_listing(item: object) -> BaListing | tuple[str | None, Defect]:
    """One item of the list, in either shape: a listing, or (its ref if known, what was wrong)."""
    if not isinstance(item, dict):
        return None, Defect.NOT_AN_OBJECT
    ref = _ref(_first(item, "refnr", "referenznummer"))
    if ref is None:
        return None, Defect.MISSING_REF
    if not _REF.match(ref):
        return None, Defect.BAD_REF  # never echoed: it may be anything
    title = plain_text(_first(item, "titel", "stellenangebotsTitel", "stellenangebotstitel"), TITLE_MAX)
    if not title:
        return ref, Defect.MISSING_TITLE
    employer = plain_text(_first(item, "arbeitgeber", "firma"), EMPLOYER_MAX)
    if not employer:
        return ref, Defect.MISSING_EMPLOYER
    address, coordinates = _location(item)
    lat = _coordinate(_first(coordinates, "lat", "breite"), 90)
    lon = _coordinate(_first(coordinates, "lon", "laenge"), 180)
    return BaListing(
        ref=ref, title=title, employer=employer,
        plz=_plz(address.get("plz")),
        place=plain_text(address.get("ort"), PLACE_MAX) or None,
        start=_day(item.get("eintrittsdatum")),
        published=_day(_first(item, "aktuelleVeroeffentlichungsdatum", "datumErsteVeroeffentlichung")),
        professions=_professions(item),
        external_url=_https(_first(item, "externeUrl", "externeURL")),
        lat=lat if lat is not None and lon is not None else None,
        lon=lon if lat is not None and lon is not None else None,
    )


def _total(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,12}\s*", value):
        return int(value)
    return None


def _key_names(payload: dict[object, object]) -> str:
    names = sorted(repr(str(key)[:40]) for key in list(payload)[:50])
    return ", ".join(names[:20]) + (", …" if len(names) > 20 else "") if names else "none"


def parse_page(payload: object) -> BaPage:
    """One response of the job search, v4 or v6 shaped; raises BaShapeError if it has no list of offers."""
    if not isinstance(payload, dict):
        raise BaShapeError(f"the job search answered a {type(payload).__name__}, not an object")
    total = _total(payload.get("maxErgebnisse"))
    shape: Literal["v4", "v6"]
    if isinstance(payload.get("ergebnisliste"), list):
        shape, items = "v6", payload["ergebnisliste"]
    elif isinstance(payload.get("stellenangebote"), list):
        shape, items = "v4", payload["stellenangebote"]
    elif total == 0 and all(payload.get(key) is None for key in ("ergebnisliste", "stellenangebote")):
        # no offers: the BA leaves the list out (v4 sends maxErgebnisse as a string, v6 as a number)
        shape, items = ("v4" if isinstance(payload.get("maxErgebnisse"), str) else "v6"), []
    else:
        raise BaShapeError("neither 'stellenangebote' nor 'ergebnisliste' is a list; top-level keys: "
                           + _key_names(payload))
    listings: list[BaListing] = []
    defects: list[tuple[str | None, Defect]] = []
    duplicates: list[str] = []
    seen: set[str] = set()
    for item in items:
        parsed = parse_listing(item)
        if isinstance(parsed, tuple):
            defects.append(parsed)
        elif parsed.ref in seen:
            duplicates.append(parsed.ref)
        else:
            seen.add(parsed.ref)
            listings.append(parsed)
    return BaPage(shape=shape, listings=listings, defects=defects, total=total, duplicates=duplicates)
