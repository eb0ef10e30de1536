"""Wiring: settings -> database -> engine -> channels -> scheduler. The one place that builds things."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.settings import Settings
from content import default_directory
from flows.core.clock import SystemClock
from flows.core.engine import Engine
from flows.core.ports import Clock, Sender
from flows.delivery.dispatcher import DispatchPolicy, OutboxDispatcher, default_hooks
from flows.delivery.limiter import RateLimiter
from flows.jobs.answers import AnswerWorker
from flows.jobs.broadcasts import BroadcastPolicy
from flows.wiring import build_engine
from prompts import Catalog, default_catalog
from storage.db import create_engine, session_factory
from storage.migrate import current_revision, head_revision
from storage.send_budget import PostgresSendBudget
from storage.uow import SqlUnitOfWorkFactory

if TYPE_CHECKING:  # the openai SDK is imported only when a model is configured (_answerer)
    from bot.llm import OpenAIAnswerer


class NotMigrated(Exception):
    pass


@dataclass
class App:
    settings: Settings
    db: AsyncEngine
    uow_factory: SqlUnitOfWorkFactory
    engine: Engine
    catalog: Catalog
    clock: Clock
    answerer: OpenAIAnswerer | None = None  # OPENAI_API_KEY set: free questions go to the model
    metrics: Metrics = field(default_factory=Metrics)  # served as /metrics by `lotse run` (bot/ops.py)

    async def close(self) -> None:
        if self.answerer is not None:
            await self.answerer.close()
        await self.db.dispose()

    def answer_worker(self) -> AnswerWorker | None:
        """The worker that answers kept questions with the model; None without OPENAI_API_KEY."""
        if self.answerer is None:
            return None
        # A claim outlives the model's whole time (retries included), so no second worker steps in early.
        lease = 2 * self.settings.openai_timeout_seconds + 10
        return AnswerWorker(self.uow_factory, self.answerer, self.clock, lease_seconds=lease)

    def telegram_limiter(self) -> RateLimiter:
        """One per process. On PostgreSQL it also asks the budget every process shares (several
        workers stay within Telegram's limits together); SQLite runs one process."""
        settings = self.settings
        shared = PostgresSendBudget(self.db) if self.db.dialect.name == "postgresql" else None
        return RateLimiter(settings.outbox_rate_per_second, settings.outbox_rate_per_chat_per_second,
                           chat_burst=settings.outbox_burst_per_chat, shared=shared)

    def outbox_dispatcher(self, sender: Sender, chat_id: int | None = None,
                          limiter: RateLimiter | None = None) -> OutboxDispatcher:
        """The dispatcher of one channel; `limiter` shared with the channel's answers, else its own."""
        settings = self.settings
        limiter = limiter or self.telegram_limiter()
        hooks = self.metrics.metered_hooks(default_hooks(settings.broadcast_weekly_cap), sender.channel)
        return OutboxDispatcher(self.uow_factory, self.metrics.metered_sender(sender), limiter, self.clock,
                                settings.quiet_hours, DispatchPolicy(lease_seconds=settings.outbox_lease_seconds),
                                chat_id=chat_id, hooks=hooks)

    def broadcast_policy(self) -> BroadcastPolicy:
        """The announcements' tick: the weekly cap of BROADCAST_WEEKLY_CAP (checked again right before each send)."""
        return BroadcastPolicy(weekly_cap=self.settings.broadcast_weekly_cap,
                               approval_minors=self.settings.broadcast_approval_minors)


async def ensure_migrated(url: str) -> None:
    current, head = await current_revision(url), head_revision()
    if current != head:
        state = "has no schema yet" if current is None else f"is at revision {current}, code needs {head}"
        raise NotMigrated(f"the database {state}. Run: lotse db upgrade")


async def build_app(settings: Settings, clock: Clock | None = None) -> App:
    await ensure_migrated(settings.database_url)
    clock = clock or SystemClock()
    db = create_engine(settings.database_url)
    uow_factory = SqlUnitOfWorkFactory(session_factory(db), clock)
    admins = frozenset([*(("telegram", chat_id) for chat_id in settings.admin_telegram_ids),
                        *(("console", chat_id) for chat_id in settings.admin_console_ids)])
    engine = build_engine(uow_factory, default_directory(), clock, admins, weekly_cap=settings.broadcast_weekly_cap,
                          broadcast_approval_minors=settings.broadcast_approval_minors,
                          cockpit_url=settings.cockpit_base, question_max_chars=settings.question_max_chars,
                          model_host=settings.llm_host, llm_rate_per_user=settings.llm_rate_per_user)
    catalog = default_catalog()
    catalog.zone = ZoneInfo(settings.timezone)  # times in messages and files are shown in local time
    return App(settings=settings, db=db, uow_factory=uow_factory, engine=engine, catalog=catalog, clock=clock,
               answerer=_answerer(settings))


def _answerer(settings: Settings) -> OpenAIAnswerer | None:
    if not settings.llm_enabled:
        return None
    from bot.llm import answerer_from  # the openai SDK, imported only when a model is configured

    return answerer_from(settings)
