"""APScheduler runs periodic ticks only; business schedules are rows with due times, never jobs."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from flows.dispatcher import OutboxDispatcher
from flows.ports import Clock, UnitOfWorkFactory
from flows.retention import purge

log = logging.getLogger(__name__)
PURGE_EVERY_MINUTES = 60
OUTBOX_EVERY_SECONDS = 1


async def purge_tick(uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
    report = await purge(uow_factory, clock)
    if report.updates or report.users:
        log.info("retention: removed %d processed updates, %d inactive profiles", report.updates, report.users)
    if report.outbox:
        log.info("retention: removed %d finished outbox messages", report.outbox)


async def outbox_tick(dispatcher: OutboxDispatcher) -> None:
    # Starts a tick unless one runs: a long tick (10,000 reminders) never makes APScheduler skip
    # and warn every second, and the dispatcher can be stopped cleanly.
    dispatcher.kick()


def start_scheduler(uow_factory: UnitOfWorkFactory, clock: Clock, timezone: str,
                    outboxes: Sequence[OutboxDispatcher] = ()) -> AsyncIOScheduler:
    """`outboxes`: one dispatcher per channel (Telegram, e-mail, webhook), each ticking every second."""
    scheduler = AsyncIOScheduler(timezone=timezone)
    for outbox in outboxes:
        scheduler.add_job(outbox_tick, "interval", seconds=OUTBOX_EVERY_SECONDS, args=[outbox],
                          id=f"outbox-{outbox.channel}", max_instances=1, coalesce=True,
                          next_run_time=datetime.now().astimezone())
    scheduler.add_job(purge_tick, "interval", minutes=PURGE_EVERY_MINUTES, args=[uow_factory, clock],
                      id="retention", max_instances=1, coalesce=True,
                      next_run_time=datetime.now().astimezone() + timedelta(seconds=30))
    scheduler.start()
    return scheduler
