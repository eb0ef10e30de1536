"""GTFS feeds for tests and the benchmark (issue 16).

`write_feed` writes a zip from plain lists, so a test can hand-build a small network whose journeys it can
work out by hand. Rows are tuples in the columns below or dicts of GTFS columns (for anything else):

    stops          (stop_id, stop_name, stop_lat, stop_lon)
    routes         (route_id, route_short_name, route_type)
    trips          (route_id, service_id, trip_id)
    stop_times     (trip_id, stop_id, arrival_time, departure_time)   stop_sequence counts 1, 2, … per trip;
                   departure None = the arrival
    calendar       (service_id, "1111100", start_date, end_date)      weekdays Monday..Sunday
    calendar_dates (service_id, date, exception_type)                 1 added, 2 removed
    transfers      (from_stop_id, to_stop_id, transfer_type, min_transfer_time)
    feed_info      {column: value}

Dates may be `date`s or "YYYYMMDD". Without calendar and calendar_dates, every service runs daily in
2025–2027. `omit` leaves files out ("calendar.txt"), `raw` writes a file's text exactly as given.

`generate_feed` writes a regional network of the benchmark's size: towns with stops around them, bus lines
of 8–25 stops between neighbouring stops, a few rail lines between towns, services on weekdays,
Saturdays (and holidays) and daily with holiday exceptions, departures 04:30–23:30. Deterministic per seed.
"""
from __future__ import annotations

import csv
import io
import math
import random
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

Row = Sequence[object] | Mapping[str, object]

COLUMNS: dict[str, tuple[str, ...]] = {
    "stops.txt": ("stop_id", "stop_name", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id", "route_short_name", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "stop_id", "arrival_time", "departure_time"),
    "calendar.txt": ("service_id", "days", "start_date", "end_date"),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "transfers.txt": ("from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"),
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
AGENCY = {"agency_id": "TV", "agency_name": "Testverkehr Lausitz", "agency_url": "https://example.org",
          "agency_timezone": "Europe/Berlin"}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def _dicts(name: str, rows: Iterable[Row]) -> list[dict[str, str]]:
    out = []
    for row in rows:
        item = dict(row) if isinstance(row, Mapping) else dict(zip(COLUMNS[name], row))
        if "days" in item:
            days = str(item.pop("days"))
            item.update(zip(WEEKDAYS, days))
        out.append({k: _text(v) for k, v in item.items()})
    return out


def _csv(rows: list[dict[str, str]], first: Sequence[str] = ()) -> str:
    header: list[str] = [c for c in first if any(c in r for r in rows)] if rows else list(first)
    for row in rows:
        header += [k for k in row if k not in header]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header])
    return buffer.getvalue()


def write_feed(path: Path, *, stops: Iterable[Row], routes: Iterable[Row], trips: Iterable[Row],
               stop_times: Iterable[Row], calendar: Iterable[Row] | None = None,
               calendar_dates: Iterable[Row] | None = None, transfers: Iterable[Row] | None = None,
               feed_info: Mapping[str, object] | None = None, omit: frozenset[str] | set[str] = frozenset(),
               raw: Mapping[str, str] | None = None) -> Path:
    trip_rows = _dicts("trips.txt", trips)
    times = _dicts("stop_times.txt", stop_times)
    counter: dict[str, int] = {}
    for row in times:
        counter[row["trip_id"]] = counter.get(row["trip_id"], 0) + 1
        row.setdefault("stop_sequence", str(counter[row["trip_id"]]))
        if not row.get("departure_time"):
            row["departure_time"] = row.get("arrival_time", "")
    if calendar is None and calendar_dates is None:
        services = dict.fromkeys(r["service_id"] for r in trip_rows)
        calendar = [(s, "1111111", "20250101", "20271231") for s in services]
    files: dict[str, str] = {
        "agency.txt": _csv([dict(AGENCY)]),
        "stops.txt": _csv(_dicts("stops.txt", stops), COLUMNS["stops.txt"]),
        "routes.txt": _csv(_dicts("routes.txt", routes), COLUMNS["routes.txt"]),
        "trips.txt": _csv(trip_rows, COLUMNS["trips.txt"]),
        "stop_times.txt": _csv(times, ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence")),
    }
    if calendar is not None:
        files["calendar.txt"] = _csv(_dicts("calendar.txt", calendar), ("service_id", *WEEKDAYS))
    if calendar_dates is not None:
        files["calendar_dates.txt"] = _csv(_dicts("calendar_dates.txt", calendar_dates))
    if transfers is not None:
        files["transfers.txt"] = _csv(_dicts("transfers.txt", transfers), COLUMNS["transfers.txt"])
    if feed_info is not None:
        files["feed_info.txt"] = _csv([{k: _text(v) for k, v in feed_info.items()}])
    files.update(raw or {})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, text in files.items():
            if name not in omit:
                out.writestr(name, text)
    return path


# -- a generated regional network -----------------------------------------------------------------------

@dataclass(frozen=True)
class GeneratedFeed:
    path: Path
    stops: int
    routes: int
    trips: int
    stop_times: int


HOLIDAYS = [date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 14),
            date(2026, 5, 25), date(2026, 10, 3), date(2026, 10, 31), date(2026, 12, 25), date(2026, 12, 26),
            date(2027, 1, 1), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 1), date(2027, 5, 6),
            date(2027, 5, 17), date(2027, 10, 3), date(2027, 10, 31), date(2027, 12, 25), date(2027, 12, 26)]
