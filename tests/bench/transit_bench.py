"""The journey planner (issue 16 point 5) on a feed of the size of a regional network: a generated GTFS zip
(tests/fakes/gtfs_feed.py, BENCH_TRANSIT_STOPS 5,000 stops, BENCH_TRANSIT_TRIPS 50,000 trips) read by
`load_feeds`, kept with `save_network` and read back with `load_network`, turned into the next ordinary
Monday's `Timetable`, then journeys for 10,000 homes (random points within the network's area, fixed seed) to
25 destinations (20 companies by 07:30, 5 Berufsschulen by 08:00, at random stops):

- uncached `arrive_by` for a sample of homes (target p95 < 50 ms), checked against the cached answer;
- `DestinationProfile.build` per destination (the cache, one per destination and day);
- cached `journey_from` for every home × destination (target p95 < 1 ms);
- the same uncached queries once more after `gc.freeze()` (the collector's full passes over the loaded
  network are what pushes the p95 up);
- the baseline measured in the same run: today's straight-line km (`distance_km`) for the same pairs, so the
  figures are also given as ratios against it.

Memory: peak RSS growth of the process while loading (first load), tracemalloc's heap peak of a second load,
and the heap the Timetable and one DestinationProfile keep. Generating the feed is timed but is not a figure.

    BENCH_TRANSIT_STOPS=5000 BENCH_TRANSIT_TRIPS=50000 .venv/bin/python -m tests.bench.transit_bench
"""
from __future__ import annotations

import gc
import math
import os
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flows.domain.geo import distance_km
from flows.domain.journeys import DestinationProfile, Journey, Point, Timetable, arrive_by, metres_between
from flows.domain.transit_network import TransitNetwork
from tests.bench.results import OUT, percentiles, run_and_save
from tests.fakes.gtfs_feed import generate_feed
from transit import load_feeds, load_network, save_network

STOPS = int(os.environ.get("BENCH_TRANSIT_STOPS", "5000"))
TRIPS = int(os.environ.get("BENCH_TRANSIT_TRIPS", "50000"))
HOMES = 10_000
UNCACHED_SAMPLE = 300
COMPANIES, SCHOOLS = 20, 5
COMPANY_BY, SCHOOL_BY = 7 * 3600 + 1800, 8 * 3600  # at work by 07:30, at the Berufsschule by 08:00
SEED = 16
FROM_DAY = date(2026, 1, 1)  # the generated feed runs 2026-2027: the first ordinary Monday on or after this


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _monday(network: TransitNetwork, start: date) -> date:
    """The first Monday on or after `start` on which every service that runs on Mondays runs (no holiday)."""
    day = start + timedelta(days=(7 - start.weekday()) % 7)
    mondays = [s for s in network.services if s.weekdays[0]]
    for _ in range(200):
        if mondays and all(s.runs_on(day) for s in mondays):
            return day
        day += timedelta(days=7)
    raise RuntimeError("no Monday on which the feed's Monday services run")


def homes_near_stops(network: TransitNetwork, tt: Timetable, n: int, rng: random.Random) -> tuple[list[Point], int]:
    """`n` points drawn uniformly in the disc around the stops' centre that holds 95 % of the stops, keeping
    only those with a stop within walking reach (a home without one gets "no connection" at once, which would
    flatter the figures); returns the homes and how many points were drawn."""
    lat0 = statistics.fmean(s.lat for s in network.stops)
    lon0 = statistics.fmean(s.lon for s in network.stops)
    radii = sorted(metres_between((lat0, lon0), (s.lat, s.lon)) for s in network.stops)
    radius = radii[int(0.95 * (len(radii) - 1))]
    per_lat = 6_371_008.8 * math.pi / 180
    per_lon = per_lat * math.cos(math.radians(lat0))
    homes: list[Point] = []
    drawn = 0
    while len(homes) < n:
        drawn += 1
        r, a = radius * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        home = (lat0 + r * math.sin(a) / per_lat, lon0 + r * math.cos(a) / per_lon)
        if tt.stops_near(home):
            homes.append(home)
    return homes, drawn


def _same(a: Journey | None, b: Journey | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.departure, a.arrival) == (b.departure, b.arrival)


def _us(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds) or [0.0]
    return {"p50_us": round(statistics.median(ordered) * 1e6, 2),
            "p95_us": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1e6, 2)}


