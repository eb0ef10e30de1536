"""Rules for editing content in the web cockpit, and how cockpit edits and the YAML pack live together.

Every content row of the kinds the cockpit edits (events, offers = vacancies, companies) has an
origin and a set of overrides (storage/tables.py):

    origin "pack"     created by a content load. The cockpit may edit it: the fields it changed are
                      recorded in `overrides` (field -> value as stored). A later load applies the pack
                      entry and then the overrides on top, so the agent's edit survives and the pack's
                      edits of other fields still arrive. Fields that only make sense together are
                      recorded together (GROUPS: a new time is start and end, a new venue is place,
                      PLZ and address), so a load never mixes the cockpit's town with the pack's street.
    origin "cockpit"  created in the cockpit. A load never changes or archives it, even if the pack
                      has an entry with the same slug (reported as kept).

A load never archives a row that is not in the pack if it was created or edited in the cockpit; the
cockpit's "archive" is itself an override (ARCHIVED), so a load does not bring such a row back either.
Everything a load left alone because of the cockpit is reported as "kept, edited in the cockpit".
`lotse content export DIR` writes the content as it is (pack + cockpit edits) as a pack; loading that
pack changes nothing. `lotse content load DIR --adopt` hands rows back to the pack where the pack now
says exactly what the cockpit says (nothing is lost by that; rows where they differ stay the cockpit's).

This module is pure: no storage, no pydantic models of the pack (storage/content_edits.py applies it).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Kind = Literal["events", "vacancies", "companies"]
PACK, COCKPIT = "pack", "cockpit"  # origins
ARCHIVED = "archived"  # the overrides key of a row archived in the cockpit (no pack field has this name)

KINDS: tuple[Kind, ...] = ("events", "vacancies", "companies")
FILES: dict[Kind, str] = {kind: f"{kind}.yaml" for kind in KINDS}  # the pack file of each kind
SUBJECTS: dict[Kind, str] = {"events": "event", "vacancies": "offer", "companies": "company"}

# What an agent may change. Not the slug (users' RSVPs, marks and leads refer to it), not the cluster,
# not a company's e-mail address or webhook (where leads with personal data go: the operators' pack),
# nor whether a company is a fictitious example.
EDITABLE: dict[Kind, frozenset[str]] = {
    "events": frozenset({"title", "format", "starts", "ends", "place", "plz", "address", "audience", "description",
                         "companies", "professions", "cancelled", "pupils_only", "registration_url"}),
    "vacancies": frozenset({"company", "profession", "kind", "title", "start", "published", "plz", "place",
                            "places", "school_expectation", "berufsschule", "description", "pupils_only"}),
    "companies": frozenset({"name", "plz", "place", "description", "size", "website", "professions"}),
}
MOVE_FIELDS = ("starts", "ends", "place", "plz", "address")  # what "move an event" may change
GROUPS: dict[Kind, tuple[tuple[str, ...], ...]] = {
    "events": (("starts", "ends"), ("place", "plz", "address")),
    "vacancies": (("plz", "place"),),
    "companies": (("plz", "place"),),
}


# ---- input -------------------------------------------------------------------------------------------

def clean(value: Any) -> Any:
    """Form input as the pack would have it: text stripped, empty text and empty mappings mean "not
    given" (None), empty list items dropped."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping):
        inner = {str(k): clean(v) for k, v in value.items()}
        return {k: v for k, v in inner.items() if v is not None} or None
    if isinstance(value, (list, tuple)):
        return [item for item in (clean(v) for v in value) if item is not None]
    return value


