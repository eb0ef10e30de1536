"""Bot API request middleware: share Telegram's limits with the outbox, wait out 429s, retry 5xx
and network errors with bounded backoff."""
from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery, EditMessageReplyMarkup, EditMessageText, GetUpdates, SendDocument, SendMessage, SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType

from flows.ratelimit import RateLimiter

log = logging.getLogger(__name__)

# Count toward Telegram's 30 messages/s and 1 per chat (edits and callback answers do not, but
# they must wait out a 429 like everything else).
NEW_MESSAGES = (SendMessage, SendDocument, SendPhoto)
CHAT_BOUND = (*NEW_MESSAGES, EditMessageText, EditMessageReplyMarkup, AnswerCallbackQuery)


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
        if isinstance(method, GetUpdates):  # the polling loop has its own backoff
            return await make_request(bot, method)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._limited(make_request, bot, method)
            except TelegramRetryAfter as error:
                # Flood control: wait exactly as long as Telegram says; this is not a failure.
                if error.retry_after > self.max_retry_after or attempt >= self.max_attempts * 2:
                    raise
                log.warning("%s: flood control, retrying after %s s", method.__api_method__, error.retry_after)
                chat = _chat_of(method)
                if self.limiter is not None and chat is not None:
                    self.limiter.hold(error.retry_after, chat)  # the outbox waits for this chat too
                await asyncio.sleep(error.retry_after)
            except (TelegramServerError, TelegramNetworkError) as error:
                if attempt >= self.max_attempts:
                    raise
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
                log.warning("%s failed (%s), retry %d in %.1f s", method.__api_method__,
                            type(error).__name__, attempt, delay)
                await asyncio.sleep(delay)

    async def _limited(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Any,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        limiter, chat = self.limiter, _chat_of(method)
        if limiter is None or not isinstance(method, CHAT_BOUND):
            return await make_request(bot, method)
        if not isinstance(method, NEW_MESSAGES) or chat is None:
            held = limiter.held_for(chat)
            if held > 0:
                await asyncio.sleep(held)
            return await make_request(bot, method)
        await limiter.acquire(chat)
        try:
            return await make_request(bot, method)
        finally:
            limiter.release(chat)
