"""Commutes (issue 16 points 2, 3 and 5) as the bot serves them: planned per destination for every home area,
kept in the database, read per card and per ranking filter.

A generated regional feed (tests/fakes/gtfs_feed.py: BENCH_TRANSIT_STOPS 5,000 stops, BENCH_TRANSIT_TRIPS
50,000 trips around Lusatia), its reference school day's timetable, 1,760 home areas (as many as the three
regions have postcode places with their own coordinates) at random points with a stop within walking reach (in
a real feed every village has its stop; the generated stops are not at the real places), and
BENCH_COMMUTE_DESTINATIONS (40) of them as destinations:

- `plan_destination` per destination (one profile scan, one forward scan, every home within 100 km), and the
  projected time of a night's full plan for 500 destinations;
- writing the rows (`CommuteStore.save_destination`) into a fresh SQLite database;
- reading them as cards and pages do (`lookup`: one home, an offer and its Berufsschule; target < 1 ms) and as
  the ranking filter does (`reachable`: one home, every destination within 60 minutes), against the baseline
  measured in the same run: reading the plan's one row by its key.

    .venv/bin/python -m tests.bench.commute_bench
"""
from __future__ import annotations

import asyncio
import gc
import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from content import default_directory
from flows.domain.commute import FILTER_MINUTES, plan_destination, reference_school_day, within_reach
from flows.domain.journeys import Point, Timetable
from flows.domain.working_days import is_working_day
from storage.commutes import CommuteStore
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.bench.results import OUT, run_and_save
from tests.bench.search_bench import NOW, FixedClock
from tests.bench.transit_bench import homes_near_stops
from tests.fakes.gtfs_feed import generate_feed
from transit import load_feeds, load_network, save_network

STOPS = int(os.environ.get("BENCH_TRANSIT_STOPS", "5000"))
TRIPS = int(os.environ.get("BENCH_TRANSIT_TRIPS", "50000"))
DESTINATIONS = int(os.environ.get("BENCH_COMMUTE_DESTINATIONS", "40"))
CENTRE = (51.5, 14.3)  # the generated feed's centre (its default)
HOME_AREAS = 1760  # postcode places with their own coordinates within 60 km of the regions' reference towns
NIGHT_DESTINATIONS = 500  # offers' places, companies and Berufsschulen of three regions with imported offers
LOOKUPS = 2000
SEED = 16


