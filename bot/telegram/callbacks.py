"""Callback answers go out the moment a press arrives, before the database is touched.

Telegram shows a spinner on the pressed button until the bot answers the callback query, and it
refuses answers after about 15 seconds; answerCallbackQuery has no rate limit. So the answer never
waits for the engine, the writer turn or other chats' messages. A query can be answered once only:
a press that may have been handled before (an update Telegram delivers again after a restart, or
a webhook retry) is answered after the engine said it is new, as before.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiohttp import ClientError

log = logging.getLogger(__name__)
REMEMBERED = 10_000  # update ids seen by this process (webhook retries come within minutes)
ANSWER_TIMEOUT = 10  # seconds; an answer later than that is refused by Telegram anyway


class CallbackAnswers:
    def __init__(self) -> None:
        self._stored_before_start: int | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def stored_before_start(self, newest_update_id: int | None) -> None:
        """The newest update id already in the database when this process started: updates up to
        it may come again (not confirmed before a crash) and must not be answered twice."""
        self._stored_before_start = newest_update_id

    def is_new(self, update_id: int) -> bool:
        """True the first time this process sees an update it cannot have handled before."""
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        return self._stored_before_start is None or update_id > self._stored_before_start

    def answer(self, bot: Bot, query_id: str) -> asyncio.Task[None]:
        """Answer in the background; the caller may await the task (it never raises)."""
        task = asyncio.create_task(self._answer(bot, query_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _answer(bot: Bot, query_id: str) -> None:
        try:
            await bot.answer_callback_query(query_id, request_timeout=ANSWER_TIMEOUT)
        except (TimeoutError, TelegramAPIError, ClientError) as error:
            # Too old, or already answered before a restart: the press is handled all the same.
            log.info("callback query not answered (%s)", type(error).__name__)