def run(stops: int = STOPS, trips: int = TRIPS) -> dict[str, Any]:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        feed_path = Path(tmp) / "regional.zip"
        started = time.perf_counter()
        feed = generate_feed(feed_path, stops=stops, trips=trips, seed=1)
        generate_s = time.perf_counter() - started
        feed_mib = feed_path.stat().st_size / 2**20

        gc.collect()
        rss_before = _peak_rss_mib()
        started = time.perf_counter()
        network = load_feeds([feed_path])
        load_s = time.perf_counter() - started
        rss_growth = _peak_rss_mib() - rss_before
        del network
        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        network = load_feeds([feed_path])
        load_traced_s = time.perf_counter() - started
        network_kept, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        stored = Path(tmp) / "transit.network"
        started = time.perf_counter()
        save_network(network, stored)
        save_s = time.perf_counter() - started
        stored_mib = stored.stat().st_size / 2**20
        started = time.perf_counter()
        network = load_network(stored)
        read_s = time.perf_counter() - started

    day = _monday(network, FROM_DAY)
    started = time.perf_counter()
    tt = Timetable.for_day(network, day)
    timetable_s = time.perf_counter() - started

    homes, drawn = homes_near_stops(network, tt, HOMES, rng)
    chosen = rng.sample(range(len(network.stops)), COMPANIES + SCHOOLS)
    destinations: list[tuple[str, Point, int]] = [
        ("company" if k < COMPANIES else "school", (network.stops[i].lat, network.stops[i].lon),
         COMPANY_BY if k < COMPANIES else SCHOOL_BY) for k, i in enumerate(chosen)]

    # (a) uncached: one scan per query
    sample = [(homes[k], k % len(destinations)) for k in range(UNCACHED_SAMPLE)]
    uncached_s: list[float] = []
    uncached: list[Journey | None] = []
    for home, d in sample:
        _, where, by = destinations[d]
        started = time.perf_counter()
        journey = arrive_by(tt, home, where, by)
        uncached_s.append(time.perf_counter() - started)
        uncached.append(journey)

    # the same, with the objects alive so far moved out of the collector's sight (gc.freeze, as a long-running
    # process may do once the network is loaded): the difference is the garbage collector's full passes
    gc.collect()
    gc.freeze()
    frozen_s: list[float] = []
    for home, d in sample:
        _, where, by = destinations[d]
        started = time.perf_counter()
        arrive_by(tt, home, where, by)
        frozen_s.append(time.perf_counter() - started)
    gc.unfreeze()

    # (b) + (c): one profile per destination (built, queried for every home, let go)
    build_s: list[float] = []
    entries: list[int] = []
    cached_s: list[float] = []
    found = 0
    minutes: list[int] = []
    changes: list[int] = []
    mismatches = 0
    for d, (_, where, by) in enumerate(destinations):
        started = time.perf_counter()
        profile = DestinationProfile.build(tt, where, by)
        build_s.append(time.perf_counter() - started)
        entries.append(len(profile.e_dep))
        for home in homes:
            started = time.perf_counter()
            journey = profile.journey_from(home)
            cached_s.append(time.perf_counter() - started)
            if journey is not None:
                found += 1
                minutes.append(journey.minutes)
                changes.append(journey.changes)
        for k, (home, sd) in enumerate(sample):
            if sd == d and not _same(uncached[k], profile.journey_from(home)):
                mismatches += 1
        del profile

    # the baseline: today's straight-line km for the same pairs
    baseline_s: list[float] = []
    for _, (lat2, lon2), _ in destinations:
        for lat1, lon1 in homes:
            started = time.perf_counter()
            distance_km(lat1, lon1, lat2, lon2)
            baseline_s.append(time.perf_counter() - started)

    gc.collect()
    tracemalloc.start()
    tt = Timetable.for_day(network, day)
    timetable_heap = tracemalloc.get_traced_memory()[0]
    kept = DestinationProfile.build(tt, destinations[0][1], destinations[0][2])
    profile_heap = tracemalloc.get_traced_memory()[0] - timetable_heap
    tracemalloc.stop()
    del kept

    baseline = _us(baseline_s)
    cached = percentiles(cached_s)
    cached_us = _us(cached_s)
    uncached_ms = percentiles(uncached_s)
    base_p50 = baseline["p50_us"] or 1e-3
    return {
        "feed": {"stops": feed.stops, "routes": feed.routes, "trips": feed.trips, "stop_times": feed.stop_times,
                 "zip_mib": round(feed_mib, 1), "generate_s": round(generate_s, 1)},
        "network": {"stops": len(network.stops), "trips": len(network.trips), "stop_times": len(network.stop_times),
                    "transfers": len(network.transfers), "services": len(network.services)},
        "load_feeds": {"seconds": round(load_s, 2), "peak_rss_growth_mib": round(rss_growth, 1),
                       "seconds_under_tracemalloc": round(load_traced_s, 2),
                       "heap_peak_mib": round(heap_peak / 2**20, 1), "network_heap_mib": round(network_kept / 2**20, 1)},
        "save_network": {"seconds": round(save_s, 2), "file_mib": round(stored_mib, 2)},
        "load_network": {"seconds": round(read_s, 2)},
        "timetable": {"day": day.isoformat(), "seconds": round(timetable_s, 2), "connections": len(tt),
                      "heap_mib": round(timetable_heap / 2**20, 1)},
        "homes": HOMES, "points_drawn_for_the_homes": drawn,
        "destinations": {"companies": COMPANIES, "by": "07:30", "schools": SCHOOLS, "schools_by": "08:00"},
        "arrive_by_uncached": {**uncached_ms, "queries": len(uncached_s),
                               "with_journey": sum(1 for j in uncached if j is not None),
                               "differs_from_cached": mismatches,
                               "p50_ratio_to_baseline": round(uncached_ms["p50_ms"] * 1000 / base_p50)},
        "arrive_by_uncached_gc_frozen": percentiles(frozen_s),
        "profile_build": {**percentiles(build_s), "entries_median": int(statistics.median(entries)),
                          "one_profile_heap_mib": round(profile_heap / 2**20, 1)},
        "journey_from_cached": {**cached, **cached_us, "queries": len(cached_s), "with_journey": found,
                                "share_with_journey": round(found / len(cached_s), 3) if cached_s else 0.0,
                                "minutes_median": statistics.median(minutes) if minutes else None,
                                "changes_median": statistics.median(changes) if changes else None,
                                "p50_ratio_to_baseline": round(cached_us["p50_us"] / base_p50, 1)},
        "baseline_straight_line": {**baseline, "queries": len(baseline_s)},
        "targets": {"arrive_by_p95_ms": 50, "journey_from_p95_ms": 1},
    }


