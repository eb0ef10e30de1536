"""Operators' GTFS feeds (.zip) read into one `TransitNetwork` (issue 16), checked on the way.

Only the standard library: `zipfile` and `csv` (utf-8-sig, as many feeds start with a BOM). stop_times.txt,
close to a million rows in a regional feed, is streamed row by row into `array('i')` columns; no row is
kept as a Python object. The GTFS readers on PyPI (gtfs-kit, partridge) load every table into pandas
for what is a CSV read.

Checks: a missing required file, a file that is not a zip, an empty file or missing required columns
stop the feed at once; row problems (unknown route, service, trip or stop; a bad time or date; times
going backwards within a trip; a trip with fewer than two stop times; a stop without coordinates) are
collected with file and line and raised together as one `FeedError` at the end.

Ids: every stop is "<feed>:<stop_id>" and every service "<feed>:<service_id>", the feed being the zip's
name without ".zip", so two feeds never collide. Stations (location_type 1) are not kept as stops; they
name their platforms without a name, and a transfer given between stations applies to their platforms.

Transfers: transfers.txt type 2 (min_transfer_time) as given, type 3 (not possible) suppresses the
walking transfer; rows bound to trips or routes are left out. Plus walking between any two stops (of
any feeds) within 300 m: straight line × 1.3 at 4.5 km/h, rounded up to whole minutes (so 60 s at least).
Not read: frequencies.txt, pickup_type/drop_off_type, shapes.
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from flows.domain.geo import distance_km
from flows.domain.transit_network import (
    FeedInfo,
    Service,
    StopTimes,
    Transfer,
    TransitNetwork,
    TransitStop,
    TransitTrip,
)

if TYPE_CHECKING:
    from _csv import Reader

Progress = Callable[[str, int, int], None]  # (file label, rows done, rows in total or 0 when unknown)

PROGRESS_EVERY = 50_000
MAX_SHOWN = 20  # problems listed in a FeedError; the rest are counted
WALK_RADIUS_M = 300.0
WALK_DETOUR = 1.3
WALK_SPEED_M_S = 4.5 / 3.6
LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENCE", "LICENCE.txt", "licence.txt", "license.txt")

WEEKDAY_COLUMNS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class FeedError(Exception):
    """A feed that cannot be used. `problems` holds the first MAX_SHOWN, `count` all of them."""

    def __init__(self, problems: Sequence[str], count: int | None = None) -> None:
        self.problems = list(problems)[:MAX_SHOWN]
        self.count = max(count or 0, len(problems))
        super().__init__(self._text())

    def _text(self) -> str:
        if self.count == 1 and self.problems:
            return f"GTFS feed rejected: {self.problems[0]}"
        lines = [f"GTFS feed rejected, {self.count} problems:"]
        lines += [f"  - {p}" for p in self.problems]
        if self.count > len(self.problems):
            lines.append(f"  … and {self.count - len(self.problems)} more")
        return "\n".join(lines)


class _Problems:
    def __init__(self) -> None:
        self.shown: list[str] = []
        self.count = 0

    def add(self, where: str, line: int | None, what: str) -> None:
        self.count += 1
        if len(self.shown) < MAX_SHOWN:
            self.shown.append(f"{where}:{line}: {what}" if line else f"{where}: {what}")

    def merge(self, error: FeedError) -> None:
        self.shown += error.problems[:MAX_SHOWN - len(self.shown)]
        self.count += error.count

    def raise_if_any(self) -> None:
        if self.count:
            raise FeedError(self.shown, self.count)


def parse_time(text: str) -> int | None:
    """"HH:MM:SS" or "H:MM:SS" (hours may pass 23) → seconds after the service day's midnight; None if bad."""
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[1]) != 2 or len(parts[2]) != 2:
        return None
    h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
    if m > 59 or s > 59 or h > 99:
        return None
    return h * 3600 + m * 60 + s


