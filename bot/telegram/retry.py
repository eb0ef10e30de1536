"""Bot API request middleware: wait out 429s, retry 5xx and network errors with bounded backoff."""
from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)


class RetryMiddleware(BaseRequestMiddleware):
    def __init__(self, max_attempts: int = 5, base_delay: float = 0.5, max_delay: float = 10.0,
                 max_retry_after: float = 300.0) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after  # beyond this a send is given up, not held forever

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Any,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        if isinstance(method, GetUpdates):  # the polling loop has its own backoff
            return await make_request(bot, method)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                # Flood control: wait exactly as long as Telegram says; this is not a failure.
                if error.retry_after > self.max_retry_after or attempt >= self.max_attempts * 2:
                    raise
                log.warning("%s: flood control, retrying after %s s", method.__api_method__, error.retry_after)
                await asyncio.sleep(error.retry_after)
            except (TelegramServerError, TelegramNetworkError) as error:
                if attempt >= self.max_attempts:
                    raise
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
                log.warning("%s failed (%s), retry %d in %.1f s", method.__api_method__,
                            type(error).__name__, attempt, delay)
                await asyncio.sleep(delay)
