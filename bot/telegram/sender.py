"""The outbox's Sender for Telegram: one outbox message = one Bot API call, outcome as a SendResult.

It must be given a Bot without RetryMiddleware (runner.make_bot(..., retry=False)): the dispatcher
has to see every 429 itself, to hold the chat in the shared limiter, and it retries transient
errors through the database, where a retry survives a restart.

A timeout or a connection that broke after the request went out is "unknown" (Telegram may have
sent the message); a connection that could not be made is transient (nothing went out). With
`paid_broadcast`, announcements go out with allow_paid_broadcast (Telegram: up to 1000 messages
per second, 0.1 Stars each from the bot's balance).
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
from aiohttp import ClientConnectorError, ClientError

from bot.telegram.convert import CHANNEL
from bot.telegram.latest import LatestMessages
from bot.telegram.render import CAPTION_LIMIT, render_reply, utf16_len
from flows.core.model import Reply, UserRef
from flows.delivery.broadcast_sending import MESSAGE_KEY as ANNOUNCEMENT
from flows.delivery.outbox import SendResult
from prompts import Catalog

log = logging.getLogger(__name__)


class TelegramSender:
    channel = CHANNEL

    def __init__(self, bot: Bot, catalog: Catalog, request_timeout: int = 10,
                 latest: LatestMessages | None = None, paid_broadcast: bool = False) -> None:
        self._bot = bot
        self._paid_broadcast = paid_broadcast
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
        if reply.photo_file_id is not None and utf16_len(text) > CAPTION_LIMIT:
            return SendResult.permanent(f"{reply.key} is too long for a caption")
        paid = True if self._paid_broadcast and reply.key == ANNOUNCEMENT else None
        try:
            if reply.photo_file_id is not None:
                sent = await self._bot.send_photo(chat_id, reply.photo_file_id, caption=text,
                                                  reply_markup=rendered.keyboard, allow_paid_broadcast=paid,
                                                  request_timeout=self._timeout)
            elif reply.document is not None:
                file = BufferedInputFile(reply.document.content, filename=reply.document.filename)
                sent = await self._bot.send_document(chat_id, file, caption=text, reply_markup=rendered.keyboard,
                                                     request_timeout=self._timeout)
            else:
                sent = await self._bot.send_message(chat_id, text, reply_markup=rendered.keyboard,
                                                    allow_paid_broadcast=paid, request_timeout=self._timeout)
        except TelegramRetryAfter as error:
            # Telegram does not say which limit was hit; every chat is kept within its own budget,
            # so it is the overall one: hold the whole bot, answers included.
            return SendResult.wait(error.retry_after, whole_bot=True)
        except TelegramForbiddenError as error:  # blocked, deactivated, never started the bot
            return SendResult.blocked(error.message)
        except (TelegramBadRequest, TelegramEntityTooLarge, TelegramMigrateToChat) as error:
            return SendResult.permanent(error.message)
        except TelegramServerError as error:  # 5xx: Telegram answered, and did not send it
            return SendResult.transient(error.message)
        except TelegramNetworkError as error:
            if isinstance(error.__cause__, ClientConnectorError):  # no connection: nothing went out
                return SendResult.transient(error.message)
            return SendResult.unknown(error.message)  # a timeout, a connection broken mid-request
        except ClientConnectorError as error:
            return SendResult.transient(type(error).__name__)
        except (TimeoutError, ClientError) as error:
            return SendResult.unknown(type(error).__name__)
        except ClientDecodeError as error:  # e.g. a proxy's HTML 502
            return SendResult.transient(type(error).__name__)
        except TelegramAPIError as error:  # 401, 404, 409 ...: not this message's fault; retry a few times
            log.warning("Bot API refused an outbox message: %s", type(error).__name__)
            return SendResult.transient(error.message)
        if self._latest is not None:
            self._latest.record(chat_id, sent.message_id)
        return SendResult.ok()
