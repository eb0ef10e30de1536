"""Reminder and feedback scheduling, above all across the 2027 clock changes (28 March, 31 October)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.domain.reminders import (
    DEFAULT_OFFSETS,
    FEEDBACK,
    FEEDBACK_VALID,
    OFFSET_MENU,
    REMINDER,
    feedback_time,
    format_offsets,
    idempotency_key,
    parse_offset,
    parse_offsets,
    plan_event,
    reminder_times,
    replan,
    toggle_offset,
)

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
D = timedelta(days=1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *,
          fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN, fold=fold)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def times(starts: datetime, offsets: tuple[str, ...] = DEFAULT_OFFSETS, now: datetime | None = None) -> dict[str, datetime]:
    return dict(reminder_times(starts, offsets, now=now))


# -- days keep the local wall-clock time ----------------------------------------------------------

def test_a_week_before_the_week_after_the_spring_change_is_the_same_local_time() -> None:
    starts = local(2027, 4, 4, 10)
    assert starts.astimezone(UTC) == utc(2027, 4, 4, 8)
    due = times(starts)
    assert due["7d"] == utc(2027, 3, 28, 8)  # 10:00 CEST on the day of the change (after it)
    assert due["1d"] == utc(2027, 4, 3, 8)
    assert due["2h"] == utc(2027, 4, 4, 6)


@pytest.mark.parametrize("day,gap", [(1, 6 * D + 23 * H), (3, 6 * D + 23 * H), (4, 7 * D), (5, 7 * D)])
def test_week_after_spring_change(day: int, gap: timedelta) -> None:
    starts = local(2027, 4, day, 10)
    due = times(starts, ("7d",))["7d"]
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2027, 4, day, 10) - 7 * D
    assert starts - due == gap


def test_event_on_spring_change_day() -> None:
    starts = local(2027, 3, 28, 10)  # the demo pack's event on 28 March
    due = times(starts)
    assert due["7d"] == utc(2027, 3, 21, 9)  # 10:00 CET
    assert due["1d"] == utc(2027, 3, 27, 9)  # 10:00 CET, only 23 hours earlier
    assert starts - due["1d"] == 23 * H
    assert due["2h"] == utc(2027, 3, 28, 6)  # 08:00 CEST


def test_event_on_autumn_change_day() -> None:
    starts = local(2027, 10, 31, 10)
    assert starts.astimezone(UTC) == utc(2027, 10, 31, 9)
    due = times(starts)
    assert due["7d"] == utc(2027, 10, 24, 8)  # 10:00 CEST
    assert starts - due["7d"] == 7 * D + H
    assert due["1d"] == utc(2027, 10, 30, 8)
    assert starts - due["1d"] == 25 * H
    assert due["2h"] == utc(2027, 10, 31, 7)  # 08:00 CET


@pytest.mark.parametrize("day,gap", [(3, 7 * D + H), (6, 7 * D + H), (7, 7 * D), (8, 7 * D)])
def test_week_after_autumn_change(day: int, gap: timedelta) -> None:
    starts = local(2027, 11, day, 10)
    due = times(starts, ("7d",))["7d"]
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2027, 11, day, 10) - 7 * D
    assert starts - due == gap


def test_day_offset_into_spring_gap_moves_forward() -> None:
    # 2027-03-28 02:30 does not exist in Berlin: the clocks jump from 02:00 to 03:00.
    due = times(local(2027, 4, 4, 2, 30), ("7d",))["7d"]
    assert due == utc(2027, 3, 28, 1, 30)
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2027, 3, 28, 3, 30)
    due = times(local(2027, 3, 29, 2, 15), ("1d",))["1d"]
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2027, 3, 28, 3, 15)


def test_day_offset_onto_ambiguous_autumn_time_takes_first_occurrence() -> None:
    # 2027-10-31 02:30 happens twice; the first one is still summer time (00:30 UTC).
    due = times(local(2027, 11, 7, 2, 30), ("7d",))["7d"]
    assert due == utc(2027, 10, 31, 0, 30)
    assert due.astimezone(BERLIN).utcoffset() == 2 * H
    # An event at the second 02:30 (01:30 UTC): one day earlier is an ordinary 02:30 CEST.
    second = local(2027, 10, 31, 2, 30, fold=1)
    assert second.astimezone(UTC) == utc(2027, 10, 31, 1, 30)
    assert times(second, ("1d",))["1d"] == utc(2027, 10, 30, 0, 30)


def test_day_offsets_keep_wall_time_for_every_hour_of_2027() -> None:
    for hour in range(365 * 24):
        starts = utc(2027, 1, 1) + hour * H
        wall = starts.astimezone(BERLIN).replace(tzinfo=None)
        for code, due in reminder_times(starts, ("7d", "3d", "1d"), now=None):
            expected = wall - int(code[:-1]) * D
            got = due.astimezone(BERLIN)
            shifted = expected.date() == datetime(2027, 3, 28).date() and expected.hour == 2  # the gap
            assert got.replace(tzinfo=None) == (expected + H if shifted else expected), (starts, code)
            assert got.fold == 0


# -- hours and minutes are elapsed time -----------------------------------------------------------

def test_hour_offsets_are_exact_across_spring_change() -> None:
    starts = local(2027, 3, 28, 4)  # 02:00 UTC
    due = times(starts, ("2h", "30m"))
    assert due["2h"] == utc(2027, 3, 28, 0) and due["30m"] == utc(2027, 3, 28, 1, 30)
    assert due["2h"].astimezone(BERLIN).hour == 1  # three wall-clock hours earlier


def test_hour_offsets_are_exact_across_autumn_change() -> None:
    starts = local(2027, 10, 31, 3, 30)  # 02:30 UTC, CET
    due = times(starts, ("2h",))["2h"]
    assert due == utc(2027, 10, 31, 0, 30)
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2027, 10, 31, 2, 30)  # first 02:30
    assert all(starts - d == o.nominal for c, d in reminder_times(starts, ("2h", "30m"), now=None)
               for o in [parse_offset(c)])


# -- past reminders, ordering ---------------------------------------------------------------------

def test_reminders_already_due_are_skipped() -> None:
    starts = local(2027, 4, 4, 10)
    assert [c for c, _ in reminder_times(starts, DEFAULT_OFFSETS, now=utc(2027, 3, 30))] == ["1d", "2h"]
    assert [c for c, _ in reminder_times(starts, DEFAULT_OFFSETS, now=utc(2027, 4, 4, 6))] == ["2h"]  # due now
    assert reminder_times(starts, DEFAULT_OFFSETS, now=utc(2027, 4, 4, 6, 0, 1)) == []
    assert reminder_times(starts, (), now=utc(2027, 1, 1)) == []  # switched off


def test_reminder_times_are_earliest_first_and_in_utc() -> None:
    result = reminder_times(local(2027, 6, 8, 8), ("2h", "7d", "30m", "1d", "3d", "1d"), now=utc(2027, 1, 1))
    assert [c for c, _ in result] == ["7d", "3d", "1d", "2h", "30m"]
    assert all(due.tzinfo is UTC for _, due in result)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        reminder_times(datetime(2027, 4, 4, 10), DEFAULT_OFFSETS, now=None)
    with pytest.raises(ValueError):
        reminder_times(local(2027, 4, 4, 10), DEFAULT_OFFSETS, now=datetime(2027, 1, 1))


# -- offset codes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code,amount,unit", [("7d", 7, "d"), ("1d", 1, "d"), ("2h", 2, "h"), ("30m", 30, "m"),
                                              ("90m", 90, "m"), ("24h", 24, "h"), ("30d", 30, "d")])
def test_valid_offset_codes(code: str, amount: int, unit: str) -> None:
    offset = parse_offset(code)
    assert (offset.amount, offset.unit, offset.code) == (amount, unit, code)


@pytest.mark.parametrize("code", ["", "0d", "07d", "1.5h", "2 h", "30min", "60m", "7D", "-1d", "31d", "d", "1w"])
def test_invalid_offset_codes(code: str) -> None:
    with pytest.raises(ValueError):
        parse_offset(code)


def test_offsets_stored_form_round_trips_and_checks_the_menu() -> None:
    assert parse_offsets("2h, 7d,1d,7d") == ("7d", "1d", "2h")
    assert format_offsets(["30m", "7d", "2h", "3d"]) == "7d,3d,2h,30m"
    assert parse_offsets(format_offsets(OFFSET_MENU)) == OFFSET_MENU
    assert format_offsets([]) == "off"
    assert parse_offsets("off") == () and parse_offsets("") == ()
    with pytest.raises(ValueError):
        parse_offsets("7d,5d")  # valid code, but not offered
    assert parse_offsets("7d,5d", menu=None) == ("7d", "5d")


def test_toggle_offset() -> None:
    assert toggle_offset(DEFAULT_OFFSETS, "3d") == ("7d", "3d", "1d", "2h")
    assert toggle_offset(DEFAULT_OFFSETS, "1d") == ("7d", "2h")
    assert toggle_offset((), "30m") == ("30m",)
    with pytest.raises(ValueError):
        toggle_offset(DEFAULT_OFFSETS, "5d")


# -- keys and moved events ------------------------------------------------------------------------

def test_idempotency_key_names_purpose_user_event_offset_and_start() -> None:
    key = idempotency_key(REMINDER, 42, "karrieretage-loebau", "7d", local(2027, 4, 4, 10))
    assert key == "reminder:42:karrieretage-loebau:7d:20270404T080000Z"
    assert idempotency_key(FEEDBACK, 42, "karrieretage-loebau", None, utc(2027, 4, 4, 14)) == (
        "feedback:42:karrieretage-loebau:20270404T140000Z")
    for bad in [("Reminder", 1, "ok-slug", "7d"), ("reminder", 1, "Bad:Slug", "7d"), ("reminder", 1, "ok-slug", "7x")]:
        with pytest.raises(ValueError):
            idempotency_key(*bad, utc(2027, 1, 1))


def test_same_event_plans_the_same_keys() -> None:
    args = (42, "schau-rein", local(2027, 3, 28, 10), local(2027, 3, 28, 14), DEFAULT_OFFSETS)
    assert plan_event(*args, now=utc(2027, 3, 1)) == plan_event(*args, now=utc(2027, 3, 1))


def test_moved_event_gets_new_keys_and_old_ones_are_cancelled() -> None:
    now = utc(2027, 3, 20)
    old = plan_event(42, "schau-rein", local(2027, 3, 28, 10), local(2027, 3, 28, 14), DEFAULT_OFFSETS, now=None)
    new = plan_event(42, "schau-rein", local(2027, 4, 4, 10), local(2027, 4, 4, 14), DEFAULT_OFFSETS, now=now)
    change = replan(old, new)
    assert set(change.cancel) == {p.key for p in old}  # including the 7d reminder that already went out
    assert {p.key for p in change.enqueue} == {p.key for p in new}
    assert not {p.key for p in old} & {p.key for p in new}
    assert [p.offset for p in change.enqueue if p.kind == REMINDER] == ["7d", "1d", "2h"]
    assert change.enqueue[0].due_utc == utc(2027, 3, 28, 8)


def test_changed_offsets_touch_only_the_difference() -> None:
    starts, ends = local(2027, 6, 8, 8), local(2027, 6, 8, 12)
    old = plan_event(7, "tag-der-offenen-tuer", starts, ends, ("7d", "1d", "2h"), now=None)
    new = plan_event(7, "tag-der-offenen-tuer", starts, ends, ("3d", "1d", "2h"), now=utc(2027, 6, 1))
    change = replan(old, new)
    assert [k.split(":")[3] for k in change.cancel] == ["7d"]
    assert [p.offset for p in change.enqueue] == ["3d"]
    assert replan(new, new).cancel == () and replan(new, new).enqueue == ()
    assert replan(old, []).cancel == tuple(sorted(p.key for p in old))  # RSVP withdrawn


def test_plan_event_expiry_and_feedback() -> None:
    starts, ends = local(2027, 9, 24, 9), local(2027, 9, 24, 15)
    plan = plan_event(3, "karrieretage", starts, ends, DEFAULT_OFFSETS, now=utc(2027, 9, 1))
    reminders = [p for p in plan if p.kind == REMINDER]
    assert all(p.expires_utc == starts for p in reminders)  # never remind after the start
    (feedback,) = [p for p in plan if p.kind == FEEDBACK]
    assert feedback.due_utc == local(2027, 9, 24, 17).astimezone(UTC)
    assert feedback.expires_utc == feedback.due_utc + FEEDBACK_VALID
    assert plan[-1] == feedback
    assert all(p.kind == REMINDER for p in plan_event(3, "karrieretage", starts, ends, DEFAULT_OFFSETS,
                                                       now=utc(2027, 9, 1), feedback=False))
    assert plan_event(3, "karrieretage", starts, ends, DEFAULT_OFFSETS, now=utc(2027, 9, 25)) == []


# -- "Wie war's?" ---------------------------------------------------------------------------------

@pytest.mark.parametrize("ends,expected", [
    (local(2027, 6, 8, 12), local(2027, 6, 8, 14)),  # daytime: 2 hours later
    (local(2027, 6, 8, 18, 59), local(2027, 6, 8, 20, 59)),
    (local(2027, 6, 8, 19), local(2027, 6, 9, 10)),  # 21:00 is too late: next morning
    (local(2027, 6, 8, 20, 30), local(2027, 6, 9, 10)),
    (local(2027, 6, 8, 23, 30), local(2027, 6, 9, 10)),  # 01:30 next day: that day's 10:00
    (local(2027, 6, 9, 1), local(2027, 6, 9, 10)),  # a night event ending at 01:00
    (local(2027, 6, 9, 8), local(2027, 6, 9, 10)),  # 10:00 exactly is allowed
    (local(2027, 10, 30, 20), local(2027, 10, 31, 10)),  # over the autumn change: 09:00 UTC
    (local(2027, 3, 27, 22), local(2027, 3, 28, 10)),  # over the spring change: 08:00 UTC
])
def test_feedback_time(ends: datetime, expected: datetime) -> None:
    assert feedback_time(ends.astimezone(UTC)) == expected.astimezone(UTC)


def test_feedback_over_the_clock_changes_is_ten_local() -> None:
    assert feedback_time(local(2027, 10, 30, 20)) == utc(2027, 10, 31, 9)
    assert feedback_time(local(2027, 3, 27, 22)) == utc(2027, 3, 28, 8)
