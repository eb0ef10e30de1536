"""The outbox's Sender for Telegram: one outbox message = one Bot API call, outcome as a SendResult.

It must be given a Bot without RetryMiddleware (runner.make_bot(..., retry=False)): the dispatcher
has to see every 429 itself, to hold the chat in the shared limiter, and it retries transient
errors through the database, where a retry survives a restart.
"""
from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile
from aiohttp import ClientError

from bot.telegram.convert import CHANNEL
from bot.telegram.latest import LatestMessages
from bot.telegram.render import render_reply
from flows.core.model import Reply, UserRef
from flows.delivery.outbox import SendResult
from prompts import Catalog

log = logging.getLogger(__name__)


class TelegramSender:
    channel = CHANNEL

    def __init__(self, bot: Bot, catalog: Catalog, request_timeout: int = 10,
                 latest: LatestMessages | None = None) -> None:
        self._bot = bot
        self._catalog = catalog
        self._timeout = request_timeout
        self._latest = latest

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        try:
            rendered = render_reply(reply, self._catalog, locale, formal)
        except Exception as error:  # a missing key or value: the same message will fail again
            return SendResult.permanent(f"cannot render {reply.key}: {type(error).__name__}")
        if len(rendered.chunks) != 1:
            # Several chunks would be several calls: a retry after the first could repeat it.
            return SendResult.permanent(f"{reply.key} is too long for one message")
        if getattr(reply, "chart", None) is not None:
            return SendResult.permanent("charts are not sent through the outbox")
        text, chat_id = rendered.chunks[0], recipient.chat_id
        try:
            if reply.document is not None:
                file = BufferedInputFile(reply.document.content, filename=reply.document.filename)
                sent = await self._bot.send_document(chat_id, file, caption=text, reply_markup=rendered.keyboard,
                                                     request_timeout=self._timeout)
            else:
                sent = await self._bot.send_message(chat_id, text, reply_markup=rendered.keyboard,
                                                    request_timeout=self._timeout)
        except TelegramRetryAfter as error:
            # Telegram does not say which limit was hit; every chat is kept within its own budget,
            # so it is the overall one: hold the whole bot, answers included.
            return SendResult.wait(error.retry_after, whole_bot=True)
        except TelegramForbiddenError as error:  # blocked, deactivated, never started the bot
            return SendResult.blocked(error.message)
        except (TelegramBadRequest, TelegramEntityTooLarge, TelegramMigrateToChat) as error:
            return SendResult.permanent(error.message)
        except (TelegramServerError, TelegramNetworkError) as error:  # 5xx, timeouts, connection errors
            return SendResult.transient(error.message)
        except (TimeoutError, ClientDecodeError, ClientError) as error:  # e.g. a proxy's HTML 502
            return SendResult.transient(type(error).__name__)
        except TelegramAPIError as error:  # 401, 404, 409 ...: not this message's fault; retry a few times
            log.warning("Bot API refused an outbox message: %s", type(error).__name__)
            return SendResult.transient(error.message)
        if self._latest is not None:
            self._latest.record(chat_id, sent.message_id)
        return SendResult.ok()
