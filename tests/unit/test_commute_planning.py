"""Commutes (issue 16): the shortest journey by 08:00, the first arrival, the way back from 16:00, a
destination's plan for many homes, and which day's timetable stands for a school day. Hand-computed
answers on small networks, and generated networks against the brute force of tests/unit/transit_networks.py.

Walking: straight line × 1.3 at 75 m a minute, rounded up: 300 m -> 6 min, 200 m -> 4 min.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.domain.commute import (
    ARRIVE_BY_S,
    BACK_FROM_S,
    MORNING_FROM_S,
    Commute,
    home_areas,
    plan_destination,
    reference_school_day,
    trips_running,
    within_reach,
)
from flows.domain.journeys import (
    MAX_WALK_ONLY_M,
    METRES_PER_DEGREE,
    WALK_FACTOR,
    DestinationProfile,
    Reach,
    Timetable,
    metres_between,
)
from flows.domain.working_days import is_working_day
from tests.unit.test_gtfs_feeds import small_feed
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
from transit import load_feeds

MONDAY = date(2025, 3, 10)


def _profile(b: NetworkBuilder, day: date = MONDAY) -> tuple[Timetable, DestinationProfile]:
    tt = Timetable.for_day(b.network, day)
    return tt, DestinationProfile.build(tt, SCHOOL, ARRIVE_BY_S, ARRIVE_BY_S - MORNING_FROM_S)


def test_the_shortest_journey_by_eight_the_first_arrival_and_the_way_back() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Bus 1", weekdays, [(a, "05:10"), (s, "05:40")])  # first: at the school 05:44
    b.trip("Bus 2", weekdays, [(a, "06:30"), (s, "06:50")])  # shortest: 06:24 -> 06:54, 30 min
    b.trip("Bus 3", weekdays, [(a, "07:20"), (s, "07:55")])  # the latest: arrives 07:59
    b.trip("Bus 4", weekdays, [(a, "07:40"), (s, "08:01")])  # too late
    b.trip("Bus 9", weekdays, [(s, "16:20"), (a, "16:45")])  # back: at home 16:51
    tt = Timetable.for_day(b.network, MONDAY)
    planned = plan_destination(tt, SCHOOL, [HOME])
    assert planned[HOME] == Commute(minutes=30, changes=0, walk_minutes=10, leave=hm("06:24"), arrive=hm("06:54"),
                                    first_arrival=hm("05:44"), back_arrival=hm("16:51"))
    commute = planned[HOME]
    assert commute is not None and commute.back_minutes == 51 and not commute.on_foot


def test_among_equally_short_journeys_the_one_with_fewer_changes() -> None:
    b, a, s, weekdays = home_school_line()
    m = b.stop("M", 2500, 300)
    # 06:10 -> 06:40 with a change at M; 07:00 -> 07:30 direct: both 30 min on the bus
    b.trip("Bus 5", weekdays, [(a, "06:10"), (m, "06:20")])
    b.trip("Bus 6", weekdays, [(m, "06:25"), (s, "06:40")])
    b.trip("Bus 7", weekdays, [(a, "07:00"), (s, "07:30")])
    tt, profile = _profile(b)
    journey = profile.quickest_from(HOME)
    assert journey is not None and (journey.minutes, journey.changes, journey.departure) == (40, 0, hm("06:54"))


def test_a_journey_that_arrives_after_eight_is_no_connection() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Bus 4", weekdays, [(a, "07:40"), (s, "08:01")])
    tt = Timetable.for_day(b.network, MONDAY)
    assert plan_destination(tt, SCHOOL, [HOME]) == {HOME: None}


def test_nothing_leaving_before_four_counts_as_the_first_arrival() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Night", weekdays, [(a, "03:50"), (s, "04:10")])
    b.trip("Bus 2", weekdays, [(a, "06:30"), (s, "06:50")])
    tt, profile = _profile(b)
    assert profile.first_arrival_from(HOME) == hm("06:54")  # at the door: 4 min from the stop


def test_a_home_within_walking_distance_walks() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Bus 2", weekdays, [(a, "06:30"), (s, "06:50")])
    tt = Timetable.for_day(b.network, MONDAY)
    near = at(5000, 900)  # 900 m: 16 min on foot
    commute = plan_destination(tt, SCHOOL, [near])[near]
    assert commute is not None and commute.on_foot and commute.minutes == 16 and commute.changes == 0
    assert commute.first_arrival is None and commute.back_arrival == BACK_FROM_S + 16 * 60


def test_no_way_back_within_three_hours() -> None:
    b, a, s, weekdays = home_school_line()
    b.trip("Bus 2", weekdays, [(a, "06:30"), (s, "06:50")])
    b.trip("Late", weekdays, [(s, "19:30"), (a, "19:50")])
    tt = Timetable.for_day(b.network, MONDAY)
    commute = plan_destination(tt, SCHOOL, [HOME])[HOME]
    assert commute is not None and commute.back_arrival is None and commute.back_minutes is None


@pytest.mark.parametrize("seed", [11, 12])
def test_shortest_and_first_arrival_equal_the_brute_force(seed: int) -> None:
    """The grid's buses run 05:00-10:00: the shortest journey is the best over every minute one could leave."""
    network = grid_network(seed, size=6)
    tt = Timetable.for_day(network, MONDAY)
    rng = random.Random(seed)
    found = 0
    for _ in range(2):
        destination = at(rng.uniform(0, 3000), rng.uniform(0, 3000))
        profile = DestinationProfile.build(tt, destination, ARRIVE_BY_S, ARRIVE_BY_S - MORNING_FROM_S)
        for _ in range(5):
            origin = at(rng.uniform(-500, 3500), rng.uniform(-500, 3500))
            arrivals = {leave: reference_earliest(network, MONDAY, origin, destination, leave)
                        for leave in range(hm("04:00"), ARRIVE_BY_S, 60)}
            durations = [arr - leave for leave, arr in arrivals.items() if arr is not None and arr <= ARRIVE_BY_S]
            journey = profile.quickest_from(origin)
            assert (journey.minutes * 60 if journey else None) == (min(durations) if durations else None)
            walk_only = metres_between(origin, destination) * WALK_FACTOR <= MAX_WALK_ONLY_M
            if journey is not None and journey.rides and not walk_only:
                found += 1
                first = profile.first_arrival_from(origin)
                assert first == min(arr for arr in arrivals.values() if arr is not None)
    assert found >= 5