def print_table(r: dict[str, Any]) -> None:
    f, n, lf = r["feed"], r["network"], r["load_feeds"]
    print(f"\nJourney planner: a generated regional feed of {f['stops']:,} stops, {f['routes']:,} routes, "
          f"{f['trips']:,} trips, {f['stop_times']:,} stop times ({f['zip_mib']} MiB zip; generated in "
          f"{f['generate_s']} s, not a figure); {n['transfers']:,} transfers")
    print("| step | s | memory |")
    print("|---|---|---|")
    print(f"| load_feeds (GTFS zip → network) | {lf['seconds']} | peak RSS +{lf['peak_rss_growth_mib']} MiB; "
          f"heap peak {lf['heap_peak_mib']} MiB, network kept {lf['network_heap_mib']} MiB (tracemalloc, "
          f"{lf['seconds_under_tracemalloc']} s) |")
    print(f"| save_network | {r['save_network']['seconds']} | file {r['save_network']['file_mib']} MiB |")
    print(f"| load_network | {r['load_network']['seconds']} | |")
    t = r["timetable"]
    print(f"| Timetable.for_day ({t['day']}, {t['connections']:,} connections) | {t['seconds']} | "
          f"heap {t['heap_mib']} MiB |")
    p = r["profile_build"]
    print(f"| DestinationProfile.build, per destination (p50 / p95 / max) | {p['p50_ms'] / 1000:.2f} / "
          f"{p['p95_ms'] / 1000:.2f} / {p['max_ms'] / 1000:.2f} | one profile {p['one_profile_heap_mib']} MiB ({p['entries_median']:,} entries) |")
    u, c, b = r["arrive_by_uncached"], r["journey_from_cached"], r["baseline_straight_line"]
    print(f"\n{r['homes']:,} homes: random points in the network's area with a stop within walking reach "
          f"({r['points_drawn_for_the_homes']:,} points drawn), 20 companies by 07:30 and 5 Berufsschulen by 08:00 at random stops")
    print("| query | queries | p50 | p95 | max | p50 / baseline | target |")
    print("|---|---|---|---|---|---|---|")
    print(f"| arrive_by, uncached | {u['queries']} | {u['p50_ms']} ms | {u['p95_ms']} ms | {u['max_ms']} ms | "
          f"{u['p50_ratio_to_baseline']}× | p95 < 50 ms |")
    z = r["arrive_by_uncached_gc_frozen"]
    print(f"| arrive_by, uncached, after gc.freeze() | {u['queries']} | {z['p50_ms']} ms | {z['p95_ms']} ms | "
          f"{z['max_ms']} ms | | p95 < 50 ms |")
    print(f"| journey_from, cached profile | {c['queries']:,} | {c['p50_us']} µs | {c['p95_us']} µs | "
          f"{c['max_ms']} ms | {c['p50_ratio_to_baseline']}× | p95 < 1 ms |")
    print(f"| baseline: straight-line km (distance_km) | {b['queries']:,} | {b['p50_us']} µs | {b['p95_us']} µs | "
          f"| 1× | |")
    print(f"journeys found: {c['share_with_journey']:.1%} of home × destination pairs (uncached sample "
          f"{u['with_journey']}/{u['queries']}, {u['differs_from_cached']} differing from the cached answer); "
          f"median {c['minutes_median']} min door to door, median changes {c['changes_median']}")


def main(out: Path = OUT) -> dict[str, Any]:
    return run_and_save("transit_bench", run, print_table, out)


if __name__ == "__main__":
    main()
