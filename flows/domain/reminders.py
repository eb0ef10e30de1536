"""When the proactive messages about an event are due: reminders before it, "Wie war's?" after it.

Pure functions over UTC instants; the outbox stores and sends what is planned here. Rules:

- Offsets are codes: `7d` (calendar days), `2h` (hours), `30m` (minutes). "N days before" is the
  same local wall-clock time N days earlier, so across a clock change it is 23 or 25 hours away per
  day; hours and minutes are exact elapsed time.
- A day offset that lands in the spring-forward gap is moved forward by the gap (02:30 -> 03:30);
  an ambiguous autumn time takes its first occurrence (summer time), as RFC 5545 does.
- Reminders already due before `now` are skipped, never sent late; each expires at the start.
- "Wie war's?" goes out 2 hours after the end, but only between 10:00 and 21:00 local: later
  than that waits for 10:00 next morning, earlier (a night event) waits for 10:00 the same day.
  21:00 rather than 22:00 because quiet hours for minors start at 21:00 and would otherwise push
  the question to 07:00, before school.
- Idempotency keys carry the event time they were computed from, so a moved event gets new keys:
  cancel the old plan's keys that are not in the new plan, enqueue the rest (`replan`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal, cast
from zoneinfo import ZoneInfo

REMINDER = "reminder"
FEEDBACK = "feedback"

OFFSET_MENU: tuple[str, ...] = ("7d", "3d", "1d", "2h", "30m")  # what the settings screen offers
DEFAULT_OFFSETS: tuple[str, ...] = ("7d", "1d", "2h")
OFF = "off"  # stored form of "reminders switched off"
MAX_OFFSET = timedelta(days=30)  # nobody wants a reminder a month ahead; catches typos like 70d

FEEDBACK_DELAY = timedelta(hours=2)
FEEDBACK_EARLIEST = time(10, 0)
FEEDBACK_LATEST = time(21, 0)  # exclusive
FEEDBACK_VALID = timedelta(days=7)  # after a week "Wie war's?" is stale; the outbox may drop it

Unit = Literal["d", "h", "m"]
_CODE_RE = re.compile(r"([1-9][0-9]{0,3})([dhm])")
_KIND_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")
_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,47}")  # content pack slugs
_UNIT_DELTA: dict[str, timedelta] = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


@dataclass(frozen=True)
class Offset:
    amount: int
    unit: Unit

    @property
    def code(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def nominal(self) -> timedelta:
        """Length ignoring clock changes: for ordering and bounds only, not for scheduling."""
        return self.amount * _UNIT_DELTA[self.unit]

    def due(self, starts_utc: datetime, zone: ZoneInfo) -> datetime:
        if self.unit != "d":
            return starts_utc - self.nominal
        wall = starts_utc.astimezone(zone).replace(tzinfo=None) - timedelta(days=self.amount)
        # fold=0 gives the first of two ambiguous times; for a time in the gap it applies the
        # offset before the gap, which lands the same distance after the gap (02:30 -> 03:30).
        return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class Planned:
    """One message for the outbox."""

    key: str
    kind: str
    offset: str | None  # offset code for reminders, None for feedback
    due_utc: datetime
    expires_utc: datetime  # do not send at or after this instant


@dataclass(frozen=True)
class Replan:
    cancel: tuple[str, ...]  # keys to drop if still pending (sent ones stay as they are)
    enqueue: tuple[Planned, ...]


def parse_offset(code: str) -> Offset:
    """Strict, so that one reminder has one code (and one idempotency key)."""
    match = _CODE_RE.fullmatch(code)
    if not match:
        raise ValueError(f"invalid reminder offset {code!r}: use e.g. 7d, 2h or 30m")
    amount, unit = int(match[1]), match[2]
    if unit == "m" and amount % 60 == 0:
        raise ValueError(f"invalid reminder offset {code!r}: write {amount // 60}h")
    offset = Offset(amount, cast(Unit, unit))
    if offset.nominal > MAX_OFFSET:
        raise ValueError(f"invalid reminder offset {code!r}: at most {MAX_OFFSET.days} days")
    return offset


def normalize_offsets(codes: Iterable[str], menu: Iterable[str] | None = OFFSET_MENU) -> tuple[str, ...]:
    """Validated, deduplicated, longest first; `menu=None` accepts any valid code."""
    allowed = None if menu is None else set(menu)
    offsets = {parse_offset(code) for code in codes}
    if allowed is not None:
        outside = sorted(o.code for o in offsets if o.code not in allowed)
        if outside:
            raise ValueError(f"reminder offsets not offered: {', '.join(outside)}")
    return tuple(o.code for o in sorted(offsets, key=lambda o: (o.nominal, o.unit), reverse=True))


def parse_offsets(text: str, menu: Iterable[str] | None = OFFSET_MENU) -> tuple[str, ...]:
    """Stored form -> codes: "7d,1d,2h"; "off" (or empty) means switched off, i.e. ()."""
    text = text.strip()
    if text in ("", OFF):
        return ()
    return normalize_offsets((part.strip() for part in text.split(",")), menu)


def format_offsets(codes: Iterable[str], menu: Iterable[str] | None = OFFSET_MENU) -> str:
    return ",".join(normalize_offsets(codes, menu)) or OFF


def toggle_offset(codes: Iterable[str], code: str, menu: Iterable[str] | None = OFFSET_MENU) -> tuple[str, ...]:
    """For the settings buttons: add the offset if missing, remove it if present."""
    current = set(normalize_offsets(codes, menu))
    current ^= {normalize_offsets([code], menu)[0]}
    return normalize_offsets(current, menu)


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def reminder_times(
    starts_utc: datetime,
    offsets: Iterable[str],
    tz: str = "Europe/Berlin",
    *,
    now: datetime | None,
) -> list[tuple[str, datetime]]:
    """(offset code, due instant in UTC), earliest first; due before `now` is left out.

    `now=None` keeps past ones too: that is the full set of keys an earlier plan may have enqueued.
    """
    starts = _utc(starts_utc, "starts_utc")
    cutoff = None if now is None else _utc(now, "now")
    zone = ZoneInfo(tz)
    times = [(o.code, o.due(starts, zone)) for o in map(parse_offset, normalize_offsets(offsets, None))]
    return sorted(
        ((code, due) for code, due in times if cutoff is None or due >= cutoff),
        key=lambda item: (item[1], item[0]),
    )


def feedback_time(ends_utc: datetime, tz: str = "Europe/Berlin") -> datetime:
    """The first instant at least FEEDBACK_DELAY after the end that lies in the daytime window."""
    zone = ZoneInfo(tz)
    local = (_utc(ends_utc, "ends_utc") + FEEDBACK_DELAY).astimezone(zone)
    if FEEDBACK_EARLIEST <= local.time() < FEEDBACK_LATEST:
        return local.astimezone(UTC)
    day = local.date() + timedelta(days=1) if local.time() >= FEEDBACK_LATEST else local.date()
    # 10:00 never falls in a clock change (those are at 02:00/03:00), so no fold question here.
    return datetime.combine(day, FEEDBACK_EARLIEST, tzinfo=zone).astimezone(UTC)


def idempotency_key(kind: str, user_id: int, event_slug: str, offset_code: str | None, anchor_utc: datetime) -> str:
    """E.g. `reminder:42:karrieretage-loebau:7d:20270404T080000Z`.

    `anchor_utc` is the event time the message was computed from (start for reminders, end for
    feedback), so moving the event gives new keys. No part can contain ':' so keys never collide.
    """
    if not _KIND_RE.fullmatch(kind):
        raise ValueError(f"invalid kind {kind!r}")
    if not _SLUG_RE.fullmatch(event_slug):
        raise ValueError(f"invalid event slug {event_slug!r}")
    parts = [kind, str(int(user_id)), event_slug]
    if offset_code is not None:
        parts.append(parse_offset(offset_code).code)
    parts.append(f"{_utc(anchor_utc, 'anchor_utc'):%Y%m%dT%H%M%SZ}")
    return ":".join(parts)


def plan_event(
    user_id: int,
    event_slug: str,
    starts_utc: datetime,
    ends_utc: datetime,
    offsets: Iterable[str],
    *,
    now: datetime | None,
    tz: str = "Europe/Berlin",
    feedback: bool = True,
) -> list[Planned]:
    """Every proactive message for one RSVP, earliest first. Cancelled event or no RSVP: plan nothing."""
    starts, ends = _utc(starts_utc, "starts_utc"), _utc(ends_utc, "ends_utc")
    plan = [
        Planned(idempotency_key(REMINDER, user_id, event_slug, code, starts), REMINDER, code, due, starts)
        for code, due in reminder_times(starts, offsets, tz, now=now)
    ]
    if feedback:
        due = feedback_time(ends, tz)
        if now is None or due >= _utc(now, "now"):
            key = idempotency_key(FEEDBACK, user_id, event_slug, None, ends)
            plan.append(Planned(key, FEEDBACK, None, due, due + FEEDBACK_VALID))
    return sorted(plan, key=lambda p: (p.due_utc, p.key))


def replan(old: Iterable[Planned], new: Iterable[Planned]) -> Replan:
    """What to change in the outbox when the event moved or the user changed their offsets.

    Compute `old` with `now=None` (every key it may have enqueued) and `new` with the real `now`.
    Keys in both stay untouched, so an unchanged reminder is never sent twice.
    """
    old_keys = {p.key for p in old}
    new_list = list(new)
    new_keys = {p.key for p in new_list}
    return Replan(
        cancel=tuple(sorted(old_keys - new_keys)),
        enqueue=tuple(p for p in new_list if p.key not in old_keys),
    )
