"""aiogram handlers: every message and button press goes through flows.Engine, answers go out here."""
from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BufferedInputFile, CallbackQuery, Message, Update

from bot.charts import chart_png
from bot.telegram.convert import CHANNEL, callback_event, message_event
from bot.telegram.polling import update_stored
from bot.telegram.render import MESSAGE_LIMIT, render_reply, utf16_len
from flows.engine import Engine, Outcome
from flows.model import Event
from prompts import Catalog
from storage.uow import SqlUnitOfWorkFactory

log = logging.getLogger(__name__)


def pressed_label(query: CallbackQuery) -> str | None:
    """The label of the pressed button, if the press really came from one of our keyboards."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return None
    for row in message.reply_markup.inline_keyboard:
        for button in row:
            if button.callback_data is not None and button.callback_data == query.data:
                return button.text
    return None


class TelegramChannel:
    def __init__(self, engine: Engine, catalog: Catalog, uow_factory: SqlUnitOfWorkFactory) -> None:
        self._engine = engine
        self._catalog = catalog
        self._uow_factory = uow_factory

    def router(self) -> Router:
        router = Router(name="lotse")
        router.message.register(self.on_message)
        router.callback_query.register(self.on_callback)
        return router

    async def on_message(self, message: Message, bot: Bot, event_update: Update, **_: Any) -> None:
        if message.chat.type != "private":
            return  # the bot talks to people one to one; groups are not served
        event = message_event(message, event_update.update_id)
        outcome = await self._engine.handle(event)
        update_stored()  # state and replies are in the database: a crash from here on loses nothing
        await self._deliver(bot, event, outcome)

    async def on_callback(self, query: CallbackQuery, bot: Bot, event_update: Update, **_: Any) -> None:
        event = callback_event(query, event_update.update_id)
        if event is None:
            return
        outcome = await self._engine.handle(event)
        update_stored()
        if not outcome.duplicate:
            # A redelivered press was acknowledged before the restart; Telegram would refuse it now.
            try:
                await bot.answer_callback_query(query.id)
            except TelegramBadRequest:
                log.info("callback of update %s too old to answer", event.update_id)
            await self._close_keyboard(bot, query)
        if outcome.replies:
            await self._deliver(bot, event, outcome)

    async def _close_keyboard(self, bot: Bot, query: CallbackQuery) -> None:
        """Show the chosen answer under the question and remove its buttons (no double presses)."""
        label = pressed_label(query)
        message = query.message
        if label is None or not isinstance(message, Message):
            return
        try:
            if message.text is not None:
                text = f"{message.html_text}\n\n→ <i>{html.escape(label, quote=False)}</i>"
                if utf16_len(text) <= MESSAGE_LIMIT:
                    await bot.edit_message_text(text=text, chat_id=message.chat.id,
                                                message_id=message.message_id, reply_markup=None)
                    return
            await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=message.message_id,
                                                reply_markup=None)
        except TelegramBadRequest as error:  # e.g. the message is older than 48 hours
            log.info("could not close keyboard: %s", error.message)

    async def resend_unanswered(self, bot: Bot, since: datetime) -> int:
        """Replies stored before a crash that never went out: send them now (at start-up, before
        polling, so they come before anything newer)."""
        pending = await self._engine.unanswered(CHANNEL, since)
        for event, outcome in pending:
            try:
                await self._deliver(bot, event, outcome)
            except Exception as error:  # Telegram still down: they stay stored for the next start
                log.warning("could not resend replies of update %s (%s)", event.update_id, type(error).__name__)
        if pending:
            log.info("sent the replies of %d updates handled before a restart", len(pending))
        return len(pending)

    async def _deliver(self, bot: Bot, event: Event, outcome: Outcome) -> None:
        try:
            await self.send(bot, event.user.chat_id, outcome)
        except TelegramForbiddenError:
            log.info("user blocked the bot; marking inactive (update %s)", event.update_id)
            async with self._uow_factory() as uow:
                await uow.users.mark_inactive(CHANNEL, event.user.chat_id)
                await uow.commit()
        except TelegramBadRequest as error:
            log.error("Telegram refused a reply to update %s: %s", event.update_id, error.message)
        await self._engine.mark_answered(event)

    async def send(self, bot: Bot, chat_id: int, outcome: Outcome) -> None:
        for reply in outcome.replies:
            rendered = render_reply(reply, self._catalog, outcome.locale, outcome.formal)
            chunks = rendered.chunks
            keyboard_on_caption = rendered.keyboard if len(chunks) == 1 else None
            if reply.document is not None:
                file = BufferedInputFile(reply.document.content, filename=reply.document.filename)
                await bot.send_document(chat_id, file, caption=chunks[0], reply_markup=keyboard_on_caption)
                chunks = chunks[1:]
            elif reply.chart is not None:
                picture = BufferedInputFile(chart_png(reply.chart, self._catalog, outcome.locale),
                                            filename=f"{reply.chart.kind}.png")
                await bot.send_photo(chat_id, picture, caption=chunks[0], reply_markup=keyboard_on_caption)
                chunks = chunks[1:]
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                await bot.send_message(chat_id, chunk, reply_markup=rendered.keyboard if last else None)