def _ms(seconds: list[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds, to the microsecond (lookups take a fraction of one)."""
    ordered = sorted(seconds) or [0.0]
    return {"p50": round(statistics.median(ordered) * 1000, 3),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 3),
            "max": round(ordered[-1] * 1000, 3)}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _database(tmp: str) -> tuple[Any, SqlUnitOfWorkFactory]:
    url = f"sqlite+aiosqlite:///{Path(tmp) / 'commutes.db'}"
    await asyncio.to_thread(upgrade, url)
    db = create_engine(url)
    return db, SqlUnitOfWorkFactory(session_factory(db), FixedClock())


def run() -> dict[str, Any]:
    return asyncio.run(_run())


async def _run() -> dict[str, Any]:
    rng = random.Random(SEED)
    places = default_directory()
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "regional.zip"
        generate_feed(feed, stops=STOPS, trips=TRIPS, seed=1, centre=CENTRE)
        stored = Path(tmp) / "transit.network"
        save_network(load_feeds([feed]), stored)
        gc.collect()
        rss_before = _peak_rss_mib()  # from here as in the planning job: the network file read, then planned
        network = load_network(stored)
        day = reference_school_day(network, NOW.date(), is_working_day)
        assert day is not None
        started = time.perf_counter()
        timetable = Timetable.for_day(network, day)
        timetable_s = time.perf_counter() - started
        homes, _ = homes_near_stops(network, timetable, HOME_AREAS, rng)
        destinations = rng.sample(homes, DESTINATIONS)

        gc.freeze()  # as the planning job does
        per_destination: list[float] = []
        planned: dict[Point, dict[Point, Any]] = {}
        for destination in destinations:
            started = time.perf_counter()
            planned[destination] = plan_destination(timetable, destination, within_reach(destination, homes))
            per_destination.append(time.perf_counter() - started)
        gc.unfreeze()
        pairs = sum(len(p) for p in planned.values())
        connected = sum(1 for p in planned.values() for c in p.values() if c is not None)

        db, uow_factory = await _database(tmp)
        store = CommuteStore(uow_factory, places)
        started = time.perf_counter()
        for destination, commutes in planned.items():
            await store.save_destination(1, destination, commutes, NOW)
        await store.switch(1, "bench", day, (), NOW, complete=True)
        write_s = time.perf_counter() - started

        card_s: list[float] = []
        reachable_s: list[float] = []
        baseline_s: list[float] = []
        reachable_sizes: list[int] = []
        for _ in range(LOOKUPS):
            home = rng.choice(homes)
            wanted = rng.sample(destinations, 2)  # an offer and its Berufsschule
            async with uow_factory() as uow:
                started = time.perf_counter()
                await uow.commutes.plan()
                baseline_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                await uow.commutes.lookup(home, wanted)
                card_s.append(time.perf_counter() - started)
                if len(reachable_s) < LOOKUPS // 4:
                    started = time.perf_counter()
                    reachable_sizes.append(len(await uow.commutes.reachable(home, FILTER_MINUTES)))
                    reachable_s.append(time.perf_counter() - started)
        await db.dispose()
        plan_ms = _ms(per_destination)
        return {
            "feed": {"stops": len(network.stops), "trips": len(network.trips), "stop_times": len(network.stop_times),
                     "school_day": day.isoformat(), "timetable_s": round(timetable_s, 2)},
            "homes": len(homes), "destinations": len(destinations), "pairs": pairs, "connected": connected,
            "plan_per_destination_ms": plan_ms,
            "night_plan_projected_s": round(statistics.fmean(per_destination) * NIGHT_DESTINATIONS, 1),
            "load_and_plan_rss_growth_mib": round(_peak_rss_mib() - rss_before, 1),
            "write_s": round(write_s, 2), "rows_per_s": round(pairs / write_s),
            "lookup_ms": _ms(card_s),
            "reachable_ms": _ms(reachable_s),
            "reachable_median_size": statistics.median(reachable_sizes),
            "baseline_ms": _ms(baseline_s),
        }


def print_table(r: dict[str, Any]) -> None:
    f = r["feed"]
    print(f"\nCommutes: a generated feed of {f['stops']:,} stops and {f['trips']:,} trips, school day {f['school_day']} "
          f"(timetable {f['timetable_s']} s); {r['homes']:,} home areas, "
          f"{r['destinations']} destinations, {r['pairs']:,} pairs planned, {r['connected']:,} with a connection by 08:00")
    p = r["plan_per_destination_ms"]
    print("| step | p50 | p95 | max | p50 / baseline |")
    print("|---|---|---|---|---|")
    print(f"| plan_destination (all homes within 100 km) | {p['p50']} ms | {p['p95']} ms | {p['max']} ms | |")
    b, lk, rc = r["baseline_ms"], r["lookup_ms"], r["reachable_ms"]
    print(f"| lookup: a card's offer and Berufsschule | {lk['p50']} ms | {lk['p95']} ms | {lk['max']} ms | "
          f"{lk['p50'] / b['p50']:.1f}× |")
    print(f"| reachable within 60 min (ranking filter; median {r['reachable_median_size']} places) | {rc['p50']} ms | "
          f"{rc['p95']} ms | {rc['max']} ms | {rc['p50'] / b['p50']:.1f}× |")
    print(f"| baseline: the plan's row by key | {b['p50']} ms | {b['p95']} ms | {b['max']} ms | 1.0× |")
    print(f"night's plan for {NIGHT_DESTINATIONS} destinations: ~{r['night_plan_projected_s']} s of CPU; "
          f"writing {r['rows_per_s']:,} rows/s (SQLite); reading the network file and planning +{r['load_and_plan_rss_growth_mib']} MiB peak RSS")


def main(out: Path = OUT) -> dict[str, Any]:
    return run_and_save("commute_bench", run, print_table, out)


if __name__ == "__main__":
    main()
