"""Turns an engine Outcome into Bot API calls for one chat, and delivers them without losing one.

A press whose answer is a single question or page (text with buttons) turns the pressed message
into that answer: one edit instead of closing the old keyboard and sending a new message, which
halves what counts against Telegram's limits and keeps a wizard, the quiz or a list of cards in
one place. That happens only while the pressed message is the newest in the chat; otherwise the
keyboard is closed (showing the choice) and the answer comes as a new message. An edit to
identical content is never sent.

Delivery remembers how far it got: after a 429, a timeout or a server error the remaining calls
go out again (the middleware already waited out retry_after and retried), and only once every
call went out is the update marked answered; replies still unsent when the process dies are sent
at the next start.
"""
from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiohttp import ClientError

from bot.charts import chart_png
from bot.tables import with_table_as_document
from bot.telegram.latest import LatestMessages
from bot.telegram.render import CAPTION_LIMIT, MESSAGE_LIMIT, Markup, RenderedReply, render_reply, utf16_len
from flows.core.engine import Outcome
from flows.core.model import Reply
from prompts import Catalog

log = logging.getLogger(__name__)
Call = Callable[[Bot], Awaitable[None]]
DELIVERY_ROUNDS = 6  # after the middleware's own retries: rounds with growing pauses (about 2 minutes)
NOT_MODIFIED = "message is not modified"


class Undeliverable(Exception):
    """Telegram kept failing: the replies stay stored and go out at the next start."""


@dataclass(frozen=True)
class Press:
    """The message whose button was pressed, as the user sees it now."""

    chat_id: int
    message_id: int
    html_text: str | None  # None: not a text message (a photo or a document with a caption)
    keyboard: list[list[tuple[str, str | None]]]
    label: str | None  # the pressed button's text, if the press came from our keyboard

    @classmethod
    def of(cls, query: CallbackQuery) -> Press | None:
        message = query.message
        if not isinstance(message, Message):
            return None
        rows = message.reply_markup.inline_keyboard if message.reply_markup is not None else []
        keyboard = [[(b.text, b.callback_data) for b in row] for row in rows]
        label = next((text for row in keyboard for text, data in row if data is not None and data == query.data),
                     None)
        html_text = message.html_text if message.text is not None else None
        return cls(message.chat.id, message.message_id, html_text, keyboard, label)


def _buttons(markup: Markup | None) -> list[list[tuple[str, str | None]]] | None:
    if markup is None:
        return []
    if not isinstance(markup, InlineKeyboardMarkup):
        return None  # a reply keyboard cannot sit on an edited message
    return [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]


