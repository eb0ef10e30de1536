"""Quiet hours: no proactive message at night in the user's local time; it waits until morning.

A window is a local wall-clock span such as 21:00-07:00 (it may cross midnight). An instant is
quiet when its local time lies in [start, end). The next allowed instant is the first one whose
local time is the window's end; on the spring-forward day an end inside the skipped hour becomes
the moment the clock jumps, on the autumn day an end inside the repeated hour its first occurrence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OFF = "off"
DEFAULT_MINORS = "21:00-07:00"
DEFAULT_ADULTS = "22:00-07:00"
_WINDOW_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class QuietWindow:
    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("start and end must differ")

    @property
    def crosses_midnight(self) -> bool:
        return self.start > self.end

    def contains(self, wall: time) -> bool:
        if self.crosses_midnight:
            return wall >= self.start or wall < self.end
        return self.start <= wall < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_window(text: str) -> QuietWindow | None:
    """"21:00-07:00" -> a window; "off" -> None. Raises ValueError with a readable message."""
    text = text.strip()
    if text.lower() == OFF:
        return None
    match = _WINDOW_RE.fullmatch(text)
    if not match:
        raise ValueError("must look like 21:00-07:00 (local time, HH:MM-HH:MM) or off")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (h1, m1) == (h2, m2):
        raise ValueError("must have different start and end, e.g. 21:00-07:00")
    return QuietWindow(time(h1, m1), time(h2, m2))


def _first_instant_at(day: date, wall: time, zone: ZoneInfo, after: datetime) -> datetime:
    """The first UTC instant after `after` at which the local clock on `day` reaches `wall`."""
    naive = datetime.combine(day, wall)
    readings = sorted({naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)})
    real = [r for r in readings if r.astimezone(zone).replace(tzinfo=None) == naive]
    if real:  # one reading, or two in the repeated autumn hour: the first one still ahead
        ahead = [r for r in real if r > after]
        return ahead[0] if ahead else real[-1]
    # `wall` lies in the spring-forward gap: the answer is the jump itself, between the two
    # readings. Halve the span (an hour at most) until it is a second; 64 rounds bound the loop.
    low, high = readings[0], readings[-1]
    for _ in range(64):
        if high - low <= timedelta(seconds=1):
            break
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def quiet_until(at: datetime, window: QuietWindow | None, zone: ZoneInfo) -> datetime | None:
    """None if `at` is outside the window; else the next instant (UTC) outside it."""
    if window is None:
        return None
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    local = at.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if not window.contains(wall):
        return None
    end_day = local.date()
    if window.crosses_midnight and wall >= window.start:
        end_day += timedelta(days=1)
    return _first_instant_at(end_day, window.end, zone, at)


@dataclass(frozen=True)
class QuietHours:
    """The configured windows: minors and everyone else, in one time zone."""

    minors: QuietWindow | None
    adults: QuietWindow | None
    zone: ZoneInfo

    @classmethod
    def parse(cls, minors: str = DEFAULT_MINORS, adults: str = DEFAULT_ADULTS,
              timezone: str = "Europe/Berlin") -> QuietHours:
        return cls(parse_window(minors), parse_window(adults), ZoneInfo(timezone))

    def next_allowed(self, at: datetime, minor: bool) -> datetime | None:
        """None if a message may go out at `at`; else when it may."""
        return quiet_until(at, self.minors if minor else self.adults, self.zone)