def format_time(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _parse_date(text: str) -> date | None:
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def walking_seconds(metres: float) -> int:
    """Straight line × detour at walking speed, rounded up to whole minutes (60 s at least)."""
    seconds = metres * WALK_DETOUR / WALK_SPEED_M_S
    return max(60, math.ceil(seconds / 60 - 1e-9) * 60)


@dataclass
class _Table:
    """One CSV file of a feed: its columns and rows (with their line numbers)."""

    where: str
    columns: dict[str, int]
    rows: Iterator[tuple[int, list[str]]]

    def col(self, name: str) -> int:
        return self.columns.get(name, -1)


@dataclass
class _ServiceParts:
    line: int
    weekdays: tuple[bool, bool, bool, bool, bool, bool, bool] = (False,) * 7
    start: date | None = None
    end: date | None = None
    added: set[date] = field(default_factory=set)
    removed: set[date] = field(default_factory=set)


class _Feed:
    """One zip being read into the shared network."""

    def __init__(self, path: Path, name: str, network: TransitNetwork, problems: _Problems,
                 progress: Progress | None) -> None:
        self.path = path
        self.name = name
        self.network = network
        self.problems = problems
        self.progress = progress
        self.zip = self._open(path)
        self.members = self._members()
        self.stops: dict[str, int] = {}  # stop_id → index in network.stops
        self.not_stops: dict[str, int] = {}  # stations, entrances, nodes, boarding areas → location_type
        self.stations: dict[str, str] = {}  # station id → name
        self.children: dict[str, list[int]] = {}  # station id → its stops' indices
        self.bad_stops: set[str] = set()  # rejected (already reported): their stop_times are skipped quietly
        self.routes: dict[str, tuple[str, int]] = {}
        self.bad_routes: set[str] = set()
        self.services: dict[str, int] = {}  # service_id → index in network.services
        self.trips: dict[str, tuple[int, str, int, int]] = {}  # trip_id → (service, route name, type, line)
        self.bad_trips: set[str] = set()
        self.given: dict[tuple[int, int], int] = {}
        self.forbidden: set[tuple[int, int]] = set()
        self.dates: list[date] = []

    # -- the zip -------------------------------------------------------------------------------------------

    def _open(self, path: Path) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(path)
        except FileNotFoundError:
            raise FeedError([f"{path}: no such file"]) from None
        except (zipfile.BadZipFile, OSError) as e:
            raise FeedError([f"{path.name}: not a GTFS zip file ({e})"]) from None

    def _members(self) -> dict[str, str]:
        """File name → member; files in one folder inside the zip (a common packaging) count too."""
        found: dict[str, str] = {}
        for info in self.zip.infolist():
            if info.is_dir():
                continue
            base = PurePosixPath(info.filename).name
            if base not in found or "/" not in info.filename:
                found[base] = info.filename
        return found

    def has(self, name: str) -> bool:
        return name in self.members

    def table(self, name: str, required: Sequence[str]) -> _Table:
        where = f"{self.path.name}/{name}"
        if name not in self.members:
            raise FeedError([f"{self.path.name}: {name} is missing (GTFS requires it)"])
        member = self.members[name]
        total = self._count_lines(member)
        text = io.TextIOWrapper(self.zip.open(member), encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader, None)
        except (UnicodeDecodeError, csv.Error) as e:
            raise FeedError([f"{where}:1: cannot be read as UTF-8 CSV ({e})"]) from None
        if header is None or not any(h.strip() for h in header):
            raise FeedError([f"{where}: empty file (no header line)"])
        columns = {h.strip(): i for i, h in enumerate(header)}
        missing = [c for c in required if c not in columns]
        if missing:
            raise FeedError([f"{where}:1: required column(s) missing: {', '.join(missing)}"])
        return _Table(where, columns, self._rows(where, reader, len(header), total))

    def _count_lines(self, member: str) -> int:
        """Rows for the progress bar (newlines minus the header; a quoted newline may count twice)."""
        count = 0
        try:
            with self.zip.open(member) as raw:
                while chunk := raw.read(1 << 20):
                    count += chunk.count(b"\n")
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise FeedError([f"{self.path.name}/{member}: the zip is damaged ({e})"]) from None
        return max(0, count - 1)

    def _rows(self, where: str, reader: Reader, width: int, total: int) -> Iterator[tuple[int, list[str]]]:
        done = 0
        label = where
        try:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) < width:
                    row += [""] * (width - len(row))
                done += 1
                if self.progress is not None and done % PROGRESS_EVERY == 0:
                    self.progress(label, done, max(total, done))
                yield reader.line_num, row
        except (UnicodeDecodeError, csv.Error) as e:
            raise FeedError([f"{where}:{reader.line_num + 1}: cannot be read as UTF-8 CSV ({e})"]) from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise FeedError([f"{where}: the zip is damaged ({e})"]) from None
        if self.progress is not None:
            self.progress(label, done, done)

    # -- the files -----------------------------------------------------------------------------------------

    def read(self) -> None:
        for required in ("stops.txt", "routes.txt", "trips.txt", "stop_times.txt"):
            if not self.has(required):
                raise FeedError([f"{self.path.name}: {required} is missing (GTFS requires it)"])
        if not self.has("calendar.txt") and not self.has("calendar_dates.txt"):
            raise FeedError([f"{self.path.name}: neither calendar.txt nor calendar_dates.txt (GTFS requires one)"])
        self.read_stops()
        self.read_routes()
        self.read_services()
        self.read_trips()
        self.read_stop_times()
        if self.has("transfers.txt"):
            self.read_transfers()

    def read_stops(self) -> None:
        t = self.table("stops.txt", ("stop_id",))
        c_id, c_name, c_lat, c_lon = t.col("stop_id"), t.col("stop_name"), t.col("stop_lat"), t.col("stop_lon")
        c_type, c_parent = t.col("location_type"), t.col("parent_station")
        unnamed: list[tuple[int, str, str]] = []  # (stop index, parent, stop_id)
        seen = 0
        for line, row in t.rows:
            seen += 1
            sid = row[c_id].strip()
            if not sid:
                self.problems.add(t.where, line, "stop_id is empty")
                continue
            if sid in self.stops or sid in self.not_stops or sid in self.bad_stops:
                self.problems.add(t.where, line, f"stop_id {sid!r} appears twice")
                continue
            kind = row[c_type].strip() if c_type >= 0 else ""
            name = row[c_name].strip() if c_name >= 0 else ""
            if kind not in ("", "0", "1", "2", "3", "4"):
                self.problems.add(t.where, line, f"stop {sid!r}: location_type {kind!r} is not 0–4")
                self.bad_stops.add(sid)
                continue
            if kind not in ("", "0"):
                self.not_stops[sid] = int(kind)
                if kind == "1":
                    self.stations[sid] = name
                continue
            lat_text = row[c_lat].strip() if c_lat >= 0 else ""
            lon_text = row[c_lon].strip() if c_lon >= 0 else ""
            if not lat_text or not lon_text:
                self.problems.add(t.where, line, f"stop {sid!r} has no coordinates (stop_lat/stop_lon)")
                self.bad_stops.add(sid)
                continue
            try:
                lat, lon = float(lat_text), float(lon_text)
            except ValueError:
                lat, lon = math.nan, math.nan
            if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
                self.problems.add(t.where, line, f"stop {sid!r}: coordinates {lat_text!r}, {lon_text!r} are not valid")
                self.bad_stops.add(sid)
                continue
            index = len(self.network.stops)
            self.network.stops.append(TransitStop(f"{self.name}:{sid}", name, lat, lon))
            self.stops[sid] = index
            parent = row[c_parent].strip() if c_parent >= 0 else ""
            if parent:
                self.children.setdefault(parent, []).append(index)
            if not name:
                unnamed.append((index, parent, sid))
        if not seen:
            self.problems.add(t.where, None, "no stops")
        for index, parent, sid in unnamed:  # GTFS lets a platform take its station's name
            self.network.stops[index] = replace(self.network.stops[index], name=self.stations.get(parent) or sid)

    def read_routes(self) -> None:
        t = self.table("routes.txt", ("route_id", "route_type"))
        c_id, c_type = t.col("route_id"), t.col("route_type")
        c_short, c_long = t.col("route_short_name"), t.col("route_long_name")
        for line, row in t.rows:
            rid = row[c_id].strip()
            if not rid:
                self.problems.add(t.where, line, "route_id is empty")
                continue
            if rid in self.routes:
                self.problems.add(t.where, line, f"route_id {rid!r} appears twice")
                continue
            kind = row[c_type].strip()
            if not kind.isdigit():
                self.problems.add(t.where, line, f"route {rid!r}: route_type {kind!r} is not a number")
                self.bad_routes.add(rid)
                continue
            short = row[c_short].strip() if c_short >= 0 else ""
            long = row[c_long].strip() if c_long >= 0 else ""
            self.routes[rid] = (short or long or rid, int(kind))
        if not self.routes and not self.bad_routes:
            self.problems.add(t.where, None, "no routes")

    def read_services(self) -> None:
        parts: dict[str, _ServiceParts] = {}
        if self.has("calendar.txt"):
            t = self.table("calendar.txt", ("service_id", *WEEKDAY_COLUMNS, "start_date", "end_date"))
            c_id, c_start, c_end = t.col("service_id"), t.col("start_date"), t.col("end_date")
            c_days = [t.col(d) for d in WEEKDAY_COLUMNS]
            for line, row in t.rows:
                sid = row[c_id].strip()
                if not sid:
                    self.problems.add(t.where, line, "service_id is empty")
                    continue
                if sid in parts:
                    self.problems.add(t.where, line, f"service_id {sid!r} appears twice")
                    continue
                flags = [row[c].strip() for c in c_days]
                if any(f not in ("0", "1") for f in flags):
                    self.problems.add(t.where, line, f"service {sid!r}: weekday columns must be 0 or 1")
                start, end = _parse_date(row[c_start]), _parse_date(row[c_end])
                if start is None or end is None:
                    self.problems.add(t.where, line, f"service {sid!r}: start_date/end_date must be YYYYMMDD, "
                                                     f"got {row[c_start]!r}, {row[c_end]!r}")
                else:
                    self.dates += [start, end]
                on = [f == "1" for f in flags]
                days = (on[0], on[1], on[2], on[3], on[4], on[5], on[6])
                parts[sid] = _ServiceParts(line, days, start, end)
        if self.has("calendar_dates.txt"):
            t = self.table("calendar_dates.txt", ("service_id", "date", "exception_type"))
            c_id, c_date, c_kind = t.col("service_id"), t.col("date"), t.col("exception_type")
            for line, row in t.rows:
                sid = row[c_id].strip()
                day = _parse_date(row[c_date])
                kind = row[c_kind].strip()
                if not sid:
                    self.problems.add(t.where, line, "service_id is empty")
                elif day is None:
                    self.problems.add(t.where, line, f"service {sid!r}: date {row[c_date]!r} is not YYYYMMDD")
                elif kind not in ("1", "2"):
                    self.problems.add(t.where, line, f"service {sid!r}: exception_type {kind!r} is not 1 or 2")
                else:
                    service = parts.setdefault(sid, _ServiceParts(line))
                    (service.added if kind == "1" else service.removed).add(day)
                    if kind == "1":
                        self.dates.append(day)
        for sid, p in parts.items():
            self.services[sid] = len(self.network.services)
            self.network.services.append(Service(f"{self.name}:{sid}", p.weekdays, p.start, p.end,
                                                 frozenset(p.added), frozenset(p.removed)))

    def read_trips(self) -> None:
        t = self.table("trips.txt", ("route_id", "service_id", "trip_id"))
        c_route, c_service, c_id = t.col("route_id"), t.col("service_id"), t.col("trip_id")
        for line, row in t.rows:
            tid, rid, sid = row[c_id].strip(), row[c_route].strip(), row[c_service].strip()
            if not tid:
                self.problems.add(t.where, line, "trip_id is empty")
                continue
            if tid in self.trips or tid in self.bad_trips:
                self.problems.add(t.where, line, f"trip_id {tid!r} appears twice")
                continue
            route = self.routes.get(rid)
            service = self.services.get(sid)
            if route is None:
                if rid not in self.bad_routes:
                    self.problems.add(t.where, line, f"trip {tid!r}: unknown route_id {rid!r} (not in routes.txt)")
                self.bad_trips.add(tid)
            elif service is None:
                self.problems.add(t.where, line, f"trip {tid!r}: unknown service_id {sid!r} "
                                                 "(not in calendar.txt or calendar_dates.txt)")
                self.bad_trips.add(tid)
            else:
                self.trips[tid] = (service, route[0], route[1], line)
        if not self.trips and not self.bad_trips:
            self.problems.add(t.where, None, "no trips")

    def read_stop_times(self) -> None:
        t = self.table("stop_times.txt", ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"))
        c_trip, c_arr, c_dep = t.col("trip_id"), t.col("arrival_time"), t.col("departure_time")
        c_stop, c_seq = t.col("stop_id"), t.col("stop_sequence")
        trip_ids: list[str] = []  # local trip number → trip_id, in order of first appearance
        local: dict[str, int] = {}
        # Columns of the raw rows (the trip is the local number): about 24 bytes a row.
        r_trip, r_seq, r_stop, r_arr, r_dep, r_line = (array("i") for _ in range(6))
        times: dict[str, int] = {"": -1}
        stops = self.stops
        grouped = True  # rows come trip by trip, in stop_sequence order (the usual case): no sort needed
        current, last_seq = -1, -1
        closed: set[int] = set()
        bad: set[int] = set()
        problems, where = self.problems, t.where
        for line, row in t.rows:
            tid = row[c_trip].strip()
            number = local.get(tid)
            if number is None:
                if tid not in self.trips:
                    if tid not in self.bad_trips:
                        problems.add(where, line, f"unknown trip_id {tid!r} (not in trips.txt)")
                        self.bad_trips.add(tid)
                    continue
                number = local[tid] = len(trip_ids)
                trip_ids.append(tid)
            sid = row[c_stop].strip()
            stop = stops.get(sid)
            if stop is None:
                bad.add(number)
                if sid in self.not_stops:
                    problems.add(where, line, f"trip {tid!r}: stop_id {sid!r} is a station or entrance "
                                              f"(location_type {self.not_stops[sid]}), not a stop")
                elif sid not in self.bad_stops:
                    problems.add(where, line, f"trip {tid!r}: unknown stop_id {sid!r} (not in stops.txt)")
                continue
            arr_text, dep_text = row[c_arr], row[c_dep]
            arr = times.get(arr_text)
            if arr is None:
                arr = parse_time(arr_text) if arr_text.strip() else -1
                if arr is None:
                    problems.add(where, line, f"trip {tid!r}: arrival_time {arr_text!r} is not H:MM:SS")
                    bad.add(number)
                    continue
                times[arr_text] = arr
            dep = times.get(dep_text)
            if dep is None:
                dep = parse_time(dep_text) if dep_text.strip() else -1
                if dep is None:
                    problems.add(where, line, f"trip {tid!r}: departure_time {dep_text!r} is not H:MM:SS")
                    bad.add(number)
                    continue
                times[dep_text] = dep
            seq_text = row[c_seq].strip()
            if not seq_text.isdigit():
                problems.add(where, line, f"trip {tid!r}: stop_sequence {seq_text!r} is not a number")
                bad.add(number)
                continue
            seq = int(seq_text)
            if grouped:
                if number != current:
                    if number in closed:
                        grouped = False
                    closed.add(current)
                    current = number
                elif seq <= last_seq:
                    grouped = False
                last_seq = seq
            r_trip.append(number)
            r_seq.append(seq)
            r_stop.append(stop)
            r_arr.append(arr)
            r_dep.append(dep)
            r_line.append(line)
        order: Sequence[int] = range(len(r_trip))
        if not grouped:
            order = sorted(order, key=lambda i: (r_trip[i], r_seq[i]))
        self._trips_in_order(order, trip_ids, bad, r_trip, r_seq, r_stop, r_arr, r_dep, r_line, where)
        for tid, (_, _, _, line) in self.trips.items():
            if tid not in local:
                self.problems.add(f"{self.path.name}/trips.txt", line, f"trip {tid!r} has no stop times")

    def _trips_in_order(self, order: Sequence[int], trip_ids: list[str], bad: set[int], r_trip: array[int],
                        r_seq: array[int], r_stop: array[int], r_arr: array[int], r_dep: array[int],
                        r_line: array[int], where: str) -> None:
        """Checks each trip's rows (in stop_sequence order) and appends the good trips to the network."""
        out: StopTimes = self.network.stop_times
        n = len(order)
        i = 0
        while i < n:
            number = r_trip[order[i]]
            j = i
            while j < n and r_trip[order[j]] == number:
                j += 1
            rows = [order[k] for k in range(i, j)]
            i = j
            if number in bad:
                continue
            tid = trip_ids[number]
            if len(rows) < 2:
                self.problems.add(where, r_line[rows[0]], f"trip {tid!r} has only one stop time (needs two)")
                continue
            arrs = [r_arr[r] for r in rows]
            deps = [r_dep[r] for r in rows]
            if not self._check_trip(tid, rows, arrs, deps, r_seq, r_line, where):
                continue
            service, route_name, route_type, _ = self.trips[tid]
            index = len(self.network.trips)
            self.network.trips.append(TransitTrip(service, route_name, route_type))
            for r, a, d in zip(rows, arrs, deps):
                out.append(index, r_stop[r], a, d)

    def _check_trip(self, tid: str, rows: list[int], arrs: list[int], deps: list[int], r_seq: array[int],
                    r_line: array[int], where: str) -> bool:
        """Fills a missing arrival or departure from the other, interpolates stops without times between
        two timed ones, and reports times that go backwards. Changes arrs/deps in place."""
        for k, r in enumerate(rows):
            if k and r_seq[r] == r_seq[rows[k - 1]]:
                self.problems.add(where, r_line[r], f"trip {tid!r}: stop_sequence {r_seq[r]} appears twice")
                return False
            if arrs[k] < 0:
                arrs[k] = deps[k]
            if deps[k] < 0:
                deps[k] = arrs[k]
        for k in (0, len(rows) - 1):
            if arrs[k] < 0:
                which = "first" if k == 0 else "last"
                self.problems.add(where, r_line[rows[k]], f"trip {tid!r}: the {which} stop needs a time")
                return False
        k = 1
        while k < len(rows):
            if arrs[k] >= 0:
                k += 1
                continue
            end = k
            while arrs[end] < 0:
                end += 1
            start_time, end_time, steps = deps[k - 1], arrs[end], end - k + 1
            for m in range(k, end):
                arrs[m] = deps[m] = start_time + (end_time - start_time) * (m - k + 1) // steps
            k = end
        for k, r in enumerate(rows):
            if deps[k] < arrs[k]:
                self.problems.add(where, r_line[r], f"trip {tid!r}: departs {format_time(deps[k])} before it "
                                                    f"arrives ({format_time(arrs[k])})")
                return False
            if k and arrs[k] < deps[k - 1]:
                self.problems.add(where, r_line[r], f"trip {tid!r}: arrives {format_time(arrs[k])}, before it "
                                                    f"left the previous stop ({format_time(deps[k - 1])}): "
                                                    "times go backwards")
                return False
        return True

    def read_transfers(self) -> None:
        t = self.table("transfers.txt", ("from_stop_id", "to_stop_id", "transfer_type"))
        c_from, c_to, c_type, c_time = (t.col(c) for c in ("from_stop_id", "to_stop_id", "transfer_type",
                                                             "min_transfer_time"))
        bound = [t.col(c) for c in ("from_trip_id", "to_trip_id", "from_route_id", "to_route_id") if t.col(c) >= 0]
        for line, row in t.rows:
            if any(row[c].strip() for c in bound):
                continue  # a transfer between two trips or routes: the planner knows only stops
            kind = row[c_type].strip() or "0"
            if kind not in ("0", "1", "2", "3", "4", "5"):
                self.problems.add(t.where, line, f"transfer_type {kind!r} is not 0–5")
                continue
            if kind not in ("2", "3"):
                continue
            ends = [self._resolve(row[c].strip(), t.where, line) for c in (c_from, c_to)]
            if ends[0] is None or ends[1] is None:
                continue
            pairs = [(a, b) for a in ends[0] for b in ends[1]]
            if kind == "3":
                self.forbidden.update(pairs)
                continue
            seconds_text = row[c_time].strip() if c_time >= 0 else ""
            if not seconds_text.isdigit():
                self.problems.add(t.where, line, f"transfer_type 2 needs min_transfer_time in seconds, "
                                                 f"got {seconds_text!r}")
                continue
            for pair in pairs:
                self.given[pair] = int(seconds_text)

    def _resolve(self, sid: str, where: str, line: int) -> list[int] | None:
        if sid in self.stops:
            return [self.stops[sid]]
        if sid in self.stations:
            return self.children.get(sid, [])
        if sid in self.not_stops or sid in self.bad_stops:
            return None
        self.problems.add(where, line, f"unknown stop_id {sid!r} (not in stops.txt)")
        return None

    # -- feed_info.txt, agency.txt, the licence ------------------------------------------------------------

    def info(self, licence: str | None) -> FeedInfo:
        agencies: list[str] = []
        url: str | None = None
        if self.has("agency.txt"):
            for row in self._optional_rows("agency.txt"):
                name = row.get("agency_name", "").strip()
                if name and name not in agencies:
                    agencies.append(name)
                url = url or row.get("agency_url", "").strip() or None
        publisher, version = "", None
        valid_from = min(self.dates, default=None)
        valid_to = max(self.dates, default=None)
        if self.has("feed_info.txt"):
            for row in self._optional_rows("feed_info.txt")[:1]:
                publisher = row.get("feed_publisher_name", "").strip()
                url = row.get("feed_publisher_url", "").strip() or url
                version = row.get("feed_version", "").strip() or None
                valid_from = _parse_date(row.get("feed_start_date", "")) or valid_from
                valid_to = _parse_date(row.get("feed_end_date", "")) or valid_to
        if licence is None:
            licence = self._licence_file()
        return FeedInfo(name=self.name, publisher=publisher or ", ".join(agencies) or self.name, url=url,
                        licence=licence, version=version, valid_from=valid_from, valid_to=valid_to,
                        agencies=tuple(agencies))

    def _optional_rows(self, name: str) -> list[dict[str, str]]:
        """A small optional file read leniently (information for the README, not for journeys)."""
        try:
            with self.zip.open(self.members[name]) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                return [{k.strip(): v for k, v in row.items() if k} for row in csv.DictReader(text)]
        except (UnicodeDecodeError, csv.Error):
            return []

    def _licence_file(self) -> str | None:
        """The first non-empty line of a LICENSE/licence.txt in the zip (e.g. "CC BY 4.0"), if there is one."""
        for name in LICENCE_FILES:
            if name in self.members:
                text = self.zip.read(self.members[name]).decode("utf-8-sig", errors="replace")
                for line in text.splitlines():
                    if line.strip():
                        return line.strip()[:200]
        return None


def feed_name(path: Path) -> str:
    """The prefix of a feed's ids: the zip's name without .zip (a colon would confuse "<feed>:<id>")."""
    return path.name.removesuffix(".zip").removesuffix(".ZIP").replace(":", "_").strip() or "feed"


def load_feeds(paths: list[Path], progress: Progress | None = None, *,
               licences: Mapping[str, str] | None = None) -> TransitNetwork:
    """Reads GTFS zips into one network. `licences` maps a feed's name (file name without .zip) to its
    licence as the operator states it (GTFS has no field for it); else a LICENSE file in the zip, else None.
    Raises FeedError listing what is wrong (file and line)."""
    if not paths:
        raise FeedError(["no GTFS feed given"])
    names = [feed_name(p) for p in paths]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FeedError([f"two feeds have the same name {n!r}: their ids would collide; rename one" for n in twice])
    network = TransitNetwork()
    problems = _Problems()
    given: dict[tuple[int, int], int] = {}
    forbidden: set[tuple[int, int]] = set()
    for path, name in zip(paths, names):
        try:  # a feed that cannot be read at all (no zip, a file or column missing): on to the next one
            feed = _Feed(path, name, network, problems, progress)
            with feed.zip:
                feed.read()
                network.feeds.append(feed.info((licences or {}).get(name)))
        except FeedError as e:
            problems.merge(e)
            continue
        given.update(feed.given)
        forbidden |= feed.forbidden
    problems.raise_if_any()
    network.transfers = _transfers(network.stops, given, forbidden)
    if progress is not None:
        progress("transfers", len(network.transfers), len(network.transfers))
    return network


def _transfers(stops: list[TransitStop], given: dict[tuple[int, int], int],
               forbidden: set[tuple[int, int]]) -> list[Transfer]:
    """transfers.txt's minimum times plus walking between stops within WALK_RADIUS_M (both directions),
    found through a grid of cells WALK_RADIUS_M wide so that only neighbouring cells are compared."""
    seconds = dict(given)
    if stops:
        cell_lat = math.degrees(WALK_RADIUS_M / 1000 / 6371.0088)
        widest = max(abs(s.lat) for s in stops)
        cell_lon = cell_lat / max(0.01, math.cos(math.radians(min(89.0, widest + cell_lat))))
        grid: dict[tuple[int, int], list[int]] = {}
        for i, s in enumerate(stops):
            grid.setdefault((math.floor(s.lat / cell_lat), math.floor(s.lon / cell_lon)), []).append(i)
        for (y, x), members in grid.items():
            near = [j for dy in (-1, 0, 1) for dx in (-1, 0, 1) for j in grid.get((y + dy, x + dx), ())]
            for i in members:
                a = stops[i]
                for j in near:
                    if j <= i:
                        continue
                    b = stops[j]
                    metres = distance_km(a.lat, a.lon, b.lat, b.lon) * 1000
                    if metres > WALK_RADIUS_M:
                        continue
                    walk = walking_seconds(metres)
                    for pair in ((i, j), (j, i)):
                        if pair not in seconds and pair not in forbidden:
                            seconds[pair] = walk
    return [Transfer(a, b, s) for (a, b), s in sorted(seconds.items())]
