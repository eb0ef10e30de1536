"""aiogram handlers: every message and button press goes through flows.Engine, answers go out here."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

from bot.metrics import Metrics, UpdateMeter
from bot.telegram.callbacks import CallbackAnswers
from bot.telegram.convert import CHANNEL, callback_event, member_event, message_event
from bot.telegram.latest import LatestMessages
from bot.telegram.polling import update_stored
from bot.telegram.replies import Press, ReplySender, Undeliverable
from flows.core.engine import Engine, Outcome
from flows.core.model import Event
from prompts import Catalog
from storage.uow import SqlUnitOfWorkFactory

log = logging.getLogger(__name__)


class TelegramChannel:
    def __init__(self, engine: Engine, catalog: Catalog, uow_factory: SqlUnitOfWorkFactory,
                 latest: LatestMessages | None = None, metrics: Metrics | None = None) -> None:
        self._engine = engine
        self._metrics = metrics or Metrics()  # counted: updates by kind and outcome, reply latency
        self._uow_factory = uow_factory
        self.latest = latest or LatestMessages()
        self._replies = ReplySender(catalog, self.latest)
        self.callback_answers = CallbackAnswers()

    def router(self) -> Router:
        router = Router(name="lotse")
        router.message.register(self.on_message)
        router.callback_query.register(self.on_callback)
        router.my_chat_member.register(self.on_member)
        return router

    async def on_message(self, message: Message, bot: Bot, event_update: Update, **_: Any) -> None:
        if message.chat.type != "private":
            return  # the bot talks to people one to one; groups are not served
        self.latest.record(message.chat.id, message.message_id)
        event = message_event(message, event_update.update_id)
        with self._metrics.update(CHANNEL, "message") as meter:
            outcome = await self._engine.handle(event)
            meter.duplicate = outcome.duplicate
            update_stored()  # state and replies are in the database: a crash from here on loses nothing
            if outcome.duplicate and not outcome.replies:
                return  # handled (or still being handled) by another worker, which marks it answered
            await self._deliver(bot, event, outcome, meter=meter)

    async def on_callback(self, query: CallbackQuery, bot: Bot, event_update: Update, **_: Any) -> None:
        event = callback_event(query, event_update.update_id)
        if event is None:
            return
        with self._metrics.update(CHANNEL, "button") as meter:
            answered = None
            if self.callback_answers.is_new(event_update.update_id):
                answered = self.callback_answers.answer(bot, query.id)  # the spinner stops at once
            outcome = await self._engine.handle(event)
            meter.duplicate = outcome.duplicate
            update_stored()
            if outcome.duplicate:
                # Handled before a restart; its press was answered then, Telegram would refuse it now.
                if outcome.replies:
                    await self._deliver(bot, event, outcome, meter=meter)
                return
            if answered is None:
                answered = self.callback_answers.answer(bot, query.id)
            await self._deliver(bot, event, outcome, Press.of(query), meter=meter)
            await answered

    async def on_member(self, update: ChatMemberUpdated, event_update: Update, **_: Any) -> None:
        """Blocked (or unblocked) by the user: the engine stops everything for them; never answered."""
        event = member_event(update, event_update.update_id)
        if event is None:
            return
        with self._metrics.update(CHANNEL, "member") as meter:
            meter.duplicate = (await self._engine.handle(event)).duplicate
            update_stored()
            await self._engine.mark_answered(event)

    async def newest_stored_update(self) -> int | None:
        async with self._uow_factory() as uow:
            return await uow.updates.newest(CHANNEL)

    async def resend_unanswered(self, bot: Bot, since: datetime, abandoned_only: bool = False) -> int:
        """Replies stored before a crash that never went out: send them now (at start-up, before
        polling, so they come before anything newer). abandoned_only: webhook workers, where another
        live worker may be sending the recent ones (see Engine.unanswered)."""
        pending = await self._engine.unanswered(CHANNEL, since, abandoned_only=abandoned_only)
        for event, outcome in pending:
            await self._deliver(bot, event, outcome)
        if pending:
            log.info("sent the replies of %d updates handled before a restart", len(pending))
        return len(pending)

    async def _deliver(self, bot: Bot, event: Event, outcome: Outcome, press: Press | None = None,
                       meter: UpdateMeter | None = None) -> None:
        await self._engine.turn_to_send(event, outcome)  # the chat's earlier answers first, whoever sends them
        try:
            await self._replies.deliver(bot, event.user.chat_id, outcome, press)
            if meter is not None and outcome.replies:
                meter.replied()  # the reply latency: from the update's arrival until now
        except TelegramForbiddenError:
            log.info("user blocked the bot; marking inactive (update %s)", event.update_id)
            async with self._uow_factory() as uow:
                await uow.users.mark_inactive(CHANNEL, event.user.chat_id)
                await uow.outbox.drop_pending_for(CHANNEL, event.user.chat_id, "blocked by the user")
                await uow.commit()
        except Undeliverable as error:
            # Stays stored and unanswered: the next start sends it (Telegram is down for minutes).
            log.error("replies of update %s not delivered (%s); kept for the next start", event.update_id, error)
            return
        await self._engine.mark_answered(event)
