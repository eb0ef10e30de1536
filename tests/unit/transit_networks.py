"""Hand-built and generated transit networks for the journey planner's tests (issue 16), and a speed check:

    .venv/bin/python -m tests.unit.transit_networks   # ~5,000 stops, ~50,000 trips: timings, no assertion

Places are given in metres east (x) and north (y) of BASE, so walking times can be computed by hand:
walk = ceil(metres × 1.3 / 75 m per minute) minutes.
"""
from __future__ import annotations

import math
import random
import statistics
import time
import tracemalloc
from collections.abc import Sequence
from datetime import date

from flows.domain.transit_network import Service, Transfer, TransitNetwork, TransitStop, TransitTrip

BASE = (51.5, 14.0)  # Lusatia
METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180
WEEKDAYS = (True, True, True, True, True, False, False)
DAILY = (True,) * 7
FROM, TO = date(2025, 1, 1), date(2025, 12, 31)


def at(x_m: float, y_m: float) -> tuple[float, float]:
    """The point x metres east and y metres north of BASE."""
    lat = BASE[0] + y_m / METRES_PER_DEGREE
    return lat, BASE[1] + x_m / (METRES_PER_DEGREE * math.cos(math.radians(BASE[0])))


def hm(text: str) -> int:
    """"07:12" -> seconds after midnight (hours past 24 allowed: "24:50")."""
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


class NetworkBuilder:
    def __init__(self) -> None:
        self.network = TransitNetwork()

    def stop(self, name: str, x_m: float, y_m: float) -> int:
        lat, lon = at(x_m, y_m)
        self.network.stops.append(TransitStop(f"t:{name}", name, lat, lon))
        return len(self.network.stops) - 1

    def service(self, name: str, weekdays: tuple[bool, ...] = WEEKDAYS, *, start: date | None = FROM,
                end: date | None = TO, added: tuple[date, ...] = (), removed: tuple[date, ...] = ()) -> int:
        days = (weekdays + (False,) * 7)[:7]
        self.network.services.append(Service(name, (days[0], days[1], days[2], days[3], days[4], days[5], days[6]),
                                             start, end, frozenset(added), frozenset(removed)))
        return len(self.network.services) - 1

    def trip(self, route: str, service: int, calls: Sequence[tuple[int, str] | tuple[int, str, str]],
             route_type: int = 3) -> int:
        """calls: (stop, "hh:mm") or (stop, arrival, departure)."""
        self.network.trips.append(TransitTrip(service, route, route_type))
        trip = len(self.network.trips) - 1
        for call in calls:
            arrival = hm(call[1])
            departure = hm(call[2]) if len(call) == 3 else arrival
            self.network.stop_times.append(trip, call[0], arrival, departure)
        return trip

    def transfer(self, from_stop: int, to_stop: int, seconds: int) -> None:
        self.network.transfers.append(Transfer(from_stop, to_stop, seconds))


