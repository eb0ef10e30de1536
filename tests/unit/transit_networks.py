"""Hand-built and generated transit networks for the journey planner's tests (issue 16); its speed is
measured by tests/bench/transit_bench.py on a generated GTFS feed.

Places are given in metres east (x) and north (y) of BASE, so walking times can be computed by hand:
walk = ceil(metres × 1.3 / 75 m per minute) minutes.
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date

from flows.domain.journeys import MAX_WALK_M, MAX_WALK_ONLY_M, MIN_CHANGE_S, metres_between, walk_seconds
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


HOME = at(0, 0)
SCHOOL = at(5000, 0)


def home_school_line() -> tuple[NetworkBuilder, int, int, int]:
    """The builder, stop A 300 m north of HOME (6 min on foot), stop B 200 m north of SCHOOL (4 min), and a
    weekday service: the journey tests' usual start."""
    b = NetworkBuilder()
    a = b.stop("A", 0, 300)
    s = b.stop("B", 5000, 200)
    weekdays = b.service("weekdays")
    return b, a, s, weekdays


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


def reference_earliest(network: TransitNetwork, day: date, origin: tuple[float, float],
                        destination: tuple[float, float], leave: int) -> int | None:
    """Earliest arrival by fixed-point iteration over whole trips (no connection scan, no sorting)."""
    inf = 10**9
    runs = {k for k, service in enumerate(network.services) if service.runs_on(day)}
    calls: dict[int, list[tuple[int, int, int]]] = {}
    st = network.stop_times
    for row in range(len(st)):
        if network.trips[st.trip[row]].service in runs:
            calls.setdefault(st.trip[row], []).append((st.stop[row], st.arrival[row], st.departure[row]))
    change = {t.from_stop: t.seconds for t in network.transfers if t.from_stop == t.to_stop}
    footpaths = [(t.from_stop, t.to_stop, t.seconds) for t in network.transfers if t.from_stop != t.to_stop]
    ready: dict[int, int] = {}
    for stop, s in enumerate(network.stops):
        metres = metres_between(origin, (s.lat, s.lon))
        if metres * 1.3 <= MAX_WALK_M:
            ready[stop] = leave + walk_seconds(metres)
    metres = metres_between(origin, destination)
    best = leave + walk_seconds(metres) if metres * 1.3 <= MAX_WALK_ONLY_M else inf
    reached: dict[int, int] = {}
    changed = True
    while changed:
        changed = False
        for trip_calls in calls.values():
            on = False
            for stop, arrival, departure in trip_calls:
                if on and arrival < reached.get(stop, inf):
                    reached[stop] = arrival
                    changed = True
                if not on and ready.get(stop, inf) <= departure:
                    on = True
        for stop, arrival in reached.items():
            if arrival + change.get(stop, MIN_CHANGE_S) < ready.get(stop, inf):
                ready[stop] = arrival + change.get(stop, MIN_CHANGE_S)
                changed = True
        for a, b, seconds in footpaths:
            if a in reached and reached[a] + seconds < ready.get(b, inf):
                ready[b] = reached[a] + seconds
                changed = True
    for stop, arrival in reached.items():
        s = network.stops[stop]
        metres = metres_between((s.lat, s.lon), destination)
        if metres * 1.3 <= MAX_WALK_M:
            best = min(best, arrival + walk_seconds(metres))
    return best if best < inf else None
