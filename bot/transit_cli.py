"""`lotse transit load FEED.zip [FEED2.zip …] [--licence FEED=TEXT]`, `lotse transit info` and
`lotse transit plan [--full]`: the operators' GTFS feeds read, checked and kept as one network file
(TRANSIT_FILE) for the journey planner, and the commutes planned from it (issue 16; bot/commute_job.py)."""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.settings import Settings
from flows.domain.transit_network import FeedInfo

if TYPE_CHECKING:
    from bot.commute_job import PlanReport
    from flows.domain.commute import CommutePlan

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUSY = 3  # `plan`: another process plans right now (the bot's planning job takes that calmly)


def transit_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "info":
        return _info(settings)
    if args.action == "plan":
        return _plan(settings, bool(args.full))
    return _load(settings.transit_file, list(args.feeds), list(args.licence or []))


def _licences(pairs: list[str]) -> dict[str, str] | None:
    licences: dict[str, str] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip() or not text.strip():
            return None
        licences[name.strip()] = text.strip()
    return licences


def _load(target: Path, feeds: list[Path], licence_pairs: list[str]) -> int:
    from tqdm import tqdm

    from transit import FeedError, load_feeds, save_network

    licences = _licences(licence_pairs)
    if licences is None:
        print("--licence takes FEED=TEXT, e.g. --licence vbb='CC BY 4.0, VBB Verkehrsverbund Berlin-Brandenburg'",
              file=sys.stderr)
        return EXIT_USAGE
    missing = [str(f) for f in feeds if not f.is_file()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    bar = tqdm(total=0, unit=" Zeilen", file=sys.stderr, dynamic_ncols=True, disable=not sys.stderr.isatty())
    shown: set[str] = set()

    def progress(label: str, done: int, total: int) -> None:
        if bar.disable:  # not a terminal: a line per file
            if label not in shown and (total == 0 or done >= total):
                shown.add(label)
                print(f"{label}: {done:,} Zeilen", file=sys.stderr, flush=True)
            return
        bar.set_description_str(label[:50])
        if total and bar.total != total:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()

    started = time.perf_counter()
    try:
        network = load_feeds(feeds, progress, licences=licences)
    except FeedError as error:
        bar.close()
        print(str(error), file=sys.stderr)
        print(f"nothing written; {target} is unchanged", file=sys.stderr)
        return EXIT_FAILED
    bar.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    save_network(network, target)
    print(f"{len(network.feeds)} feeds, {len(network.stops):,} stops, {len(network.trips):,} trips, "
          f"{len(network.stop_times):,} stop times, {len(network.transfers):,} transfers "
          f"in {time.perf_counter() - started:.1f} s – written to {target}")
    _feeds(network.feeds)
    return 0


def _info(settings: Settings) -> int:
    from transit import NetworkFileError, load_network

    target = settings.transit_file
    try:
        network = load_network(target)
    except FileNotFoundError:
        print(f"no network loaded ({target}): lotse transit load FEED.zip")
        return EXIT_FAILED
    except NetworkFileError as error:
        print(f"{target}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{target}: {len(network.stops):,} stops, {len(network.trips):,} trips, "
          f"{len(network.stop_times):,} stop times, {len(network.transfers):,} transfers")
    _feeds(network.feeds)
    plan = _current_plan(settings)
    if plan is None:
        print("commutes: not planned yet (lotse transit plan, or `lotse run` does it by itself)")
    else:
        state = "complete" if plan.complete else "in progress"
        print(f"commutes: planned for {plan.service_day:%a %d.%m.%Y} at {plan.planned_at:%Y-%m-%d %H:%M} UTC ({state})")
    return 0


def _current_plan(settings: Settings) -> CommutePlan | None:
    from bot.app import NotMigrated, ensure_migrated
    from content import default_directory
    from flows.core.clock import SystemClock
    from storage.commutes import CommuteStore
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    async def read() -> CommutePlan | None:
        await ensure_migrated(settings.database_url)
        db = create_engine(settings.database_url)
        try:
            store = CommuteStore(SqlUnitOfWorkFactory(session_factory(db), SystemClock()), default_directory())
            return await store.current()
        finally:
            await db.dispose()

    try:
        return asyncio.run(read())
    except NotMigrated:
        return None


def _plan(settings: Settings, full: bool) -> int:
    from bot.app import NotMigrated
    from bot.commute_job import PlanRunning

    try:
        report = asyncio.run(_planned(settings, full))
    except NotMigrated as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    except PlanRunning as error:
        print(str(error), file=sys.stderr)
        return EXIT_BUSY
    if report.note == "no network":
        print(f"no network loaded ({settings.transit_file}): lotse transit load FEED.zip", file=sys.stderr)
        return EXIT_FAILED
    if report.note == "expired":
        print("the loaded timetables have no trips in the coming 8 weeks: load current feeds "
              "(lotse transit load); travel times are off until then", file=sys.stderr)
        return EXIT_FAILED
    if report.note == "up to date":
        print(f"commutes are up to date (for {report.service_day:%a %d.%m.%Y}); --full plans everything again")
        return 0
    print(f"{report.destinations} destinations × {report.homes} home areas: {report.commutes:,} commutes, "
          f"{report.connected:,} with a connection by 08:00, for {report.service_day:%a %d.%m.%Y}")
    return 0


async def _planned(settings: Settings, full: bool) -> PlanReport:
    from tqdm import tqdm

    from bot.app import ensure_migrated
    from bot.commute_job import CommutePlanner, NetworkFile, exclusively
    from content import default_directory
    from flows.core.clock import SystemClock
    from storage.commutes import CommuteStore
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    await ensure_migrated(settings.database_url)
    db = create_engine(settings.database_url)
    bar = tqdm(total=0, unit=" Ziele", file=sys.stderr, dynamic_ncols=True, disable=not sys.stderr.isatty())
    told = -1  # not a terminal: a line every tenth

    def show(done: int, total: int) -> None:
        nonlocal told
        if bar.disable:
            tenth = done * 10 // max(1, total)
            if tenth != told:
                told = tenth
                print(f"{done}/{total} Ziele geplant", file=sys.stderr, flush=True)
            return
        if bar.total != total:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()

    try:
        clock = SystemClock()
        sessions = session_factory(db)
        places = default_directory()
        planner = CommutePlanner(sessions, CommuteStore(SqlUnitOfWorkFactory(sessions, clock), places), clock, places,
                                 NetworkFile(settings.transit_file), settings.transit_plan_hour,
                                 ZoneInfo(settings.timezone))
        async with exclusively(sessions, clock):
            return await planner.run(full=full, progress=show)
    finally:
        bar.close()
        await db.dispose()


def _feeds(feeds: list[FeedInfo]) -> None:
    for feed in feeds:
        valid = f"{feed.valid_from or '?'} – {feed.valid_to or '?'}"
        print(f"  {feed.name}: {feed.publisher or 'publisher unknown'}, valid {valid}, "
              f"licence: {feed.licence or 'not stated (give it with --licence)'}")
