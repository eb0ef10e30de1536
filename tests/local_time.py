"""Time zones that make "now" a chosen hour of the day, for the real processes the tests start.

The bot's quiet hours follow `TIMEZONE`. A test of daytime behaviour gives its `lotse` process a
zone where it is now about noon; a test of night behaviour one where it is about 23:00. So every
test sees the same hour whenever the suite runs (CI may run at 3 a.m.), with no fake clock inside
the process under test.
"""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def zone_where_it_is(hour: int, now: datetime | None = None) -> str:
    """An `Etc/GMT±k` zone in which the current local hour is `hour` (0-23)."""
    utc_hour = (now or datetime.now(UTC)).astimezone(UTC).hour
    offset = (hour - utc_hour + 36) % 24 - 12  # -12..11 hours east of UTC
    if offset == 0:
        return "Etc/UTC"
    return f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-2 is two hours *east* of UTC


def local_now(zone: str) -> datetime:
    return datetime.now(ZoneInfo(zone))


NOON = 12
LATE_EVENING = 23