class ReplySender:
    def __init__(self, catalog: Catalog, latest: LatestMessages,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._catalog = catalog
        self._latest = latest
        self._sleep = sleep

    async def deliver(self, bot: Bot, chat_id: int, outcome: Outcome, press: Press | None = None) -> None:
        """Every call once, in order; raises TelegramForbiddenError (blocked) or Undeliverable."""
        calls = self.plan(chat_id, outcome, press)
        done, rounds = 0, 0
        while done < len(calls):
            try:
                await calls[done](bot)
                done += 1
            except TelegramForbiddenError:
                raise
            except TelegramBadRequest as error:  # this call can never succeed: go on with the next
                log.error("Telegram refused a reply (%s)", error.message)
                done += 1
            except (TimeoutError, TelegramAPIError, ClientError) as error:
                rounds += 1
                if rounds >= DELIVERY_ROUNDS:
                    raise Undeliverable(type(error).__name__) from error
                pause = min(30.0, 2.0 ** rounds)
                log.warning("reply not delivered (%s); trying again in %.0f s", type(error).__name__, pause)
                await self._sleep(pause)

    def plan(self, chat_id: int, outcome: Outcome, press: Press | None) -> list[Call]:
        replies = [with_table_as_document(r, self._catalog, outcome.locale, outcome.formal) for r in outcome.replies]
        rendered = [render_reply(r, self._catalog, outcome.locale, outcome.formal) for r in replies]
        calls: list[Call] = []
        if press is not None:
            if len(rendered) == 1 and self._replaceable(replies[0], rendered[0], press):
                return self._replace(press, rendered[0])
            closing = self._close_keyboard(press)
            if closing is not None:
                calls.append(closing)
        for reply, one in zip(replies, rendered):
            calls.extend(self._send(chat_id, reply, one, outcome.locale))
        return calls

    def _replaceable(self, reply: Reply, rendered: RenderedReply, press: Press) -> bool:
        keyboard = _buttons(rendered.keyboard)
        return (press.html_text is not None and reply.document is None and reply.chart is None
                and reply.photo_file_id is None
                and len(rendered.chunks) == 1 and bool(keyboard)
                and self._latest.is_newest(press.chat_id, press.message_id))

    def _replace(self, press: Press, rendered: RenderedReply) -> list[Call]:
        text, markup = rendered.chunks[0], rendered.keyboard
        if text == press.html_text and _buttons(markup) == press.keyboard:
            return []  # the same question again (e.g. an outdated press): nothing to change

        async def replace(bot: Bot) -> None:
            try:
                await bot.edit_message_text(text=text, chat_id=press.chat_id, message_id=press.message_id,
                                            reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None)
            except TelegramBadRequest as error:
                if NOT_MODIFIED in error.message:
                    return
                # e.g. older than 48 hours: the answer comes as a new message instead
                sent = await bot.send_message(press.chat_id, text, reply_markup=markup)
                self._latest.record(press.chat_id, sent.message_id)
        return [replace]

    def _close_keyboard(self, press: Press) -> Call | None:
        """Show the chosen answer under the question and remove its buttons (no double presses)."""
        if press.label is None or not press.keyboard:
            return None
        label = html.escape(press.label, quote=False)

        async def close(bot: Bot) -> None:
            try:
                if press.html_text is not None:
                    text = f"{press.html_text}\n\n→ <i>{label}</i>"
                    if utf16_len(text) <= MESSAGE_LIMIT:
                        await bot.edit_message_text(text=text, chat_id=press.chat_id,
                                                    message_id=press.message_id, reply_markup=None)
                        return
                await bot.edit_message_reply_markup(chat_id=press.chat_id, message_id=press.message_id,
                                                    reply_markup=None)
            except TelegramBadRequest as error:  # e.g. older than 48 hours, or closed already
                log.info("could not close keyboard: %s", error.message)
        return close

    def _send(self, chat_id: int, reply: Reply, rendered: RenderedReply, locale: str) -> list[Call]:
        chunks = rendered.chunks
        keyboard_on_caption = rendered.keyboard if len(chunks) == 1 else None
        calls: list[Call] = []

        def recorded(message: Message) -> None:
            self._latest.record(chat_id, message.message_id)

        caption = chunks[0]
        if reply.document is not None:
            document = reply.document

            async def send_document(bot: Bot) -> None:
                file = BufferedInputFile(document.content, filename=document.filename)
                recorded(await bot.send_document(chat_id, file, caption=caption, reply_markup=keyboard_on_caption))
            calls.append(send_document)
            chunks = chunks[1:]
        elif reply.photo_file_id is not None:
            photo_id = reply.photo_file_id
            # a picture Telegram has already: the text is its caption, unless too long for one
            with_caption = len(chunks) == 1 and utf16_len(caption) <= CAPTION_LIMIT
            photo_markup = keyboard_on_caption if with_caption else None

            async def send_stored_photo(bot: Bot) -> None:
                recorded(await bot.send_photo(chat_id, photo_id, caption=caption if with_caption else None,
                                              reply_markup=photo_markup))
            calls.append(send_stored_photo)
            chunks = chunks[1:] if with_caption else chunks
        elif reply.chart is not None:
            chart = reply.chart

            async def send_photo(bot: Bot) -> None:
                picture = BufferedInputFile(chart_png(chart, self._catalog, locale), filename=f"{chart.kind}.png")
                recorded(await bot.send_photo(chat_id, picture, caption=caption, reply_markup=keyboard_on_caption))
            calls.append(send_photo)
            chunks = chunks[1:]
        for index, chunk in enumerate(chunks):
            markup = rendered.keyboard if index == len(chunks) - 1 else None

            async def send_text(bot: Bot, chunk: str = chunk, markup: Markup | None = markup) -> None:
                recorded(await bot.send_message(chat_id, chunk, reply_markup=markup))
            calls.append(send_text)
        if rendered.follow_up is not None:
            follow_text, follow_markup = rendered.follow_up

            async def send_follow_up(bot: Bot) -> None:
                recorded(await bot.send_message(chat_id, follow_text, reply_markup=follow_markup))
            calls.append(send_follow_up)
        return calls
