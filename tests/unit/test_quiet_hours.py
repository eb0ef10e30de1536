"""Quiet hours: nothing proactive at night in Berlin; a message waits until the window ends."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.delivery.quiet_hours import QuietHours, parse_window

QUIET = QuietHours.parse()  # 21:00-07:00 minors, 22:00-07:00 everyone else, Europe/Berlin


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("at", "minor", "until"), [
    (utc(2027, 5, 10, 18, 59), True, None),  # 20:59 CEST: still fine
    (utc(2027, 5, 10, 19, 0), True, utc(2027, 5, 11, 5, 0)),  # 21:00 -> 07:00 next morning
    (utc(2027, 5, 10, 19, 30), False, None),  # 21:30: adults still get messages
    (utc(2027, 5, 10, 20, 0), False, utc(2027, 5, 11, 5, 0)),  # 22:00 -> 07:00
    (utc(2027, 5, 11, 4, 59), True, utc(2027, 5, 11, 5, 0)),  # 06:59 after midnight -> 07:00 same day
    (utc(2027, 5, 11, 5, 0), True, None),  # 07:00 exactly: allowed
    (utc(2027, 1, 10, 20, 15), True, utc(2027, 1, 11, 6, 0)),  # winter: 21:15 CET -> 07:00 CET
])
def test_windows_crossing_midnight(at: datetime, minor: bool, until: datetime | None) -> None:
    assert QUIET.next_allowed(at, minor) == until


def test_spring_forward_night_is_an_hour_shorter() -> None:
    # 27/28 March 2027: 02:00 CET jumps to 03:00 CEST.
    assert QUIET.next_allowed(utc(2027, 3, 27, 20, 30), True) == utc(2027, 3, 28, 5, 0)  # 21:30 CET -> 07:00 CEST
    assert QUIET.next_allowed(utc(2027, 3, 28, 1, 30), False) == utc(2027, 3, 28, 5, 0)  # 03:30 CEST
    assert QUIET.next_allowed(utc(2027, 3, 28, 5, 0), True) is None


def test_fall_back_night_is_an_hour_longer() -> None:
    # 30/31 October 2027: 03:00 CEST goes back to 02:00 CET; 02:00-03:00 happens twice.
    assert QUIET.next_allowed(utc(2027, 10, 30, 20, 0), False) == utc(2027, 10, 31, 6, 0)  # 22:00 CEST -> 07:00 CET
    assert QUIET.next_allowed(utc(2027, 10, 31, 0, 30), True) == utc(2027, 10, 31, 6, 0)  # 02:30 CEST
    assert QUIET.next_allowed(utc(2027, 10, 31, 1, 30), True) == utc(2027, 10, 31, 6, 0)  # 02:30 CET
    assert QUIET.next_allowed(utc(2027, 10, 31, 6, 0), False) is None


def test_a_window_ending_in_the_skipped_or_repeated_hour() -> None:
    late = QuietHours.parse("22:00-02:30", "22:00-02:30")
    # 02:30 does not exist on 28 March: quiet ends when the clock jumps (03:00 CEST = 01:00 UTC).
    assert late.next_allowed(utc(2027, 3, 27, 23, 0), True) == utc(2027, 3, 28, 1, 0)
    # 02:30 exists twice on 31 October: the first pass ends it; in the second pass it is quiet
    # again (02:10 CET) until the clock shows 02:30 once more.
    assert late.next_allowed(utc(2027, 10, 31, 0, 10), True) == utc(2027, 10, 31, 0, 30)
    assert late.next_allowed(utc(2027, 10, 31, 1, 10), True) == utc(2027, 10, 31, 1, 30)


@pytest.mark.parametrize("day", [utc(2027, 3, 27, 12), utc(2027, 10, 30, 12), utc(2027, 6, 1, 12)])
@pytest.mark.parametrize("windows", [("21:00-07:00", "22:00-07:00"), ("23:30-01:15", "12:00-14:00")])
def test_deferral_is_the_first_allowed_instant_never_a_drop(day: datetime, windows: tuple[str, str]) -> None:
    quiet = QuietHours.parse(*windows)
    for step in range(0, 48 * 60, 7):  # every 7 minutes over two days around the clock change
        at = day + timedelta(minutes=step)
        for minor in (True, False):
            until = quiet.next_allowed(at, minor)
            if until is None:
                continue
            assert until > at
            assert quiet.next_allowed(until, minor) is None  # allowed then
            assert quiet.next_allowed(until - timedelta(seconds=1), minor) is not None  # not earlier
            assert until - at <= timedelta(hours=11)  # the longest window plus the extra autumn hour


def test_off_means_no_quiet_hours() -> None:
    quiet = QuietHours.parse("21:00-07:00", "off")
    assert quiet.next_allowed(utc(2027, 5, 10, 23, 0), False) is None
    assert quiet.next_allowed(utc(2027, 5, 10, 23, 0), True) is not None


@pytest.mark.parametrize("text", ["21:00", "25:00-07:00", "21:00-07:60", "21-7", "21:00-21:00", "", "nachts"])
def test_malformed_windows_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_window(text)


def test_window_text_is_normalised() -> None:
    assert str(parse_window(" 9:30 - 11:00 ")) == "09:30-11:00"
    assert parse_window("OFF") is None
