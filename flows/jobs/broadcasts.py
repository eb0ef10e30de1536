"""The announcements' periodic tick (bot/scheduler.py, every few seconds): due announcements start,
running ones feed the outbox a batch at a time, finished ones are marked done.

Each announcement is handled in its own transaction, so one that fails does not hold up the others,
and running the tick twice (or in two processes) changes nothing twice: a start happens only to a
still scheduled announcement, recipient rows are unique and outbox keys give one message each.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from flows.core.ports import UnitOfWorkFactory
from flows.delivery import broadcast_sending
from flows.delivery.broadcast_sending import FEED_BATCH
from flows.domain.broadcast import DEFAULT_WEEKLY_CAP, BroadcastStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BroadcastPolicy:
    weekly_cap: int = DEFAULT_WEEKLY_CAP  # announcements per person and 7 days
    batch: int = FEED_BATCH  # per announcement in the outbox at a time
    approval_minors: int | None = None  # more minors than this at the start: a second agent must approve


@dataclass
class BroadcastTickReport:
    started: list[int] = field(default_factory=list)
    queued: int = 0
    capped: int = 0
    done: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.started or self.queued or self.capped or self.done)


async def broadcast_tick(uow_factory: UnitOfWorkFactory, now: datetime,
                         policy: BroadcastPolicy | None = None) -> BroadcastTickReport:
    policy = policy or BroadcastPolicy()
    report = BroadcastTickReport()
    async with uow_factory() as uow:
        due = await uow.broadcasts.due(now)
    for broadcast in due:
        try:
            async with uow_factory() as uow:
                if broadcast.status is BroadcastStatus.SCHEDULED:
                    if await broadcast_sending.start(uow, broadcast, now, policy.approval_minors) is not None:
                        assert broadcast.id is not None
                        report.started.append(broadcast.id)
                fed = await broadcast_sending.feed(uow, broadcast, now, policy.batch, policy.weekly_cap)
                await uow.commit()
        except Exception:
            log.exception("announcement %s: tick failed", broadcast.id)
            continue
        report.queued += fed.queued
        report.capped += fed.capped
        if fed.done and broadcast.id is not None:
            report.done.append(broadcast.id)
    return report