def apply_changes(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The entry with the changes applied; a change to None removes the field (its default applies)."""
    entry = dict(current)
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entry


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


def override_fields(kind: Kind, changed: Iterable[str]) -> set[str]:
    """The changed fields plus the fields that belong with them (GROUPS)."""
    fields = set(changed)
    for group in GROUPS[kind]:
        if fields & set(group):
            fields |= set(group)
    return fields


def with_overrides(pack_entry: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """What a load makes of a pack entry whose row the cockpit edited: the pack, then the cockpit's fields."""
    return {**pack_entry, **{k: v for k, v in overrides.items() if k != ARCHIVED}}


def is_held(origin: str, overrides: Mapping[str, Any]) -> bool:
    """True if a load must not archive the row (created or edited in the cockpit)."""
    return origin == COCKPIT or bool(overrides)


# ---- slugs -------------------------------------------------------------------------------------------

SLUG_MAX = 48
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


def slug_for(title: str, suffix: str, taken: Callable[[str], bool]) -> str:
    """A pack slug for a new entry: its title (and e.g. a date), unique among all rows, archived too."""
    ascii_title = unicodedata.normalize("NFKD", title.translate(_UMLAUTS)).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "eintrag"
    tail = f"-{suffix}" if suffix else ""
    room = SLUG_MAX - len(tail) - 3  # and "-99"
    if len(words) > room:  # shortened at a word's end where there is one
        cut = words[:room]
        words = cut[:cut.rindex("-")] if words[room] != "-" and "-" in cut else cut
    base = words.rstrip("-") + tail
    if len(base) < 2:
        base = f"eintrag{tail}"
    slug, n = base, 2
    while taken(slug):
        slug, n = f"{base}-{n}", n + 1
    return slug


# ---- validation errors -------------------------------------------------------------------------------

class ProblemLike(Protocol):
    """content.loader.Problem as far as this module needs it."""

    @property
    def file(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def code(self) -> str: ...


@dataclass(frozen=True)
class FieldError:
    """One reason an input was refused. `field` is the form field ("starts", "berufsschule.plz"; "" for
    the whole entry); `code` is short and stable (the cockpit shows prompts' content_edit.error.<code>);
    `detail` is the content pack's own message (English, for logs and the operators)."""

    field: str
    code: str
    detail: str = ""


# pydantic's error types and the pack checks' codes -> the reasons the cockpit explains
_CODES: dict[str, str] = {
    "missing": "required", "string_too_short": "required", "too_short": "required",
    "extra_forbidden": "not_editable",
    "date_parsing": "invalid_date", "date_from_datetime_parsing": "invalid_date",
    "date_from_datetime_inexact": "invalid_date", "date_type": "invalid_date",
    "datetime_parsing": "invalid_datetime", "datetime_from_date_parsing": "invalid_datetime",
    "datetime_type": "invalid_datetime", "datetime_object_invalid": "invalid_datetime",
    "int_parsing": "invalid_number", "int_type": "invalid_number", "int_from_float": "invalid_number",
    "greater_than": "out_of_range", "greater_than_equal": "out_of_range", "less_than_equal": "out_of_range",
    "literal_error": "invalid_choice", "enum": "invalid_choice", "bool_parsing": "invalid_choice",
    "bool_type": "invalid_choice", "list_type": "invalid_choice", "string_type": "invalid_choice",
    "unknown_plz": "unknown_plz", "place_not_at_plz": "place_not_at_plz", "plz_several_places": "plz_several_places",
    "unknown_ref": "unknown_ref", "profession_not_listed": "profession_not_listed", "duplicate_slug": "duplicate_slug",
}
_VALUE_ERRORS: tuple[tuple[str, str], ...] = (  # value errors of content/schema.py, by their message
    ("ends before starts", "ends_before_starts"), ("ends when it starts", "ends_before_starts"),
    ("published after start", "published_after_start"), ("clock change", "clock_change"),
    ("e-mail address", "invalid_email"), ("URL", "invalid_url"), ("Beispielbetrieb", "example_description"),
    ("postal code in quotes", "unknown_plz"),
)
CODES: frozenset[str] = frozenset(
    {*_CODES.values(), *(code for _, code in _VALUE_ERRORS), "invalid", "invalid_url", "invalid_slug",
     "profession_in_use"})


def reason(code: str, message: str, path: str = "") -> str:
    if code == "string_pattern_mismatch":
        return "invalid_slug" if path.endswith("slug") else "invalid_url"
    if code == "value_error":
        return next((ours for needle, ours in _VALUE_ERRORS if needle in message), "invalid")
    return _CODES.get(code, "invalid")


def _field(path: str) -> str:
    """"[3].berufsschule.plz" -> "berufsschule.plz"; "[3].companies[1]" -> "companies"; "[3]" -> ""."""
    rest = re.sub(r"^\[\d+\]\.?", "", path)
    return re.sub(r"\[\d+\]", "", rest).split("[")[0]


def field_errors(problems: Iterable[ProblemLike], file: str, index: int,
                 known: Iterable[ProblemLike] = ()) -> list[FieldError]:
    """The problems of one edited entry (file, position) as form errors. Problems elsewhere that the
    edit caused (not among `known`, the problems before the edit) become errors of the whole entry;
    a company's profession still offered by one of its offers is named as such."""
    before = {(p.file, p.path, p.message) for p in known}
    own = f"[{index}]"
    errors: list[FieldError] = []
    for p in problems:
        if p.file == file and (p.path == own or p.path.startswith(own + ".") or p.path.startswith(own + "[")):
            errors.append(FieldError(_field(p.path), reason(p.code, p.message, p.path), p.message))
        elif (p.file, p.path, p.message) not in before:
            if file == FILES["companies"] and p.code == "profession_not_listed":
                errors.append(FieldError("professions", "profession_in_use", f"{p.file}: {p.path}: {p.message}"))
            else:
                errors.append(FieldError("", reason(p.code, p.message, p.path), f"{p.file}: {p.path}: {p.message}"))
    return errors


# ---- RSVPs as an agent sees them ---------------------------------------------------------------------

@dataclass(frozen=True)
class RsvpPerson:
    """What the bot knows of someone who asked to be reminded of an event (no names: the bot asks for
    none, and no chat ids: agents reach people only through announcements)."""

    role: str | None  # teen, parent, ...
    age_band: str | None
    offsets: tuple[str, ...]  # reminder choice: "7d", "1d", "2h"; empty = no reminders, just noted


@dataclass(frozen=True)
class RsvpSummary:
    """The RSVPs of one event as numbers per group. Not a list of people: every row of such a list
    would tell the agent a count below 5 of minors (the cockpit shows those as "< 5") and, in a small
    town, who someone is; what an agent plans with (how many, teens or parents, how old, how many get a
    reminder) is all here."""

    count: int
    roles: dict[str, int] = field(default_factory=dict)  # "unknown" for no role
    age_bands: dict[str, int] = field(default_factory=dict)  # "unknown" for no age band
    reminders: dict[str, int] = field(default_factory=dict)  # offset -> people; "none" = no reminder

    @classmethod
    def of(cls, people: Iterable[RsvpPerson]) -> RsvpSummary:
        roles: dict[str, int] = {}
        bands: dict[str, int] = {}
        reminders: dict[str, int] = {}
        count = 0
        for person in people:
            count += 1
            roles[person.role or "unknown"] = roles.get(person.role or "unknown", 0) + 1
            bands[person.age_band or "unknown"] = bands.get(person.age_band or "unknown", 0) + 1
            for offset in person.offsets or ("none",):
                reminders[offset] = reminders.get(offset, 0) + 1
        return cls(count=count, roles=dict(sorted(roles.items())), age_bands=dict(sorted(bands.items())),
                   reminders=dict(sorted(reminders.items())))
