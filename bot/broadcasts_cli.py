"""`lotse broadcast list [--cluster C]` and `lotse broadcast cancel ID`: the operator on the server
sees and cancels any cluster's announcements (recorded in their history as by "cli")."""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.settings import Settings

if TYPE_CHECKING:
    from storage.uow import SqlUnitOfWork

STATUS = {"draft": "Entwurf", "awaiting_approval": "wartet auf Freigabe", "scheduled": "geplant",
          "running": "wird gesendet", "paused": "pausiert", "cancelled": "abgebrochen", "done": "fertig"}


def broadcast_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import NotMigrated

    try:
        return asyncio.run(_list(settings, args.cluster) if args.action == "list" else _cancel(settings, args.id))
    except NotMigrated as error:
        print(str(error), file=sys.stderr)
        return 2


async def _list(settings: Settings, cluster: str | None) -> int:
    from flows.delivery.broadcast_service import Actor, BroadcastService

    zone = ZoneInfo(settings.timezone)
    async with _uow(settings) as (uow, now):
        shown = await BroadcastService(uow, now).overview(Actor.cli(), cluster)
    if not shown:
        print("no announcements" + (f" in cluster {cluster}" if cluster else ""))
    for p in shown:
        b, r = p.broadcast, p.results
        when = (b.scheduled_at or b.created_at).astimezone(zone).strftime("%d.%m.%Y %H:%M")
        text = " ".join((b.text_du or b.text_sie).split())
        line = f"{b.id}\t{b.cluster}\t{STATUS[b.status.value]}\t{b.topic.value}\t{when}\t{text[:50]}"
        if r.total:
            line += (f"\tgesendet {r.sent} von {r.total}, nicht zugestellt {r.not_delivered}, Tipps {r.taps}"
                     + (f", fertig in etwa {max(1, round(p.eta_seconds / 60))} min" if p.eta_seconds else ""))
        print(line)
    return 0


async def _cancel(settings: Settings, broadcast_id: int) -> int:
    from flows.delivery.broadcast_service import Actor, BroadcastService, Refused

    async with _uow(settings) as (uow, now):
        try:
            broadcast = await BroadcastService(uow, now).cancel(Actor.cli(), broadcast_id)
        except Refused as refusal:
            status = refusal.values.get("status")
            why = "no such announcement" if refusal.reason == "not_found" else \
                f"cannot be cancelled: {STATUS.get(str(status), status)}"
            print(f"announcement {broadcast_id}: {why}", file=sys.stderr)
            return 1
        await uow.commit()
    print(f"announcement {broadcast.id} cancelled")
    return 0


@asynccontextmanager
async def _uow(settings: Settings) -> AsyncIterator[tuple[SqlUnitOfWork, datetime]]:
    """A unit of work on the configured database, and the current time, for one command."""
    from bot.app import ensure_migrated
    from flows.core.clock import SystemClock
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    await ensure_migrated(settings.database_url)
    db = create_engine(settings.database_url)
    try:
        clock = SystemClock()
        async with SqlUnitOfWorkFactory(session_factory(db), clock)() as uow:
            yield uow, clock.now()
    finally:
        await db.dispose()
