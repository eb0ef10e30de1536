"""Journey planning by bus and train (issue 16): the Connection Scan Algorithm (CSA; Dibbelt, Pajor,
Strasser, Wagner: "Connection Scan Algorithm", 2013/2018) on one service day's timetable, plus walking to
and from stops (straight line × WALK_FACTOR at WALK_KMH, at most MAX_WALK_M).

- `Timetable.for_day(network, day)` turns a `TransitNetwork` into that day's elementary connections (one
  vehicle from one stop to the next), sorted by departure, in parallel lists of ints; trips of yesterday's
  service that run past midnight count with their times shifted by -24 h (the early night bus).
- `DestinationProfile.build(tt, destination, deadline)`: one backward (profile) scan gives, for every stop,
  the Pareto set "board here at `dep` → at the destination by `arr`", so `journey_from(home)` for any home
  is a lookup over the stops near the home. This is the cache: one per (destination, day).
- `arrive_by(...)` is the same scan for one origin, stopped as soon as nothing can beat the best
  departure found (so it is never different from `DestinationProfile.build(...).journey_from(origin)`).
- `depart_after(...)`: the way back; an earliest-arrival forward scan, then the latest departure that still
  arrives that early (no needless waiting at the start).
- For the cache of commutes (flows/domain/commute.py): `DestinationProfile.quickest_from(home)` (the shortest
  journey arriving by the deadline, fewest changes among equally short ones), `.first_arrival_from(home)`
  (the earliest one can be there), and `Reach(tt, place, 16:00).arrival_at(home)` (the way back to every
  home from one forward scan).

The answer to "arrive by 08:00": leave home as late as possible; among the journeys leaving then, arrive as
early as possible. Changes: MIN_CHANGE_S at the same stop (or the feed's own transfer time from a stop to
itself), the feed's transfers (`TransitNetwork.transfers`) between stops. Walks from home to a stop and from a
stop to the destination are rounded up to whole minutes. Places are (lat, lon). Times are seconds after the
day's midnight. A leg's empty `from_name`/`to_name` is the journey's own origin/destination (the caller
knows their names).

Standard library only; the inner loops work on local lists of ints (see the figures in the report/README).
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from flows.domain.transit_network import TransitNetwork

WALK_KMH = 4.5
WALK_FACTOR = 1.3  # the walking distance is the straight line × this factor
MAX_WALK_M = 1500  # walking distance (after the factor) to or from a stop
MAX_WALK_ONLY_M = 2000  # a journey on foot only, when nothing by bus and train is better
MIN_CHANGE_S = 120  # changing vehicles at the same stop
WINDOW_S = 3 * 3600  # journeys longer than this are not searched
DAY_S = 24 * 3600
EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
_INF = 10**9
_MAX_LEGS = 40  # a guard against degenerate (zero-time) cycles while rebuilding a journey
_MAX_TIES = 8  # equally short journeys compared by their changes

Point = tuple[float, float]  # (lat, lon)


def metres_between(a: Point, b: Point) -> float:
    """Straight-line distance (equirectangular; exact enough below a few kilometres)."""
    k = math.cos(math.radians((a[0] + b[0]) / 2))
    dx = math.radians(b[1] - a[1]) * k
    dy = math.radians(b[0] - a[0])
    return EARTH_RADIUS_M * math.hypot(dx, dy)


def walk_seconds(straight_m: float) -> int:
    """Walking time for a straight-line distance, rounded up to whole minutes."""
    minutes = straight_m * WALK_FACTOR / (WALK_KMH * 1000 / 60)
    return math.ceil(minutes - 1e-9) * 60


def _walk_within(straight_m: float, max_walk_m: float) -> bool:
    return straight_m * WALK_FACTOR <= max_walk_m


@dataclass(frozen=True)
class Leg:
    kind: Literal["walk", "ride"]
    from_name: str  # "" = the journey's origin
    to_name: str  # "" = the journey's destination
    departure: int  # seconds after midnight
    arrival: int
    route_name: str | None = None  # rides only: "RE 1", "Bus 160"


@dataclass(frozen=True)
class Journey:
    departure: int  # leaving the door (seconds after midnight)
    arrival: int  # at the destination's door
    legs: tuple[Leg, ...]

    @property
    def minutes(self) -> int:
        """Door to door, rounded up."""
        return -((self.departure - self.arrival) // 60)

    @property
    def rides(self) -> int:
        return sum(1 for leg in self.legs if leg.kind == "ride")

    @property
    def changes(self) -> int:
        return max(0, self.rides - 1)

    @property
    def walk_minutes(self) -> int:
        seconds = sum(leg.arrival - leg.departure for leg in self.legs if leg.kind == "walk")
        return -(-seconds // 60)


class _StopGrid:
    """Stops in cells of about the largest walking radius, for "stops within a walk of a point"."""

    def __init__(self, lats: list[float], lons: list[float]) -> None:
        self.lats = lats
        self.lons = lons
        self.cell_lat = (MAX_WALK_ONLY_M / WALK_FACTOR) / METRES_PER_DEGREE
        mean_lat = sum(lats) / len(lats) if lats else 0.0
        self.ref_cos = max(0.05, math.cos(math.radians(mean_lat)))
        self.cell_lon = self.cell_lat / self.ref_cos
        self.cells: dict[tuple[int, int], list[int]] = {}
        for stop, (lat, lon) in enumerate(zip(lats, lons)):
            self.cells.setdefault((math.floor(lat / self.cell_lat), math.floor(lon / self.cell_lon)), []).append(stop)

    def near(self, point: Point, max_walk_m: float) -> list[tuple[int, int]]:
        """(stop, walking seconds) for every stop within `max_walk_m` of walking, by stop index."""
        lat, lon = point
        radius = max_walk_m / WALK_FACTOR
        reach_lat = math.ceil(radius / METRES_PER_DEGREE / self.cell_lat)
        cos_here = max(0.05, math.cos(math.radians(lat)))
        reach_lon = math.ceil(radius / (METRES_PER_DEGREE * cos_here) / self.cell_lon)
        row, col = math.floor(lat / self.cell_lat), math.floor(lon / self.cell_lon)
        found: list[tuple[int, int]] = []
        lats, lons, cells = self.lats, self.lons, self.cells
        for r in range(row - reach_lat, row + reach_lat + 1):
            for c in range(col - reach_lon, col + reach_lon + 1):
                for stop in cells.get((r, c), ()):
                    metres = metres_between(point, (lats[stop], lons[stop]))
                    if _walk_within(metres, max_walk_m):
                        found.append((stop, walk_seconds(metres)))
        found.sort()
        return found


class Timetable:
    """One service day's connections, built once per (network, day) and shared by every query."""

    def __init__(self, network: TransitNetwork, day: date) -> None:
        self.network = network
        self.day = day
        # connection i: from stop, to stop, departure, arrival, day trip (parallel lists, sorted by departure)
        self.c_from: list[int] = []
        self.c_to: list[int] = []
        self.c_dep: list[int] = []
        self.c_arr: list[int] = []
        self.c_trip: list[int] = []
        self.trip_of: list[int] = []  # day trip -> index into network.trips (a trip may run twice: yesterday's)
        n_stops = len(network.stops)
        self.stop_names = [s.name for s in network.stops]
        self.change_s = [MIN_CHANGE_S] * n_stops  # changing at the same stop
        self.transfers_into: list[list[tuple[int, int]]] = [[] for _ in range(n_stops)]  # to -> (from, s)
        self.transfers_out: list[list[tuple[int, int]]] = [[] for _ in range(n_stops)]  # from -> (to, s)
        for transfer in network.transfers:
            seconds = max(0, transfer.seconds)
            if transfer.from_stop == transfer.to_stop:
                self.change_s[transfer.from_stop] = seconds
            else:
                self.transfers_into[transfer.to_stop].append((transfer.from_stop, seconds))
                self.transfers_out[transfer.from_stop].append((transfer.to_stop, seconds))
        self.grid = _StopGrid([s.lat for s in network.stops], [s.lon for s in network.stops])

    @classmethod
    def for_day(cls, network: TransitNetwork, day: date) -> Timetable:
        tt = cls(network, day)
        yesterday = day - timedelta(days=1)
        runs_today = [s.runs_on(day) for s in network.services]
        runs_yesterday = [s.runs_on(yesterday) for s in network.services]
        today_trip = [runs_today[t.service] for t in network.trips]
        yesterday_trip = [runs_yesterday[t.service] for t in network.trips]
        st = network.stop_times
        trips, stops = st.trip.tolist(), st.stop.tolist()
        arrivals, departures = st.arrival.tolist(), st.departure.tolist()
        today_id = [-1] * len(network.trips)
        yesterday_id = [-1] * len(network.trips)
        trip_of = tt.trip_of
        c_from: list[int] = []
        c_to: list[int] = []
        c_dep: list[int] = []
        c_arr: list[int] = []
        c_trip: list[int] = []
        for i in range(len(trips) - 1):
            trip = trips[i]
            if trip != trips[i + 1]:
                continue
            dep, arr = departures[i], arrivals[i + 1]
            if arr < dep:  # a broken row; the loader should have refused it
                continue
            # today's trips as they are; yesterday's only after midnight, shifted onto this day
            for runs, ids, shift in ((today_trip, today_id, 0), (yesterday_trip, yesterday_id, DAY_S)):
                if not runs[trip] or arr < shift:
                    continue
                day_trip = ids[trip]
                if day_trip < 0:
                    day_trip = ids[trip] = len(trip_of)
                    trip_of.append(trip)
                c_from.append(stops[i])
                c_to.append(stops[i + 1])
                c_dep.append(dep - shift)
                c_arr.append(arr - shift)
                c_trip.append(day_trip)
        # by departure, then arrival; stable, so a trip's zero-minute hops keep their order
        offset = 2 * DAY_S
        keys = [((d + offset) << 20) | min(a - d, (1 << 20) - 1) for d, a in zip(c_dep, c_arr)]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        # every value through a table of shared int objects: 8 bytes a connection and column instead of 36
        stops_table = list(range(len(network.stops)))
        trips_table = list(range(len(trip_of)))
        first, last = min(c_dep, default=0), max(c_arr, default=0)
        if last - first < 7 * DAY_S:
            times_table = list(range(first, last + 1))
            tt.c_dep = [times_table[c_dep[i] - first] for i in order]
            tt.c_arr = [times_table[c_arr[i] - first] for i in order]
        else:  # absurd times in a broken feed: the values as they are
            tt.c_dep = [c_dep[i] for i in order]
            tt.c_arr = [c_arr[i] for i in order]
        tt.c_from = [stops_table[c_from[i]] for i in order]
        tt.c_to = [stops_table[c_to[i]] for i in order]
        tt.c_trip = [trips_table[c_trip[i]] for i in order]
        return tt

    def __len__(self) -> int:
        return len(self.c_dep)

    def stops_near(self, point: Point, max_walk_m: float = MAX_WALK_M) -> list[tuple[int, int]]:
        """(stop, walking seconds) within `max_walk_m` of walking from `point`, by stop index."""
        return self.grid.near(point, max_walk_m)

    def route_name(self, day_trip: int) -> str:
        return self.network.trips[self.trip_of[day_trip]].route_name