@pytest.mark.parametrize("seed", [13, 14])
def test_the_way_back_to_every_home_equals_the_brute_force(seed: int) -> None:
    network = grid_network(seed, size=6)
    tt = Timetable.for_day(network, MONDAY)
    rng = random.Random(seed)
    for _ in range(3):
        origin = at(rng.uniform(0, 3000), rng.uniform(0, 3000))
        leave = rng.randrange(hm("06:00"), hm("08:30"), 60)
        reach = Reach(tt, origin, leave)
        for _ in range(10):
            home = at(rng.uniform(-500, 3500), rng.uniform(-500, 3500))
            assert reach.arrival_at(home) == reference_earliest(network, MONDAY, origin, home, leave)


def test_homes_are_the_places_around_the_region_towns_each_once() -> None:
    towns = [(51.15, 14.99)]  # Görlitz
    places = [(51.15, 14.99), (51.15, 14.99), (51.10, 14.66), (52.52, 13.40)]  # twice the same, Löbau, Berlin
    assert home_areas(places, towns, 60) == [(51.10, 14.66), (51.15, 14.99)]
    assert within_reach((51.15, 14.99), [(51.10, 14.66), (52.52, 13.40)], 100) == [(51.10, 14.66)]


def _school_days_network(holidays: tuple[date, ...] = ()) -> NetworkBuilder:
    """A school bus on school days (none in `holidays`), a town bus every day."""
    b = NetworkBuilder()
    a, s = b.stop("A", 0, 0), b.stop("B", 1000, 0)
    b.trip("School", b.service("school", removed=holidays), [(a, "07:00"), (s, "07:20")])
    b.trip("Town", b.service("daily", DAILY), [(a, "09:00"), (s, "09:20")])
    return b


def test_the_school_day_is_the_next_working_day() -> None:
    b = _school_days_network()
    friday = date(2025, 3, 14)
    assert reference_school_day(b.network, friday, is_working_day) == date(2025, 3, 17)  # Monday, not Saturday
    assert reference_school_day(b.network, date(2025, 10, 2), is_working_day) == date(2025, 10, 6)  # 3 Oct: holiday


def test_the_school_day_skips_the_school_holidays_the_feed_knows() -> None:
    holiday_week = tuple(date(2025, 3, 17) + timedelta(days=k) for k in range(5))
    b = _school_days_network(holiday_week)
    assert trips_running(b.network, date(2025, 3, 18)) == 1
    assert reference_school_day(b.network, date(2025, 3, 14), is_working_day) == date(2025, 3, 24)


def test_no_school_day_when_the_timetable_has_run_out() -> None:
    b = _school_days_network()
    assert reference_school_day(b.network, date(2026, 3, 1), is_working_day) is None  # the feed ends in 2025


def test_a_loaded_gtfs_feed_by_hand(tmp_path: Path) -> None:
    """The small feed of tests/unit/test_gtfs_feeds.py (calendar, calendar_dates, transfers, a Saturday service):
    bus 160 leaves Aue 07:00 on weekdays and is at Cottbus Markt 07:20; not on Labour Day, not on Saturdays."""
    network = load_feeds([small_feed(tmp_path / "lausitz.zip")])
    home = (51.50 - 300 / METRES_PER_DEGREE, 14.30)  # 300 m south of Aue: 6 min on foot
    post = (51.52135, 14.30)  # at Cottbus Post, 150 m north of Cottbus Markt: 3 min on foot
    thursday = Timetable.for_day(network, date(2026, 4, 30))
    assert plan_destination(thursday, post, [home]) == {
        home: Commute(minutes=29, changes=0, walk_minutes=9, leave=hm("06:54"), arrive=hm("07:23"),
                      first_arrival=hm("07:23"), back_arrival=None)}  # nothing runs back in the afternoon
    for day in (date(2026, 5, 1), date(2026, 5, 2)):  # Labour Day (a Friday) and a Saturday
        assert plan_destination(Timetable.for_day(network, day), post, [home]) == {home: None}
