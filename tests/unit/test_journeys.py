"""The journey planner (issue 16) on small hand-built networks with hand-computed answers, and on generated
grid networks against an independent brute-force reference.

Walking: straight line × 1.3 at 4.5 km/h (75 m a minute), rounded up to whole minutes; so 300 m -> 390 m ->
5.2 -> 6 min, 200 m -> 4 min, 1000 m -> 18 min, 1100 m -> 20 min.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from flows.domain.journeys import (
    MAX_WALK_M,
    MAX_WALK_ONLY_M,
    MIN_CHANGE_S,
    DestinationProfile,
    Journey,
    Leg,
    Timetable,
    arrive_by,
    depart_after,
    metres_between,
    walk_seconds,
)
from flows.domain.transit_network import TransitNetwork
from tests.unit.transit_networks import (
    DAILY,
    HOME,
    SCHOOL,
    NetworkBuilder,
    at,
    grid_network,
    hm,
    home_school_line,
    reference_earliest,
)

MONDAY = date(2025, 3, 10)
TUESDAY = date(2025, 3, 11)
SATURDAY = date(2025, 3, 8)


def _walk(start: str, end: str, from_name: str = "", to_name: str = "") -> Leg:
    return Leg("walk", from_name, to_name, hm(start), hm(end))


def _ride(from_name: str, to_name: str, start: str, end: str, route: str) -> Leg:
    return Leg("ride", from_name, to_name, hm(start), hm(end), route)


def test_walking_times_are_straight_line_times_factor_rounded_up_to_minutes() -> None:
    assert metres_between(HOME, at(0, 300)) == pytest.approx(300, abs=0.01)
    assert metres_between(HOME, at(400, 300)) == pytest.approx(500, abs=0.1)
    assert walk_seconds(300) == 6 * 60
    assert walk_seconds(200) == 4 * 60
    assert walk_seconds(1000) == 18 * 60
    assert walk_seconds(0) == 0
    assert walk_seconds(4500 / 60 / 1.3 * 9) == 9 * 60  # exactly 9 minutes stays 9


def test_a_direct_bus() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Bus 160", weekdays, [(a, "07:10"), (s, "07:30")])
    tt = Timetable.for_day(b.network, MONDAY)

    journey = arrive_by(tt, HOME, SCHOOL, hm("08:00"))

    assert journey == Journey(hm("07:04"), hm("07:34"), (
        _walk("07:04", "07:10", to_name="A"),
        _ride("A", "B", "07:10", "07:30", "Bus 160"),
        _walk("07:30", "07:34", from_name="B"),
    ))
    assert (journey.minutes, journey.changes, journey.walk_minutes) == (30, 0, 10)


def test_the_latest_bus_that_still_arrives_in_time() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Bus 1", weekdays, [(a, "06:40"), (s, "07:00")])
    b.trip("Bus 2", weekdays, [(a, "07:10"), (s, "07:30")])
    b.trip("Bus 3", weekdays, [(a, "07:40"), (s, "07:58")])  # + 4 min walk = 08:02: too late
    tt = Timetable.for_day(b.network, MONDAY)

    by_eight = arrive_by(tt, HOME, SCHOOL, hm("08:00"))
    assert by_eight is not None
    assert (by_eight.departure, by_eight.arrival, by_eight.legs[1].route_name) == (hm("07:04"), hm("07:34"), "Bus 2")
    by_half_past = arrive_by(tt, HOME, SCHOOL, hm("07:33"))
    assert by_half_past is not None
    assert (by_half_past.departure, by_half_past.arrival) == (hm("06:34"), hm("07:04"))
    assert arrive_by(tt, HOME, SCHOOL, hm("07:03")) is None


def test_a_change_needs_the_minimum_change_time() -> None:
    b, a, s, weekdays = home_school_line()
    c = b.stop("C", 2500, 3000)
    b.trip("Bus 1", weekdays, [(a, "07:00"), (c, "07:20")])
    b.trip("Bus 2", weekdays, [(c, "07:22"), (s, "07:40")])  # 2 minutes: just enough
    tt = Timetable.for_day(b.network, MONDAY)

    journey = arrive_by(tt, HOME, SCHOOL, hm("08:00"))

    assert MIN_CHANGE_S == 120
    assert journey == Journey(hm("06:54"), hm("07:44"), (
        _walk("06:54", "07:00", to_name="A"),
        _ride("A", "C", "07:00", "07:20", "Bus 1"),
        _ride("C", "B", "07:22", "07:40", "Bus 2"),
        _walk("07:40", "07:44", from_name="B"),
    ))
    assert (journey.minutes, journey.changes) == (50, 1)


def test_a_change_one_minute_too_short_is_missed() -> None:
    b, a, s, weekdays = home_school_line()
    c = b.stop("C", 2500, 3000)
    b.trip("Bus 1", weekdays, [(a, "07:00"), (c, "07:20")])
    b.trip("Bus 2", weekdays, [(c, "07:21"), (s, "07:40")])  # 1 minute only
    assert arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("08:00")) is None

    b.trip("Bus 1", weekdays, [(a, "06:40"), (c, "07:00")])  # the earlier bus makes it
    journey = arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("08:00"))
    assert journey is not None
    assert (journey.departure, journey.arrival, journey.changes) == (hm("06:34"), hm("07:44"), 1)
    assert journey.legs[1] == _ride("A", "C", "06:40", "07:00", "Bus 1")


def test_the_feeds_own_change_time_at_a_stop_counts() -> None:
    b, a, s, weekdays = home_school_line()
    c = b.stop("C", 2500, 3000)
    b.trip("Bus 1", weekdays, [(a, "07:00"), (c, "07:20")])
    b.trip("Bus 2", weekdays, [(c, "07:24"), (s, "07:40")])
    assert arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("08:00")) is not None

    b.transfer(c, c, 300)  # a large station: 5 minutes to change
    assert arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("08:00")) is None


def test_a_transfer_on_foot_between_two_stops() -> None:
    b, a, s, weekdays = home_school_line()
    x = b.stop("X", 2500, 0)
    y = b.stop("Y", 2500, 150)
    b.trip("Bus 1", weekdays, [(a, "07:00"), (x, "07:20")])
    late = b.trip("Bus 2", weekdays, [(y, "07:25"), (s, "07:45")])
    assert arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("08:00")) is None  # no transfer X -> Y

    b.transfer(x, y, 300)
    journey = arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("08:00"))
    assert journey == Journey(hm("06:54"), hm("07:49"), (
        _walk("06:54", "07:00", to_name="A"),
        _ride("A", "X", "07:00", "07:20", "Bus 1"),
        _walk("07:20", "07:25", "X", "Y"),
        _ride("Y", "B", "07:25", "07:45", "Bus 2"),
        _walk("07:45", "07:49", from_name="B"),
    ))
    assert (journey.changes, journey.walk_minutes) == (1, 15)

    b.network.stop_times.departure[b.network.stop_times.trip.index(late)] = hm("07:24")  # 4 minutes: missed
    assert arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("08:00")) is None


def test_a_trip_that_does_not_run_on_saturdays() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Bus 160", weekdays, [(a, "07:10"), (s, "07:30")])

    assert arrive_by(Timetable.for_day(b.network, SATURDAY), HOME, SCHOOL, hm("08:00")) is None
    journey = arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("08:00"))
    assert journey is not None and journey.departure == hm("07:04")


def test_calendar_dates_remove_a_holiday_and_add_a_day() -> None:
    b, a, s, _ = home_school_line()
    unity_day, saturday_after = date(2025, 10, 3), date(2025, 10, 4)  # Friday (holiday), Saturday
    service = b.service("school", removed=(unity_day,), added=(saturday_after,), end=date(2025, 12, 19))
    b.trip("Bus 160", service, [(a, "07:10"), (s, "07:30")])

    def journey_on(day: date) -> Journey | None:
        return arrive_by(Timetable.for_day(b.network, day), HOME, SCHOOL, hm("08:00"))

    assert journey_on(date(2025, 10, 2)) is not None  # Thursday
    assert journey_on(unity_day) is None
    assert journey_on(saturday_after) is not None
    assert journey_on(date(2025, 10, 11)) is None  # an ordinary Saturday
    assert journey_on(date(2025, 12, 22)) is None  # Monday after the calendar's end


def test_a_night_bus_after_midnight_runs_on_the_previous_days_service() -> None:
    b, a, s, _ = home_school_line()
    mondays = b.service("monday nights", (True, False, False, False, False, False, False))
    b.trip("N1", mondays, [(a, "24:50"), (s, "25:20")])  # Monday's trip, Tuesday 00:50 to 01:20

    journey = arrive_by(Timetable.for_day(b.network, TUESDAY), HOME, SCHOOL, hm("01:30"))

    assert journey == Journey(hm("00:44"), hm("01:24"), (
        _walk("00:44", "00:50", to_name="A"),
        _ride("A", "B", "00:50", "01:20", "N1"),
        _walk("01:20", "01:24", from_name="B"),
    ))
    assert arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("01:30")) is None  # Sunday's: none
    assert arrive_by(Timetable.for_day(b.network, TUESDAY + timedelta(days=1)), HOME, SCHOOL, hm("01:30")) is None
    late = arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("25:30"))  # the same trip, Monday's view
    assert late is not None and late.departure == hm("24:44")


def test_walking_only_when_it_leaves_later_than_any_bus() -> None:
    b, a, _, weekdays = home_school_line()
    d = b.stop("D", 1000, 200)  # 4 minutes from the destination
    destination = at(1000, 0)  # 1000 m from home: 18 minutes on foot
    b.trip("Bus 5", weekdays, [(a, "07:30"), (d, "07:40")])
    tt = Timetable.for_day(b.network, MONDAY)

    journey = arrive_by(tt, HOME, destination, hm("08:00"))
    assert journey == Journey(hm("07:42"), hm("08:00"), (_walk("07:42", "08:00"),))
    assert (journey.minutes, journey.changes, journey.walk_minutes) == (18, 0, 18)

    b.trip("Bus 5", weekdays, [(a, "07:50"), (d, "07:54")])  # leaves home 07:44, later than walking
    journey = arrive_by(Timetable.for_day(b.network, MONDAY), HOME, destination, hm("08:00"))
    assert journey is not None
    assert (journey.departure, journey.arrival, journey.changes) == (hm("07:44"), hm("07:58"), 0)


def test_walking_only_is_capped() -> None:
    b, _, _, _ = home_school_line()
    tt = Timetable.for_day(b.network, MONDAY)
    assert MAX_WALK_ONLY_M == 2000
    assert arrive_by(tt, HOME, at(1500, 0), hm("08:00")) is not None  # 1950 m on foot
    assert arrive_by(tt, HOME, at(1600, 0), hm("08:00")) is None  # 2080 m on foot


@pytest.mark.parametrize(("north_m", "leaves"), [(1100, "06:50"), (1200, None), (3000, None)])
def test_walking_to_a_stop_is_capped(north_m: int, leaves: str | None) -> None:
    b = NetworkBuilder()
    far = b.stop("Far", 0, north_m)
    s = b.stop("B", 5000, 200)
    b.trip("Bus 7", b.service("weekdays"), [(far, "07:10"), (s, "07:30")])
    tt = Timetable.for_day(b.network, MONDAY)

    journey = arrive_by(tt, HOME, SCHOOL, hm("08:00"))

    assert MAX_WALK_M == 1500  # 1100 m -> 1430 m walked (20 min); 1200 m -> 1560 m: too far
    assert (journey.departure if journey else None) == (hm(leaves) if leaves else None)


def test_no_stop_near_the_destination_or_the_home() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Bus 160", weekdays, [(a, "07:10"), (s, "07:30")])
    tt = Timetable.for_day(b.network, MONDAY)
    assert arrive_by(tt, HOME, at(20_000, 0), hm("08:00")) is None
    assert arrive_by(tt, at(-20_000, 0), SCHOOL, hm("08:00")) is None
    assert DestinationProfile.build(tt, at(20_000, 0), hm("08:00")).journey_from(HOME) is None


def test_staying_on_the_bus_beats_getting_off_for_the_same_arrival() -> None:
    b, a, s, weekdays = home_school_line()
    c = b.stop("C", 2500, 3000)
    b.trip("Bus 1", weekdays, [(a, "07:00"), (c, "07:20"), (s, "07:40")])
    b.trip("Bus 2", weekdays, [(c, "07:25"), (s, "07:40")])
    journey = arrive_by(Timetable.for_day(b.network, MONDAY), HOME, SCHOOL, hm("08:00"))
    assert journey is not None
    assert [leg.route_name for leg in journey.legs] == [None, "Bus 1", None]


@pytest.mark.parametrize(("origin", "leaves"), [(HOME, "06:54"), (at(0, 300), "07:00")])  # at the stop: no walk
def test_of_two_journeys_leaving_at_the_same_time_the_earlier_arrival(origin: tuple[float, float],
                                                                      leaves: str) -> None:
    b, a, s, weekdays = home_school_line()
    c = b.stop("C", 2500, 3000)
    b.trip("Slow", weekdays, [(a, "07:00"), (s, "07:50")])
    b.trip("Bus 1", weekdays, [(a, "07:00", "07:00"), (c, "07:10")])
    b.trip("Fast", weekdays, [(c, "07:15"), (s, "07:25")])
    tt = Timetable.for_day(b.network, MONDAY)
    journey = arrive_by(tt, origin, SCHOOL, hm("08:00"))
    assert journey is not None
    assert (journey.departure, journey.arrival, journey.changes) == (hm(leaves), hm("07:29"), 1)
    assert DestinationProfile.build(tt, SCHOOL, hm("08:00")).journey_from(origin) == journey


def test_the_way_back_in_the_afternoon() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Bus 160", weekdays, [(s, "15:10"), (a, "15:30")])
    b.trip("Bus 160", weekdays, [(s, "15:40"), (a, "16:00")])
    tt = Timetable.for_day(b.network, MONDAY)

    journey = depart_after(tt, SCHOOL, HOME, hm("15:00"))

    assert journey == Journey(hm("15:06"), hm("15:36"), (
        _walk("15:06", "15:10", to_name="B"),
        _ride("B", "A", "15:10", "15:30", "Bus 160"),
        _walk("15:30", "15:36", from_name="A"),
    ))
    later = depart_after(tt, SCHOOL, HOME, hm("15:07"))  # 15:11 at the stop: the 15:10 is gone
    assert later is not None and (later.departure, later.arrival) == (hm("15:36"), hm("16:06"))
    assert depart_after(tt, SCHOOL, HOME, hm("15:37")) is None
    assert depart_after(Timetable.for_day(b.network, SATURDAY), SCHOOL, HOME, hm("15:00")) is None


def test_journey_figures_round_minutes_up() -> None:
    journey = Journey(0, 61, (Leg("walk", "", "A", 0, 30), Leg("ride", "A", "B", 30, 31, "x"),
                              Leg("walk", "B", "", 31, 61)))
    assert (journey.minutes, journey.changes, journey.walk_minutes) == (2, 0, 1)


# --- generated networks: the profile equals the one-off search, and both equal a brute force ----------------

def _check_legs(network: TransitNetwork, journey: Journey) -> None:
    """Times run forwards; every ride is a piece of a trip of the network; changes leave the change time."""
    now = journey.departure
    for leg in journey.legs:
        assert leg.departure >= now and leg.arrival >= leg.departure
        now = leg.arrival
    assert now == journey.arrival
    st = network.stop_times
    names = [s.name for s in network.stops]
    for ride in (leg for leg in journey.legs if leg.kind == "ride"):
        rows = [r for r in range(len(st)) if names[st.stop[r]] == ride.from_name and st.departure[r] == ride.departure]
        assert any(network.trips[st.trip[r]].route_name == ride.route_name and any(
            st.trip[e] == st.trip[r] and names[st.stop[e]] == ride.to_name and st.arrival[e] == ride.arrival
            for e in range(r + 1, min(len(st), r + 20))) for r in rows), ride
    change = {t.from_stop: t.seconds for t in network.transfers if t.from_stop == t.to_stop}
    for before, after in zip(journey.legs, journey.legs[1:]):
        if before.kind == after.kind == "ride":
            assert before.to_name == after.from_name
            stop = names.index(before.to_name)
            assert after.departure - before.arrival >= change.get(stop, MIN_CHANGE_S)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_profile_equals_the_one_off_search_and_the_brute_force(seed: int) -> None:
    network = grid_network(seed)
    tt = Timetable.for_day(network, MONDAY)
    rng = random.Random(seed)
    checked = found = 0
    for _ in range(3):
        destination = at(rng.uniform(-500, 4700), rng.uniform(-500, 4700))
        deadline = rng.choice((hm("07:30"), hm("08:00"), hm("08:17")))
        profile = DestinationProfile.build(tt, destination, deadline)
        for _ in range(25):
            origin = at(rng.uniform(-1500, 5700), rng.uniform(-1500, 5700))
            journey = arrive_by(tt, origin, destination, deadline)
            assert profile.journey_from(origin) == journey
            checked += 1
            if journey is None:
                assert (reference_earliest(network, MONDAY, origin, destination, deadline - 3 * 3600) or 10**9) \
                    > deadline
                continue
            found += 1
            _check_legs(network, journey)
            assert journey.arrival <= deadline
            # leaving later gets there too late; leaving then gets there exactly this early
            assert reference_earliest(network, MONDAY, origin, destination, journey.departure) == journey.arrival
            assert (reference_earliest(network, MONDAY, origin, destination, journey.departure + 1) or 10**9) \
                > deadline
    assert found > checked // 2


@pytest.mark.parametrize("seed", [4, 5])
def test_the_way_back_equals_the_brute_force(seed: int) -> None:
    network = grid_network(seed)
    tt = Timetable.for_day(network, MONDAY)
    rng = random.Random(seed)
    found = 0
    for _ in range(40):
        origin = at(rng.uniform(-500, 4700), rng.uniform(-500, 4700))
        destination = at(rng.uniform(-500, 4700), rng.uniform(-500, 4700))
        earliest = rng.randrange(hm("06:00"), hm("08:30"), 60)
        journey = depart_after(tt, origin, destination, earliest)
        expected = reference_earliest(network, MONDAY, origin, destination, earliest)
        assert (journey.arrival if journey else None) == expected
        if journey is not None:
            found += 1
            assert journey.departure >= earliest
            _check_legs(network, journey)
    assert found > 20


def test_a_daily_service_runs_every_day() -> None:
    b, a, s, _ = home_school_line()
    b.trip("Bus 160", b.service("daily", DAILY), [(a, "07:10"), (s, "07:30")])
    for k in range(7):
        assert arrive_by(Timetable.for_day(b.network, MONDAY + timedelta(days=k)), HOME, SCHOOL, hm("08:00"))