def _walk_only_seconds(origin: Point, destination: Point) -> int | None:
    metres = metres_between(origin, destination)
    return walk_seconds(metres) if _walk_within(metres, MAX_WALK_ONLY_M) else None


class DestinationProfile:
    """For one destination and deadline: every stop's Pareto set of (board at `dep` → arrive by `arr`).

    Boarding entries (global, index = entry id): the connection boarded and the connection left (same trip).
    Per stop two Pareto lists, both in descending key order, stored as ascending negated keys for bisect:
    - board: keys = departure of the boarded connection from this stop (for walking there from a home);
    - reach: keys = the latest moment one may *arrive by vehicle* at this stop and still use the entry
      (departure minus the change time at the stop, or minus a transfer's walk to the boarding stop).
    """

    def __init__(self, tt: Timetable, destination: Point, deadline: int, window: int = WINDOW_S) -> None:
        self.tt = tt
        self.destination = destination
        self.deadline = deadline
        self.window = window  # connections leaving in [deadline - window, deadline] count
        self.dest_walk: dict[int, int] = dict(tt.stops_near(destination))
        n_stops = len(tt.stop_names)
        self.e_dep: list[int] = []
        self.e_arr: list[int] = []
        self.e_board: list[int] = []
        self.e_exit: list[int] = []
        self.b_neg: list[list[int]] = [[] for _ in range(n_stops)]
        self.b_ids: list[list[int]] = [[] for _ in range(n_stops)]
        self.r_neg: list[list[int]] = [[] for _ in range(n_stops)]
        self.r_arr: list[list[int]] = [[] for _ in range(n_stops)]
        self.r_ids: list[list[int]] = [[] for _ in range(n_stops)]

    @classmethod
    def build(cls, tt: Timetable, destination: Point, deadline: int, window: int = WINDOW_S) -> DestinationProfile:
        profile = cls(tt, destination, deadline, window)
        profile._scan(None, -_INF)
        return profile

    def _reach_insert(self, stop: int, key: int, arrival: int, entry: int) -> None:
        neg, arrs, ids = self.r_neg[stop], self.r_arr[stop], self.r_ids[stop]
        nk = -key
        p = bisect_right(neg, nk)  # entries [0, p) have a key >= key
        if p and arrs[p - 1] <= arrival:
            return  # a later-or-equal key arrives no later: nothing new
        if p and neg[p - 1] == nk:  # same key, worse arrival: replaced
            p -= 1
            del neg[p], arrs[p], ids[p]
        q = p
        n = len(neg)
        while q < n and arrs[q] >= arrival:  # earlier keys that arrive no earlier: dominated
            q += 1
        if q > p:
            del neg[p:q], arrs[p:q], ids[p:q]
        if p == len(neg):
            neg.append(nk)
            arrs.append(arrival)
            ids.append(entry)
        else:
            neg.insert(p, nk)
            arrs.insert(p, arrival)
            ids.insert(p, entry)

    def _scan(self, origin_walk: dict[int, int] | None, stop_at: int) -> None:
        """The backward profile scan over [deadline - window, deadline]. With `origin_walk` (stop ->
        walking seconds from one home) it stops once no connection can leave later than the best found."""
        tt, deadline = self.tt, self.deadline
        c_dep, c_arr, c_from, c_to, c_trip = tt.c_dep, tt.c_arr, tt.c_from, tt.c_to, tt.c_trip
        change_s, transfers_into = tt.change_s, tt.transfers_into
        walk_dest = [_INF] * len(tt.stop_names)
        for stop, seconds in self.dest_walk.items():
            walk_dest[stop] = seconds
        if not self.dest_walk:
            return
        trip_best = [_INF] * len(tt.trip_of)
        trip_exit = [-1] * len(tt.trip_of)
        board_best = [_INF] * len(tt.stop_names)
        e_dep, e_arr, e_board, e_exit = self.e_dep, self.e_arr, self.e_board, self.e_exit
        b_neg, b_ids, r_neg, r_arr = self.b_neg, self.b_ids, self.r_neg, self.r_arr
        reach_insert = self._reach_insert
        hi = bisect_right(c_dep, deadline)
        lo = bisect_left(c_dep, deadline - self.window)
        # zip over reversed slices: much cheaper per connection than indexing five lists
        for i, dep, arr, v, t in zip(range(hi - 1, lo - 1, -1), c_dep[lo:hi][::-1], c_arr[lo:hi][::-1],
                                     c_to[lo:hi][::-1], c_trip[lo:hi][::-1]):
            if dep < stop_at:
                break
            best = trip_best[t]
            here = arr + walk_dest[v]
            if here > deadline:
                here = _INF
            neg = r_neg[v]
            if neg:
                if neg[-1] <= -arr:  # the usual case: the stop's earliest entry is still reachable
                    changed = r_arr[v][-1]
                else:
                    j = bisect_right(neg, -arr)
                    changed = r_arr[v][j - 1] if j else _INF
                if changed < here:
                    here = changed
            if here < best:
                best = trip_best[t] = here
                trip_exit[t] = i
            elif best >= _INF:
                continue
            u = c_from[i]
            if best < board_best[u]:
                board_best[u] = best
                entry = len(e_dep)
                e_dep.append(dep)
                e_arr.append(best)
                e_board.append(i)
                e_exit.append(trip_exit[t])
                b_neg[u].append(-dep)
                b_ids[u].append(entry)
                reach_insert(u, dep - change_s[u], best, entry)
                for w, seconds in transfers_into[u]:
                    reach_insert(w, dep - seconds, best, entry)
                if origin_walk is not None:
                    walk = origin_walk.get(u)
                    if walk is not None and dep - walk > stop_at:
                        stop_at = dep - walk

    def journey_from(self, origin: Point) -> Journey | None:
        """Leave `origin` as late as possible, then arrive as early as possible; None if nothing arrives
        by the deadline (a walk on foot only counts up to MAX_WALK_ONLY_M)."""
        near = self.tt.stops_near(origin)
        return self._journey(origin, near)

    def _journey(self, origin: Point, near: list[tuple[int, int]]) -> Journey | None:
        b_neg, b_ids, e_arr = self.b_neg, self.b_ids, self.e_arr
        leave = -_INF
        for stop, walk in near:
            neg = b_neg[stop]
            if neg and -neg[0] - walk > leave:
                leave = -neg[0] - walk
        best_arrival, best_entry, best_walk = _INF, -1, 0
        if leave > -_INF:
            for stop, walk in near:
                neg = b_neg[stop]
                j = bisect_right(neg, -(leave + walk))
                if j:
                    entry = b_ids[stop][j - 1]
                    if e_arr[entry] < best_arrival:
                        best_arrival, best_entry, best_walk = e_arr[entry], entry, walk
        on_foot = _walk_only_seconds(origin, self.destination)
        if on_foot is not None and (self.deadline - on_foot > leave
                                    or (self.deadline - on_foot == leave and self.deadline <= best_arrival)):
            leave = self.deadline - on_foot
            return Journey(leave, self.deadline, (Leg("walk", "", "", leave, self.deadline),))
        if best_entry < 0:
            return None
        return self._rebuild(leave, best_walk, best_entry)

    def quickest_from(self, origin: Point, near: list[tuple[int, int]] | None = None) -> Journey | None:
        """The shortest journey door to door that arrives by the deadline (of equally short ones the one
        with fewest changes, then the latest); None if there is none. `near`: the origin's stops, if known."""
        if near is None:
            near = self.tt.stops_near(origin)
        b_neg, b_ids, e_arr = self.b_neg, self.b_ids, self.e_arr
        shortest = _INF
        ties: list[tuple[int, int, int]] = []  # (leave, first walk, entry) of the shortest journeys
        for stop, walk in near:
            for neg, entry in zip(b_neg[stop], b_ids[stop]):
                leave = -neg - walk
                duration = e_arr[entry] - leave
                if duration < shortest:
                    shortest, ties = duration, [(leave, walk, entry)]
                elif duration == shortest:
                    ties.append((leave, walk, entry))
        on_foot = _walk_only_seconds(origin, self.destination)
        if on_foot is not None and on_foot <= shortest:
            return Journey(self.deadline - on_foot, self.deadline, (Leg("walk", "", "", self.deadline - on_foot, self.deadline),))
        if not ties:
            return None
        ties.sort(reverse=True)  # the latest first: among equally few changes it wins
        journeys = [self._rebuild(leave, walk, entry) for leave, walk, entry in ties[:_MAX_TIES]]
        return min(journeys, key=lambda j: (j.changes, -j.departure))

    def first_arrival_from(self, origin: Point, near: list[tuple[int, int]] | None = None) -> int | None:
        """The earliest moment one can be at the destination by bus and train within the window (None: never
        by the deadline). A stop's boarding entries arrive earlier the earlier they leave: its last is its earliest."""
        if near is None:
            near = self.tt.stops_near(origin)
        first = _INF
        for stop, _walk in near:
            ids = self.b_ids[stop]
            if ids and self.e_arr[ids[-1]] < first:
                first = self.e_arr[ids[-1]]
        return first if first < _INF else None

    def _rebuild(self, leave: int, first_walk: int, entry: int) -> Journey:
        tt = self.tt
        names = tt.stop_names
        legs: list[Leg] = []
        first_stop = tt.c_from[self.e_board[entry]]
        if first_walk:
            legs.append(Leg("walk", "", names[first_stop], leave, leave + first_walk))
        while True:
            board, leave_at = self.e_board[entry], self.e_exit[entry]
            v, now = tt.c_to[leave_at], tt.c_arr[leave_at]
            legs.append(Leg("ride", names[tt.c_from[board]], names[v], tt.c_dep[board], now,
                            tt.route_name(tt.c_trip[board])))
            walk = self.dest_walk.get(v)
            on_foot = now + walk if walk is not None and now + walk <= self.deadline else _INF
            neg = self.r_neg[v]
            j = bisect_right(neg, -now)
            changed = self.r_arr[v][j - 1] if j else _INF
            if on_foot <= changed or len(legs) >= _MAX_LEGS:
                if walk:
                    legs.append(Leg("walk", names[v], "", now, now + walk))
                return Journey(leave, now + (walk or 0), tuple(legs))
            entry = self.r_ids[v][j - 1]
            x = tt.c_from[self.e_board[entry]]
            if x != v:
                seconds = self.e_dep[entry] + neg[j - 1]  # departure minus the key: the transfer's walk
                legs.append(Leg("walk", names[v], names[x], now, now + seconds))


