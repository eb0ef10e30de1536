"""Bot API request middleware: sends and edits share Telegram's limits with the outbox, callback
answers go out at once, a 429 holds the whole bot for its retry_after, 5xx and network errors are
retried with bounded backoff."""
from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetUpdates,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType

from flows.delivery.limiter import RateLimiter

log = logging.getLogger(__name__)

# Telegram counts these toward its 30 messages/s and its per-chat limit: edits like sends (its
# maintainers say so: tdlib/td#2592, #3034, telegram-bot-api#648).
LIMITED = (SendMessage, SendDocument, SendPhoto, EditMessageText, EditMessageReplyMarkup)
# No limit at all, and worthless after a few seconds: never queued, never held.
UNLIMITED = (AnswerCallbackQuery,)
CALLBACK_ANSWER_ATTEMPTS = 2


def _chat_of(method: TelegramMethod[Any]) -> int | None:
    chat = getattr(method, "chat_id", None)
    return chat if isinstance(chat, int) else None


class RetryMiddleware(BaseRequestMiddleware):
    """`limiter`: the one the Telegram outbox uses, so answers and proactive messages together keep
    the limits, and a 429 seen by either holds both."""

    def __init__(self, max_attempts: int = 5, base_delay: float = 0.5, max_delay: float = 10.0,
                 max_retry_after: float = 300.0, limiter: RateLimiter | None = None) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after  # beyond this a send is given up, not held forever
        self.limiter = limiter

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Any,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        if method.__api_method__ == GetUpdates.__api_method__:  # the polling loop has its own backoff
            return await make_request(bot, method)
        unlimited = isinstance(method, UNLIMITED)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._limited(make_request, bot, method)
            except TelegramRetryAfter as error:
                # Flood control: wait exactly as long as Telegram says; this is not a failure.
                if error.retry_after > self.max_retry_after or attempt >= self.max_attempts * 4 or unlimited:
                    raise
                log.warning("%s: flood control, retrying after %s s", method.__api_method__, error.retry_after)
                if self.limiter is not None:
                    # A 429 does not say whether the chat or the whole bot went too fast, and our
                    # limiter keeps every chat within its budget: so it is the whole bot's.
                    self.limiter.hold(error.retry_after)
                else:
                    await asyncio.sleep(error.retry_after)
            except (TelegramServerError, TelegramNetworkError) as error:
                if attempt >= (CALLBACK_ANSWER_ATTEMPTS if unlimited else self.max_attempts):
                    raise
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
                log.warning("%s failed (%s), retry %d in %.1f s", method.__api_method__,
                            type(error).__name__, attempt, delay)
                await asyncio.sleep(delay)

    async def _limited(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Any,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        limiter, chat = self.limiter, _chat_of(method)
        limited = isinstance(method, LIMITED)  # a flag, not a narrowing: make_request wants the generic type
        if limiter is None or isinstance(method, UNLIMITED):
            return await make_request(bot, method)
        if not limited or chat is None:  # e.g. setMyCommands: only wait out a hold
            held = limiter.held_for(chat)
            if held > 0:
                await asyncio.sleep(held)
            return await make_request(bot, method)
        await limiter.acquire(chat)
        try:
            return await make_request(bot, method)
        finally:
            limiter.release(chat)
