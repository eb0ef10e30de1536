"""Tracked links: a deep link `/start <cluster>_<source>` per poster, fair stand, school or event, and its
QR code. The source names where someone first came from; the cockpit's funnel counts users by it.

A source is a readable slug made from the link's label ("Plakat Gymnasium Löbau" ->
"plakat-gymnasium-loebau"), unique within its cluster (two clusters may use the same one), and short
enough that the whole start parameter stays within Telegram's 64 characters."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flows.domain.deeplink import PART_RE, make_payload

LABEL_MAX = 120  # tracked_links.label
TARGET_MAX = 64  # tracked_links.target
SOURCE_MAX = 40  # readable on a poster; the cluster may shorten it further (64 characters in all)
PAYLOAD_MAX = 64  # Telegram's limit for a start parameter
FALLBACK_SOURCE = "link"  # a label without a single letter or digit of the Latin alphabet
BOT_USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{5,32}$")

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ẞ": "SS"})
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})


class LinkKind(StrEnum):
    EVENT = "event"
    STAND = "stand"  # a fair stand
    POSTER = "poster"
    SCHOOL = "school"
    OTHER = "other"


@dataclass(frozen=True)
class TrackedLink:
    """A row of tracked_links (storage/tables_cockpit.py TrackedLinkRow), typed."""

    id: int
    cluster: str
    source: str
    kind: LinkKind
    label: str
    target: str | None  # what it points at, e.g. "event:<slug>"
    created_by: str  # "telegram:<chat id>"
    created_at: datetime
    archived_at: datetime | None = None

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def payload(self) -> str:
        """The start parameter: `<cluster>_<source>`."""
        return make_payload(self.cluster, self.source)


def validate_label(label: str) -> str:
    """The label as stored: trimmed (NFC), 1..120 characters, one line without control characters.
    Raises ValueError("empty" | "too_long" | "control_character")."""
    text = unicodedata.normalize("NFC", label).strip()
    if not text:
        raise ValueError("empty")
    if len(text) > LABEL_MAX:
        raise ValueError("too_long")
    if any(ch in _BIDI_CONTROLS or unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in text):
        raise ValueError("control_character")
    return text


def validate_target(target: str | None) -> str | None:
    """Empty means none; otherwise at most 64 characters of one line. Raises ValueError("target")."""
    if target is None or not target.strip():
        return None
    text = target.strip()
    if len(text) > TARGET_MAX or any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in text):
        raise ValueError("target")
    return text


def source_room(cluster: str | None) -> int:
    """How long a source of this cluster may be: `<cluster>_<source>` within 64 characters."""
    return min(SOURCE_MAX, PAYLOAD_MAX - len(cluster or "") - 1)


def slugify(label: str) -> str:
    """Lower-case a-z 0-9 and single hyphens: German umlauts and ß spelled out, other accents dropped."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFC", label).translate(_GERMAN))
    ascii_text = text.encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_SLUG.sub("-", ascii_text).strip("-")


def _cut(slug: str, length: int) -> str:
    """At most `length` characters, preferably at a hyphen (whole words), never ending in one."""
    if len(slug) <= length:
        return slug
    cut = slug[:length]
    if slug[length] != "-" and "-" in cut and cut.rindex("-") >= length // 2:
        cut = cut[:cut.rindex("-")]
    return cut.rstrip("-")


def source_from_label(label: str, taken: Set[str], cluster: str | None = None) -> str:
    """A readable source for a new link of `cluster`, not in `taken` (the cluster's sources so far:
    archived links and sources of earlier links included): the label's slug, then "-2", "-3" … .
    Without `cluster`, the result fits clusters of up to 23 characters; pass it to be sure."""
    if cluster is not None and not PART_RE.match(cluster):
        raise ValueError("cluster")
    room = source_room(cluster)  # 15..40 for any valid cluster
    base = _cut(slugify(label), room) or FALLBACK_SOURCE[:room]
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        if len(suffix) >= room:
            raise ValueError("taken")
        candidate = _cut(base, room - len(suffix)) + suffix
        if PART_RE.match(candidate) and candidate not in taken:
            return candidate
        number += 1


def start_url(bot_username: str, cluster: str, source: str | None = None) -> str:
    """`https://t.me/<bot>?start=<cluster>_<source>`: what the QR code holds. The username may be given
    with its "@". Raises ValueError("bot_username" | "cluster" | "source" | the payload's reason)."""
    username = bot_username.removeprefix("@")
    if not BOT_USERNAME_RE.match(username):
        raise ValueError("bot_username")
    if not PART_RE.match(cluster):
        raise ValueError("cluster")
    if source is not None and not PART_RE.match(source):
        raise ValueError("source")
    return f"https://t.me/{username}?start={make_payload(cluster, source)}"
