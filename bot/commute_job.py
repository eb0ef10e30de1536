"""Planning commutes by bus and train (issue 16): for every destination (offers, companies, Berufsschulen) and
every home area of the regions, the school-day commute, kept in the database (storage/commutes.py) where
cards, pages and the ranking read it. Run by `lotse run` (a tick every few minutes) and by
`lotse transit plan`; one process of all at a time (a lease).

- Everything is planned again when the network file changed (`lotse transit load`), when none is planned,
  or once the planned school day has come (from TRANSIT_PLAN_HOUR on that day): into a new generation,
  switched to at the end, so nobody sees half a plan.
- Otherwise a tick plans only destinations that are new (an offer in a new place) into the plan in use.

The journey search is CPU work in pure Python. `lotse run` checks with a few small reads whether anything is
due and then runs `lotse transit plan` as a child process, so the bot's process keeps its CPU and memory for
the chats. In a run the network is loaded and let go at the end; gc.freeze() keeps the garbage collector from
walking its million objects again and again meanwhile; each destination is planned in a worker thread.
"""
from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.process_lease import held_lease
from bot.transit_cli import EXIT_BUSY
from content.postcodes import PostcodeDirectory
from flows.core.ports import Clock
from flows.domain.clusters import REGION_RADIUS_KM
from flows.domain.commute import (
    CommutePlan,
    FeedCredit,
    home_areas,
    plan_destination,
    reference_school_day,
    within_reach,
)
from flows.domain.journeys import Point, Timetable
from flows.domain.transit_network import TransitNetwork
from flows.domain.working_days import is_working_day
from storage.commutes import CommuteStore
from storage.leases import Held, Leases

if TYPE_CHECKING:
    from bot.app import App
    from bot.settings import Settings

log = logging.getLogger(__name__)
LEASE = "commute-plan"
LEASE_TTL = timedelta(minutes=10)  # renewed while a plan runs; a plan that died frees it after this

Progress = Callable[[int, int], None]  # (destinations planned, destinations to plan)


class PlanRunning(Exception):
    """Another process plans right now: one line for the operator."""


@dataclass(frozen=True)
class PlanReport:
    full: bool  # everything planned again (else: new destinations only)
    destinations: int  # planned in this run
    homes: int  # home areas of the regions
    commutes: int  # (home, destination) pairs written
    connected: int  # of them with a connection by 08:00
    service_day: date | None
    note: str = ""  # why nothing was planned ("no network", "expired", "up to date")