PLACES = ("Markt", "Schule", "Kirche", "Post", "Friedhof", "Am Teich", "Siedlung", "Gewerbegebiet", "Dorfstraße",
          "Waldweg", "Gasthof", "Sportplatz", "Feuerwehr", "Rathaus", "Mühle", "Wendeschleife")
SYLLABLES = ("Schlei", "Wei", "Boh", "Kro", "Spre", "Lau", "Neu", "Alt", "Ho", "Gro", "Ruh", "Dre", "Lu", "Ka")
ENDINGS = ("witz", "ow", "au", "berg", "dorf", "tal", "hain", "rode", "litz", "feld")
FIRST_MINUTE, LAST_MINUTE = 4 * 60 + 30, 23 * 60 + 30


def _time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


class _Grid:
    """Points on a km plane bucketed in square cells, for 'the nearest unvisited points ahead'."""

    def __init__(self, points: list[tuple[float, float]], ids: list[int], cell_km: float) -> None:
        self.points, self.cell = points, cell_km
        self.cells: dict[tuple[int, int], list[int]] = {}
        for i in ids:
            x, y = points[i]
            self.cells.setdefault((math.floor(x / cell_km), math.floor(y / cell_km)), []).append(i)

    def ahead(self, at: int, heading: float, used: set[int], rng: random.Random, max_rings: int) -> int | None:
        x, y = self.points[at]
        cx, cy = math.floor(x / self.cell), math.floor(y / self.cell)
        found: list[tuple[float, int]] = []
        for ring in range(max_rings + 1):
            for i in range(-ring, ring + 1):
                for j in range(-ring, ring + 1):
                    if max(abs(i), abs(j)) != ring:
                        continue
                    for k in self.cells.get((cx + i, cy + j), ()):
                        if k in used:
                            continue
                        dx, dy = self.points[k][0] - x, self.points[k][1] - y
                        d = math.hypot(dx, dy)
                        if d < 0.1:
                            continue
                        turn = abs((math.atan2(dy, dx) - heading + math.pi) % (2 * math.pi) - math.pi)
                        if turn < math.radians(100):
                            found.append((d * (1 + turn) * rng.uniform(0.8, 1.25), k))
            if len(found) >= 3 and ring >= 1:
                break
        return min(found)[1] if found else None


def _line(grid: _Grid, start: int, length: int, rng: random.Random, max_rings: int) -> list[int]:
    line, used = [start], {start}
    heading = rng.uniform(-math.pi, math.pi)
    while len(line) < length:
        nxt = grid.ahead(line[-1], heading, used, rng, max_rings)
        if nxt is None:
            break
        (x0, y0), (x1, y1) = grid.points[line[-1]], grid.points[nxt]
        heading = math.atan2(y1 - y0, x1 - x0) * 0.5 + heading * 0.5 + rng.uniform(-0.3, 0.3)
        line.append(nxt)
        used.add(nxt)
    return line