def arrive_by(tt: Timetable, origin: Point, destination: Point, deadline: int) -> Journey | None:
    """At `destination` by `deadline`, leaving `origin` as late as possible (then arriving as early as
    possible); the same answer as `DestinationProfile.build(tt, destination, deadline).journey_from(origin)`."""
    profile = DestinationProfile(tt, destination, deadline)
    near = tt.stops_near(origin)
    on_foot = _walk_only_seconds(origin, destination)
    profile._scan(dict(near), deadline - on_foot if on_foot is not None else -_INF)
    return profile._journey(origin, near)


def depart_after(tt: Timetable, origin: Point, destination: Point, earliest: int) -> Journey | None:
    """The way back: the earliest arrival leaving `origin` at or after `earliest`, and of the journeys
    arriving then the one leaving latest (no needless wait at the start)."""
    arrival = earliest_arrival(tt, origin, destination, earliest)
    if arrival is None:
        return None
    journey = arrive_by(tt, origin, destination, arrival)
    return journey if journey is not None and journey.departure >= earliest else None


def earliest_arrival(tt: Timetable, origin: Point, destination: Point, earliest: int) -> int | None:
    """The forward scan (earliest-arrival CSA, no journey): when one can be at `destination` at the
    earliest, leaving `origin` at `earliest`; None if not within WINDOW_S (or on foot)."""
    walk_dest = [_INF] * len(tt.stop_names)
    dest_near = tt.stops_near(destination)
    for stop, seconds in dest_near:
        walk_dest[stop] = seconds
    on_foot = _walk_only_seconds(origin, destination)
    best = earliest + on_foot if on_foot is not None else _INF
    if dest_near:
        best = _forward_scan(tt, origin, earliest, walk_dest, best)[1]
    return best if best < _INF else None