@asynccontextmanager
async def exclusively(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> AsyncIterator[None]:
    def busy(held: Held) -> Exception:
        return PlanRunning(f"commutes are being planned already ({held.holder}, since "
                           f"{held.acquired_at:%Y-%m-%d %H:%M} UTC); it goes on by itself")

    async with held_lease(Leases(sessions), LEASE, clock, LEASE_TTL, busy):
        yield


def needs_full_plan(plan: CommutePlan | None, network: str, now: datetime, hour: int, zone: ZoneInfo) -> bool:
    """A new network, nothing planned, or the planned school day has come (from `hour` local time on it)."""
    if plan is None or plan.network != network:
        return True
    local = now.astimezone(zone)
    return plan.service_day < local.date() or (plan.service_day == local.date() and local.hour >= hour)


def feed_credits(network: TransitNetwork) -> tuple[FeedCredit, ...]:
    return tuple(FeedCredit(name=f.name, publisher=f.publisher, licence=f.licence or "", url=f.url or "")
                 for f in network.feeds)


class NetworkFile:
    """The network file (TRANSIT_FILE) and its fingerprint, hashed again only when the file changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._digest = ""

    def fingerprint(self) -> str | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        if self._seen != (stat.st_mtime_ns, stat.st_size):
            self._digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
            self._seen = (stat.st_mtime_ns, stat.st_size)
        return self._digest


@dataclass
class CommutePlanner:
    sessions: async_sessionmaker[AsyncSession]
    store: CommuteStore
    clock: Clock
    places: PostcodeDirectory
    network_file: NetworkFile
    hour: int
    zone: ZoneInfo
    # `lotse run` plans in a child process (`lotse transit plan`): its memory (a few hundred MiB at the peak for a
    # regional network) is given back when it ends, and the bot's own process keeps its CPU for the chats.
    spawn: Callable[[], Awaitable[int]] | None = None

    async def tick(self) -> None:
        """The scheduler's call: when something is due, plans it in a child process (`spawn`) or here."""
        if not await self.due():
            return
        if self.spawn is not None:
            await self.spawn()
            return
        try:
            async with exclusively(self.sessions, self.clock):
                report = await self.run()
        except PlanRunning:
            return
        if report.destinations:
            log.info("commutes planned: %d destinations, %d home areas, %d commutes (%s), for %s",
                     report.destinations, report.homes, report.commutes, "all" if report.full else "new",
                     report.service_day)

    async def due(self) -> bool:
        """Whether a run would plan anything: a few small reads, no network loaded."""
        fingerprint = self.network_file.fingerprint()
        if fingerprint is None:
            return False
        plan = await self.store.current()
        if needs_full_plan(plan, fingerprint, self.clock.now(), self.hour, self.zone):
            return True
        generation = await self.store.generation()
        return generation is None or bool(await self.store.destinations_wanted() - await self.store.planned(generation))

    async def run(self, full: bool = False, progress: Progress | None = None) -> PlanReport:
        """Plans what is due (everything with `full`). Hold the lease (`exclusively`) around it."""
        fingerprint = self.network_file.fingerprint()
        if fingerprint is None:
            return PlanReport(False, 0, 0, 0, 0, None, note="no network")
        plan = await self.store.current()
        now = self.clock.now()
        full = full or needs_full_plan(plan, fingerprint, now, self.hour, self.zone)
        wanted = await self.store.destinations_wanted()
        generation = await self.store.generation()
        if not full and plan is not None and generation is not None:
            targets = wanted - await self.store.planned(generation)
            if not targets:
                return PlanReport(False, 0, 0, 0, 0, plan.service_day, note="up to date")
        else:
            targets = wanted
        from transit import load_network  # the GTFS room, only where planning happens

        network = await asyncio.to_thread(load_network, self.network_file.path)
        if full or plan is None:
            day = reference_school_day(network, now.astimezone(self.zone).date(), is_working_day)
            if day is None:
                await self.store.clear()
                log.warning("the timetables run out: no trips in the coming weeks; commutes are off until "
                            "`lotse transit load` reads current feeds")
                return PlanReport(True, 0, 0, 0, 0, None, note="expired")
            generation = (generation or 0) + 1
            await self.store.discard(generation)
        else:
            day = plan.service_day
        assert generation is not None
        towns = await self.store.region_towns()
        homes = await asyncio.to_thread(home_areas, ((p.lat, p.lon) for p in self.places.populated()), towns,
                                        REGION_RADIUS_KM)
        report = await self._plan(network, day, generation, sorted(targets), homes, progress)
        if full:
            await self.store.switch(generation, fingerprint, day, feed_credits(network), self.clock.now(), complete=True)
        return PlanReport(full, report[0], len(homes), report[1], report[2], day)

    async def _plan(self, network: TransitNetwork, day: date, generation: int, targets: list[Point],
                    homes: list[Point], progress: Progress | None) -> tuple[int, int, int]:
        timetable = await asyncio.to_thread(Timetable.for_day, network, day)
        gc.freeze()  # the network and timetable live through the run: not worth the collector's passes
        try:
            written = connected = 0
            for done, destination in enumerate(targets, start=1):
                planned = await asyncio.to_thread(plan_destination, timetable, destination,
                                                  within_reach(destination, homes))
                await self.store.save_destination(generation, destination, planned, self.clock.now())
                written += len(planned)
                connected += sum(1 for c in planned.values() if c is not None)
                if progress is not None:
                    progress(done, len(targets))
            return len(targets), written, connected
        finally:
            gc.unfreeze()


PLAN_TIMEOUT_S = 3600  # a regional plan takes about a minute; a child that hangs is stopped


async def plan_in_child(timeout: float = PLAN_TIMEOUT_S) -> int:
    """Runs `lotse transit plan` as a child process with this process's settings (the environment) and logs
    its outcome: its summary line, or the end of what it said when it failed."""
    child = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "transit", "plan",
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(child.communicate(), timeout)
    except TimeoutError:
        child.kill()
        await child.wait()
        log.error("planning commutes took longer than %d s and was stopped", timeout)
        return -1
    said = (out or err).decode(errors="replace").strip().splitlines()
    if child.returncode == 0:
        log.info("commutes: %s", said[-1] if said else "planned")
    elif child.returncode == EXIT_BUSY:
        log.info("commutes: another process plans them right now")
    else:
        log.warning("planning commutes failed (exit %s): %s", child.returncode, " / ".join(said[-3:]))
    return child.returncode if child.returncode is not None else -1


def commute_planner(app: App, settings: Settings) -> CommutePlanner:
    from content import default_directory

    places = default_directory()
    return CommutePlanner(app.uow_factory.sessions, CommuteStore(app.uow_factory, places), app.clock, places,
                          NetworkFile(settings.transit_file), settings.transit_plan_hour, ZoneInfo(settings.timezone),
                          spawn=plan_in_child)
