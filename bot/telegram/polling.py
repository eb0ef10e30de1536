"""Long polling that never loses an update.

aiogram's own polling confirms an update (next offset) as soon as its task starts. Here a batch is
confirmed only after every update in it was handled, so a crash mid-batch means Telegram sends
those updates again and the processed-updates table answers each exactly once. Updates of one
chat run in order; different chats run concurrently.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from aiogram import Bot, Dispatcher
from aiogram.types import Update

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
MAX_BACKOFF = 30.0


def chat_key(update: Update) -> int:
    if update.message is not None:
        return update.message.chat.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    return 0


async def _feed(dp: Dispatcher, bot: Bot, updates: list[Update]) -> None:
    for update in updates:
        try:
            await dp.feed_update(bot, update)
        except Exception:  # one broken update must not stop the others
            log.exception("update %s failed", update.update_id)


async def process_batch(dp: Dispatcher, bot: Bot, updates: list[Update]) -> None:
    by_chat: dict[int, list[Update]] = defaultdict(list)
    for update in updates:
        by_chat[chat_key(update)].append(update)
    await asyncio.gather(*(_feed(dp, bot, group) for group in by_chat.values()))


async def poll(dp: Dispatcher, bot: Bot, stop: asyncio.Event, timeout: int = 25, limit: int = 100) -> None:
    offset: int | None = None
    backoff = 0.5
    while not stop.is_set():
        request = asyncio.ensure_future(bot.get_updates(
            offset=offset, timeout=timeout, limit=limit, allowed_updates=ALLOWED_UPDATES,
            request_timeout=timeout + 15))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({request, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not request.done():
            request.cancel()  # stop asked while waiting for updates: nothing was received
            break
        try:
            updates = request.result()
        except Exception as error:  # network trouble or Telegram down: wait, then ask again
            log.warning("getUpdates failed (%s); retrying in %.1f s", type(error).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)
            continue
        backoff = 0.5
        if updates:
            await process_batch(dp, bot, updates)
            offset = updates[-1].update_id + 1
    if offset is not None:
        try:  # confirm the last batch so a restart does not fetch it again
            await bot.get_updates(offset=offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES)
        except Exception as error:
            log.info("could not confirm last batch (%s); it will be deduplicated", type(error).__name__)