class Reach:
    """The way back from one place to every home: one forward scan leaving `origin` at `earliest` gives
    the earliest arrival by vehicle at every stop; `arrival_at(home)` adds the walk from the best stop."""

    def __init__(self, tt: Timetable, origin: Point, earliest: int) -> None:
        self.tt = tt
        self.origin = origin
        self.earliest = earliest
        self.reached = _forward_scan(tt, origin, earliest, None, _INF)[0]

    def arrival_at(self, point: Point, near: list[tuple[int, int]] | None = None) -> int | None:
        """When one can be at `point` at the earliest (walking only up to MAX_WALK_ONLY_M); None: not within
        WINDOW_S. `near`: the point's stops, if known."""
        on_foot = _walk_only_seconds(self.origin, point)
        best = self.earliest + on_foot if on_foot is not None else _INF
        reached = self.reached
        for stop, walk in near if near is not None else self.tt.stops_near(point):
            if reached[stop] + walk < best:
                best = reached[stop] + walk
        return best if best < _INF else None


def _forward_scan(tt: Timetable, origin: Point, earliest: int, walk_dest: list[int] | None,
                  best: int) -> tuple[list[int], int]:
    """Earliest arrival by vehicle at every stop leaving `origin` at `earliest`, within WINDOW_S. With
    `walk_dest` (stop -> walk to one destination) it stops once nothing can beat `best` there."""
    c_dep, c_arr, c_from, c_to, c_trip = tt.c_dep, tt.c_arr, tt.c_from, tt.c_to, tt.c_trip
    change_s, transfers_out = tt.change_s, tt.transfers_out
    n_stops = len(tt.stop_names)
    ready = [_INF] * n_stops  # when one can board at a stop
    reached = [_INF] * n_stops  # arrival by vehicle
    for stop, seconds in tt.stops_near(origin):
        ready[stop] = earliest + seconds
    boarded = bytearray(len(tt.trip_of))
    lo = bisect_left(c_dep, earliest)
    hi = bisect_right(c_dep, earliest + WINDOW_S)
    for dep, arr, u, v, t in zip(c_dep[lo:hi], c_arr[lo:hi], c_from[lo:hi], c_to[lo:hi], c_trip[lo:hi]):
        if dep >= best:
            break
        if not boarded[t]:
            if ready[u] > dep:
                continue
            boarded[t] = 1
        if arr < reached[v]:
            reached[v] = arr
            if arr + change_s[v] < ready[v]:
                ready[v] = arr + change_s[v]
            for w, seconds in transfers_out[v]:
                if arr + seconds < ready[w]:
                    ready[w] = arr + seconds
            if walk_dest is not None and arr + walk_dest[v] < best:
                best = arr + walk_dest[v]
    return reached, best
