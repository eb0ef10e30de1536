"""The answering bot's Bot API calls, counted for /metrics (bot/metrics.py) by outcome. Apart from
bot/metrics.py so that the terminal chat never imports aiogram."""
from __future__ import annotations

from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.metrics import Metrics
from bot.telegram.retry import LIMITED


class MeteredRequests(BaseRequestMiddleware):
    """Bot API middleware of the answering bot: each attempt of a send or an edit, by outcome. Register
    it after RetryMiddleware (inside it), so every retried attempt counts once."""

    def __init__(self, metrics: Metrics, channel: str = "telegram") -> None:
        self._metrics = metrics
        self._channel = channel

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Any,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        counted = isinstance(method, LIMITED)  # a flag, not a narrowing: make_request wants the generic type
        if not counted:
            return await make_request(bot, method)
        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            self._count("rate_limited")
            raise
        except TelegramForbiddenError:
            self._count("dropped")
            raise
        except TelegramBadRequest as error:
            if "message is not modified" not in error.message:  # an edit to what is shown: nothing sent
                self._count("failed")
            raise
        except (TelegramServerError, TelegramNetworkError, TimeoutError):
            self._count("retry")
            raise
        except Exception:
            self._count("failed")
            raise
        self._count("sent")
        return response

    def _count(self, outcome: str) -> None:
        self._metrics.sent(self._channel, "reply", outcome)
