"""The Arbeitsagentur import run by the bot (daily, when BA_IMPORT_ENABLED) or by `lotse offers import ba`:
one run at a time across processes and machines (a lease in the database), and the daily due time."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ba_client import BaJobBoard
from bot.process_lease import held_lease
from bot.settings import Settings
from content import default_directory
from flows.core.ports import Clock, PlaceDirectory
from imports.ba import ALL, import_ba
from storage.leases import Held, Leases
from storage.offer_imports import OfferImportStore

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
LEASE = "offer-import:ba"
LEASE_TTL = timedelta(minutes=10)  # renewed while a run goes on; a run that died frees it after this


class ImportRunning(Exception):
    """Another process imports right now: one line for the operator."""


@asynccontextmanager
async def exclusively(sessions: async_sessionmaker[AsyncSession], clock: Clock, dry_run: bool = False
                      ) -> AsyncIterator[None]:
    """Holds the import's lease while the block runs (a dry run writes nothing and needs none)."""
    if dry_run:
        yield
        return

    def busy(held: Held) -> Exception:
        return ImportRunning(f"an import runs already ({held.holder}, since {held.acquired_at:%Y-%m-%d %H:%M} UTC); "
                             "it goes on by itself, or this one takes over once it stopped")

    async with held_lease(Leases(sessions), LEASE, clock, LEASE_TTL, busy):
        yield


def is_due(now: datetime, last_finished: datetime | None, hour: int, zone: ZoneInfo) -> bool:
    """Once a day, from `hour` local time on: due when no run that went to its end started today since then."""
    local = now.astimezone(zone)
    if local.hour < hour:
        return False
    since = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return last_finished is None or last_finished.astimezone(zone) < since


@dataclass
class DailyOfferImport:
    """The daily run in `lotse run` (BA_IMPORT_ENABLED): the scheduler calls `tick` every few minutes; it
    imports once a day from BA_IMPORT_HOUR, in one process of all (the others find it running or done)."""

    sessions: async_sessionmaker[AsyncSession]
    store: OfferImportStore
    board: BaJobBoard
    clock: Clock
    places: PlaceDirectory
    hour: int
    zone: ZoneInfo

    async def tick(self) -> None:
        if not is_due(self.clock.now(), await self.store.last_finished(ALL), self.hour, self.zone):
            return
        try:
            async with exclusively(self.sessions, self.clock):
                if not is_due(self.clock.now(), await self.store.last_finished(ALL), self.hour, self.zone):
                    return  # another process just did it
                await import_ba(self.store, self.board, self.clock, self.places)
        except ImportRunning:
            return  # another process runs it

    async def close(self) -> None:
        await self.board.aclose()


def daily_offer_import(app: App, settings: Settings) -> DailyOfferImport:
    return DailyOfferImport(app.uow_factory.sessions, OfferImportStore(app.uow_factory),
                            BaJobBoard(str(settings.ba_api_url), pace_seconds=settings.ba_import_pace_seconds),
                            app.clock, default_directory(), settings.ba_import_hour, ZoneInfo(settings.timezone))