def generate_feed(path: Path, *, stops: int = 5000, trips: int = 50000, seed: int = 1,
                  centre: tuple[float, float] = (51.5, 14.3), radius_km: float = 60,
                  valid: tuple[date, date] = (date(2026, 1, 1), date(2027, 12, 31))) -> GeneratedFeed:
    rng = random.Random(seed)
    lat0, lon0 = centre
    km_lat, km_lon = 110.574, 111.320 * math.cos(math.radians(lat0))

    def in_disc(r_max: float) -> tuple[float, float]:
        r, a = r_max * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        return r * math.cos(a), r * math.sin(a)

    towns = max(3, stops // 40)
    town_at = [in_disc(radius_km) for _ in range(towns)]
    town_names = [f"{rng.choice(SYLLABLES)}{rng.choice(ENDINGS)}" for _ in range(towns)]
    points: list[tuple[float, float]] = []
    names: list[str] = []
    station_of_town: list[int] = []
    for t in range(towns):  # the first stop of each town is its station
        points.append(town_at[t])
        names.append(f"{town_names[t]} Bahnhof")
        station_of_town.append(t)
    counts: dict[str, int] = {}
    for _ in range(stops - towns):
        if rng.random() < 0.15:
            points.append(in_disc(radius_km))
            name = f"Abzweig {rng.choice(town_names)}"
        else:
            t = rng.randrange(towns)
            spread = rng.uniform(0.3, 1.5)
            points.append((town_at[t][0] + rng.gauss(0, spread), town_at[t][1] + rng.gauss(0, spread)))
            name = f"{town_names[t]}, {rng.choice(PLACES)}"
        counts[name] = counts.get(name, 0) + 1
        names.append(name if counts[name] == 1 else f"{name} {counts[name]}")

    bus_grid = _Grid(points, list(range(len(points))), 2.0)
    rail_grid = _Grid(points, station_of_town, 8.0)
    rail_lines = max(1, stops // 800)
    bus_lines = max(2, trips // 40)
    lines: list[tuple[str, int, list[int]]] = []  # (short name, route_type, stops)
    for r in range(rail_lines):
        line = _line(rail_grid, rng.randrange(towns), rng.randint(8, 25), rng, 12)
        if len(line) >= 2:
            lines.append((f"RB {r + 1}" if r % 2 else f"RE {r + 1}", 2, line))
    unserved = list(range(len(points)))
    rng.shuffle(unserved)
    served: set[int] = set()
    for b in range(bus_lines):
        best: list[int] = []
        for _ in range(4):
            while unserved and unserved[-1] in served:
                unserved.pop()
            first = unserved[-1] if unserved and rng.random() < 0.7 else rng.randrange(len(points))
            line = _line(bus_grid, first, rng.randint(8, 25), rng, 15)
            if len(line) > len(best):
                best = line
            if len(best) >= 8:
                break
        if len(best) >= 2:
            served.update(best)
            lines.append((str(100 + b), 3, best))

    def hop_minutes(a: int, b: int, kind: int) -> int:
        d = math.dist(points[a], points[b]) * 1.3
        return max(1, round(d / (70 if kind == 2 else 25) * 60 + (0 if kind == 2 else 0.5)))

    rail_trips = min(trips // 10, len([x for x in lines if x[1] == 2]) * 36)
    per_line: list[int] = []
    rail_count = sum(1 for x in lines if x[1] == 2)
    bus_count = len(lines) - rail_count
    for kind in (x[1] for x in lines):
        per_line.append(rail_trips // max(1, rail_count) if kind == 2 else (trips - rail_trips) // max(1, bus_count))
    short = trips - sum(per_line)
    for i in range(short):
        per_line[i % len(per_line)] += 1

    start, end = valid
    holidays = [d for d in HOLIDAYS if start <= d <= end]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("agency.txt", _csv([dict(AGENCY)]))
        out.writestr("feed_info.txt", _csv([{"feed_publisher_name": "Testverkehr Lausitz",
                                             "feed_publisher_url": "https://example.org", "feed_lang": "de",
                                             "feed_version": f"generated-{seed}",
                                             "feed_start_date": _text(start), "feed_end_date": _text(end)}]))
        stop_rows = [{"stop_id": f"S{i:05d}", "stop_name": names[i],
                      "stop_lat": f"{lat0 + y / km_lat:.6f}", "stop_lon": f"{lon0 + x / km_lon:.6f}"}
                     for i, (x, y) in enumerate(points)]
        out.writestr("stops.txt", _csv(stop_rows))
        out.writestr("routes.txt", _csv([{"route_id": f"R{i}", "agency_id": "TV", "route_short_name": name,
                                          "route_type": str(kind)} for i, (name, kind, _) in enumerate(lines)]))
        out.writestr("calendar.txt", _csv(_dicts("calendar.txt", [
            ("WD", "1111100", start, end), ("SA", "0000010", start, end), ("DAILY", "1111111", start, end)])))
        out.writestr("calendar_dates.txt", _csv(
            [{"service_id": "WD", "date": _text(d), "exception_type": "2"} for d in holidays]
            + [{"service_id": "SA", "date": _text(d), "exception_type": "1"} for d in holidays]
            + [{"service_id": "DAILY", "date": _text(d), "exception_type": "2"} for d in holidays
               if d.month == 12 and d.day == 25]
            + [{"service_id": "SA", "date": _text(d + timedelta(days=1)), "exception_type": "1"}
               for d in holidays if d.month == 12 and d.day == 25]))
        trip_rows: list[dict[str, str]] = []
        rows = 0
        with out.open("stop_times.txt", "w") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"])
            for number, ((_, kind, line), count) in enumerate(zip(lines, per_line)):
                hops = [hop_minutes(a, b, kind) for a, b in zip(line, line[1:])]
                span = LAST_MINUTE - FIRST_MINUTE
                for k in range(count):
                    trip_id = f"T{number}_{k}"
                    service = "DAILY" if kind == 2 else rng.choices(("WD", "SA", "DAILY"), (6, 2, 2))[0]
                    trip_rows.append({"route_id": f"R{number}", "service_id": service, "trip_id": trip_id,
                                      "direction_id": str(k % 2)})
                    sequence = line if k % 2 == 0 else line[::-1]
                    minutes = hops if k % 2 == 0 else hops[::-1]
                    t = FIRST_MINUTE + (span * (k // 2)) // max(1, (count + 1) // 2) + rng.randint(0, 4)
                    for seq, stop in enumerate(sequence):
                        if seq:
                            t += minutes[seq - 1]
                        dwell = 1 if kind == 2 and 0 < seq < len(sequence) - 1 else 0
                        writer.writerow([trip_id, _time(t), _time(t + dwell), f"S{stop:05d}", seq + 1])
                        t += dwell
                        rows += 1
            text.flush()
            text.detach()
        out.writestr("trips.txt", _csv(trip_rows))
    return GeneratedFeed(path, len(points), len(lines), len(trip_rows), rows)
