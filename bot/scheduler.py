"""APScheduler runs periodic ticks only; business schedules are rows with due times, never jobs."""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from flows.core.ports import Clock, PlaceDirectory, UnitOfWorkFactory
from flows.delivery.dispatcher import OutboxDispatcher
from flows.jobs.answers import AnswerWorker
from flows.jobs.broadcasts import BroadcastPolicy, broadcast_tick
from flows.jobs.lead_followup import follow_up
from flows.jobs.retention import purge
from flows.jobs.team_questions import remind_team
from storage.uow import ANSWERS

if TYPE_CHECKING:
    from bot.commute_job import CommutePlanner
    from bot.offer_import_job import DailyOfferImport

log = logging.getLogger(__name__)
PURGE_EVERY_MINUTES = 60
OUTBOX_EVERY_SECONDS = 1
LEAD_FOLLOWUP_EVERY_MINUTES = 10
BROADCASTS_EVERY_SECONDS = 3  # a pause or cancel acts within this and one outbox batch
OFFER_IMPORT_EVERY_MINUTES = 10  # looks whether the daily import is due
COMMUTES_EVERY_MINUTES = 5  # plans commutes when due, and for offers in new places
ANSWERS_EVERY_SECONDS = 5  # a question another process kept, or one whose worker died, waits at most this


async def purge_tick(uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
    report = await purge(uow_factory, clock)
    if report.updates or report.users:
        log.info("retention: removed %d processed updates, %d inactive profiles", report.updates, report.users)
    if report.outbox:
        log.info("retention: removed %d finished outbox messages", report.outbox)
    if report.questions:
        log.info("retention: removed %d free questions", report.questions)
    if report.offers:
        log.info("retention: removed %d imported offers no longer listed", report.offers)


async def outbox_tick(dispatcher: OutboxDispatcher) -> None:
    # Starts a tick unless one runs: a long tick (10,000 reminders) never makes APScheduler skip
    # and warn every second, and the dispatcher can be stopped cleanly.
    dispatcher.kick()


def wake_on_commit(outboxes: Sequence[OutboxDispatcher]) -> Callable[[frozenset[str]], None]:
    """A unit-of-work listener: a commit that stored messages due now starts their channel's tick,
    so a lead or a reply to a parent goes out at once, not up to a second later."""
    def wake(channels: frozenset[str]) -> None:
        for outbox in outboxes:
            if outbox.channel in channels:
                outbox.kick()
    return wake


def wake_answers(worker: AnswerWorker) -> Callable[[frozenset[str]], None]:
    """A unit-of-work listener: a commit that kept a question for the model starts the answer worker."""
    def wake(topics: frozenset[str]) -> None:
        if ANSWERS in topics:
            worker.kick()
    return wake


async def answers_tick(worker: AnswerWorker) -> None:
    worker.kick()


async def broadcasts_tick(uow_factory: UnitOfWorkFactory, clock: Clock, policy: BroadcastPolicy) -> None:
    report = await broadcast_tick(uow_factory, clock.now(), policy)
    if report.started or report.done:
        log.info("announcements: started %s, done %s", report.started, report.done)


async def lead_followup_tick(uow_factory: UnitOfWorkFactory, clock: Clock, admins: frozenset[tuple[str, int]],
                             places: PlaceDirectory | None = None) -> None:
    acted = await follow_up(uow_factory, clock.now(), admins, places)
    if acted:
        log.info("lead follow-up: %d leads without a company report", acted)


async def team_questions_tick(uow_factory: UnitOfWorkFactory, clock: Clock, admins: frozenset[tuple[str, int]]) -> None:
    reminded = await remind_team(uow_factory, clock.now(), admins)
    if reminded:
        log.info("team questions: reminded the agents of %d unanswered questions", reminded)


def start_scheduler(uow_factory: UnitOfWorkFactory, clock: Clock, timezone: str,
                    outboxes: Sequence[OutboxDispatcher] = (),
                    admins: frozenset[tuple[str, int]] = frozenset(),
                    places: PlaceDirectory | None = None,
                    broadcasts: BroadcastPolicy | None = None,
                    answers: AnswerWorker | None = None,
                    offer_import: DailyOfferImport | None = None,
                    commutes: CommutePlanner | None = None) -> AsyncIOScheduler:
    """`outboxes`: one dispatcher per channel (Telegram, e-mail, webhook), each ticking every second.
    `broadcasts`: weekly cap and batch of announcements (BROADCAST_WEEKLY_CAP). `answers`: the
    language model's answer worker (OPENAI_API_KEY set)."""
    scheduler = AsyncIOScheduler(timezone=timezone)
    scheduler.add_job(broadcasts_tick, "interval", seconds=BROADCASTS_EVERY_SECONDS,
                      args=[uow_factory, clock, broadcasts or BroadcastPolicy()], id="broadcasts", max_instances=1,
                      coalesce=True, next_run_time=datetime.now().astimezone() + timedelta(seconds=5))
    for outbox in outboxes:
        scheduler.add_job(outbox_tick, "interval", seconds=OUTBOX_EVERY_SECONDS, args=[outbox],
                          id=f"outbox-{outbox.channel}", max_instances=1, coalesce=True,
                          next_run_time=datetime.now().astimezone())
    if answers is not None:
        scheduler.add_job(answers_tick, "interval", seconds=ANSWERS_EVERY_SECONDS, args=[answers], id="answers",
                          max_instances=1, coalesce=True, next_run_time=datetime.now().astimezone())
    scheduler.add_job(lead_followup_tick, "interval", minutes=LEAD_FOLLOWUP_EVERY_MINUTES,
                      args=[uow_factory, clock, admins, places], id="lead-followup", max_instances=1, coalesce=True,
                      next_run_time=datetime.now().astimezone() + timedelta(seconds=20))
    scheduler.add_job(team_questions_tick, "interval", minutes=LEAD_FOLLOWUP_EVERY_MINUTES,
                      args=[uow_factory, clock, admins], id="team-questions", max_instances=1, coalesce=True,
                      next_run_time=datetime.now().astimezone() + timedelta(seconds=25))
    if offer_import is not None:  # BA_IMPORT_ENABLED: due once a day (bot/offer_import_job.py)
        scheduler.add_job(offer_import.tick, "interval", minutes=OFFER_IMPORT_EVERY_MINUTES, id="offer-import",
                          max_instances=1, coalesce=True,
                          next_run_time=datetime.now().astimezone() + timedelta(seconds=40))
    if commutes is not None:  # TRANSIT_FILE: plans when due, new destinations in between (bot/commute_job.py)
        scheduler.add_job(commutes.tick, "interval", minutes=COMMUTES_EVERY_MINUTES, id="commutes",
                          max_instances=1, coalesce=True,
                          next_run_time=datetime.now().astimezone() + timedelta(seconds=50))
    scheduler.add_job(purge_tick, "interval", minutes=PURGE_EVERY_MINUTES, args=[uow_factory, clock],
                      id="retention", max_instances=1, coalesce=True,
                      next_run_time=datetime.now().astimezone() + timedelta(seconds=30))
    scheduler.start()
    return scheduler