def grid_network(seed: int, size: int = 8, spacing_m: float = 600) -> TransitNetwork:
    """size × size stops `spacing_m` apart; a bus line along every row and every column, both ways, every
    10-30 minutes from 05:00 to 10:00 with random offsets and dwell times; a few walking transfers."""
    rng = random.Random(seed)
    network = TransitNetwork()
    for row in range(size):
        for col in range(size):
            lat, lon = at(col * spacing_m + rng.uniform(-80, 80), row * spacing_m + rng.uniform(-80, 80))
            network.stops.append(TransitStop(f"g:{row}-{col}", f"S{row}-{col}", lat, lon))
    network.services.append(Service("daily", DAILY, FROM, TO))
    lines: list[list[int]] = []
    for k in range(size):
        lines.append([k * size + c for c in range(size)])
        lines.append([r * size + k for r in range(size)])
    for n, line in enumerate(lines):
        for way in (line, line[::-1]):
            headway = rng.choice((600, 900, 1200, 1800))
            start = 5 * 3600 + rng.randrange(0, headway, 60)
            hop = rng.choice((60, 120, 180))
            while start < 10 * 3600:
                network.trips.append(TransitTrip(0, f"L{n}", 3))
                trip = len(network.trips) - 1
                now = start
                for stop in way:
                    dwell = rng.choice((0, 0, 0, 60))
                    network.stop_times.append(trip, stop, now, now + dwell)
                    now += dwell + hop + rng.choice((0, 0, 60))
                start += headway
    for _ in range(size * size // 4):
        a = rng.randrange(size * size)
        b = min(size * size - 1, a + size + rng.choice((-1, 1)))
        if a != b:
            seconds = rng.choice((60, 180, 300))
            network.transfers.append(Transfer(a, b, seconds))
            network.transfers.append(Transfer(b, a, seconds))
    for stop in (1, size, size + 1):  # the feed's own change time at a stop
        network.transfers.append(Transfer(stop, stop, rng.choice((0, 60, 300))))
    return network


def regional_network(seed: int = 16, stops: int = 5_000, trips: int = 50_000) -> TransitNetwork:
    """About the size of a regional network: stops on a jittered ~1 km grid (about 70 × 70 km), lines
    wandering across it with 12-30 stops, every 15-60 minutes from 04:30 to 23:30 both ways, weekdays or daily;
    a walking transfer between stops closer than 600 m."""
    rng = random.Random(seed)
    network = TransitNetwork()
    side = math.ceil(math.sqrt(stops))
    for k in range(stops):
        row, col = divmod(k, side)
        lat, lon = at(col * 1000 + rng.uniform(-350, 350), row * 1000 + rng.uniform(-350, 350))
        network.stops.append(TransitStop(f"r:{k}", f"Stop {k}", lat, lon))
    network.services.append(Service("weekdays", WEEKDAYS, FROM, TO))
    network.services.append(Service("daily", DAILY, FROM, TO))
    made = 0
    line = 0
    while made < trips:
        row, col = rng.randrange(side), rng.randrange(side)
        d_row, d_col = rng.choice(((0, 1), (1, 0), (1, 1), (1, -1)))
        path: list[int] = []
        for _ in range(rng.randint(12, 30)):
            k = row * side + col
            if 0 <= row < side and 0 <= col < side and k < stops and k not in path:
                path.append(k)
            if rng.random() < 0.3:
                row += rng.choice((-1, 0, 1))
                col += rng.choice((-1, 0, 1))
            row += d_row
            col += d_col
        if len(path) < 4:
            continue
        line += 1
        rail = rng.random() < 0.1
        headway = rng.choice((900, 1200, 1800, 3600))
        service = 0 if rng.random() < 0.8 else 1
        hops = [rng.choice((60, 120, 180)) if rail else rng.choice((120, 180, 240)) for _ in path]
        for way, way_hops in ((path, hops), (path[::-1], hops[::-1])):
            start = 4 * 3600 + 1800 + rng.randrange(0, headway, 60)
            while start < 23 * 3600 + 1800 and made < trips:
                network.trips.append(TransitTrip(service, f"{'RB' if rail else 'Bus'} {line}", 2 if rail else 3))
                trip = len(network.trips) - 1
                now = start
                for stop, hop in zip(way, way_hops):
                    network.stop_times.append(trip, stop, now, now)
                    now += hop
                made += 1
                start += headway
    cells: dict[tuple[int, int], list[int]] = {}
    for k, s in enumerate(network.stops):
        cells.setdefault((int(s.lat * 200), int(s.lon * 120)), []).append(k)
    for k, s in enumerate(network.stops):
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                for other in cells.get((int(s.lat * 200) + dr, int(s.lon * 120) + dc), ()):
                    o = network.stops[other]
                    metres = METRES_PER_DEGREE * math.hypot(o.lat - s.lat, (o.lon - s.lon) * math.cos(math.radians(s.lat)))
                    if other != k and metres < 600:
                        network.transfers.append(Transfer(k, other, 60 + int(metres * 1.3 / 1.25)))
    return network


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, max {ordered[-1] * 1000:.2f} ms"


def main() -> None:
    from flows.domain.journeys import DestinationProfile, Timetable, arrive_by, depart_after

    started = time.perf_counter()
    network = regional_network()
    print(f"generated {len(network.stops)} stops, {len(network.trips)} trips, "
          f"{len(network.stop_times)} stop times, {len(network.transfers)} transfers "
          f"in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    tt = Timetable.for_day(network, date(2025, 3, 10))
    print(f"Timetable.for_day: {time.perf_counter() - started:.2f} s, {len(tt)} connections")
    rng = random.Random(1)
    side = math.ceil(math.sqrt(len(network.stops)))
    span = (side - 1) * 1000

    def somewhere() -> tuple[float, float]:
        return at(rng.uniform(0, span), rng.uniform(0, span * len(network.stops) / side / side))

    destinations = [at(span / 2, span / 2), at(span / 4, span / 3), at(span * 0.8, span * 0.7)]
    homes = [somewhere() for _ in range(10_000)]
    times: list[float] = []
    found = 0
    for k in range(300):
        started = time.perf_counter()
        journey = arrive_by(tt, homes[k], destinations[k % 3], 8 * 3600)
        times.append(time.perf_counter() - started)
        found += journey is not None
    print(f"arrive_by (300 homes, 3 destinations, by 08:00): {_percentiles(times)}; {found} found")
    times = []
    for k in range(100):
        started = time.perf_counter()
        depart_after(tt, destinations[k % 3], homes[k], 15 * 3600)
        times.append(time.perf_counter() - started)
    print(f"depart_after (100, from 15:00): {_percentiles(times)}")
    for destination in destinations:
        started = time.perf_counter()
        profile = DestinationProfile.build(tt, destination, 8 * 3600)
        built = time.perf_counter() - started
        times = []
        found = 0
        minutes: list[int] = []
        for home in homes:
            started = time.perf_counter()
            journey = profile.journey_from(home)
            times.append(time.perf_counter() - started)
            if journey is not None:
                found += 1
                minutes.append(journey.minutes)
        print(f"DestinationProfile.build: {built:.2f} s ({len(profile.e_dep)} entries); journey_from "
              f"(10,000 homes): {_percentiles(times)}; {found} found, median {statistics.median(minutes or [0])} min")
    tracemalloc.start()
    tt = Timetable.for_day(network, tt.day)
    after_timetable = tracemalloc.get_traced_memory()[0]
    kept = DestinationProfile.build(tt, destinations[0], 8 * 3600)
    print(f"memory: Timetable {after_timetable / 1e6:.0f} MB, "
          f"one DestinationProfile {(tracemalloc.get_traced_memory()[0] - after_timetable) / 1e6:.1f} MB "
          f"({len(kept.e_dep)} entries)")
    tracemalloc.stop()


if __name__ == "__main__":
    main()
