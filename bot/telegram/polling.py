"""Long polling that never loses an update and never lets one slow chat hold up the others.

aiogram's own polling confirms an update (next offset) as soon as its task starts. Here an update is
confirmed only once it is stored: the engine committed its new state together with its replies
(the handler calls `update_stored()`), or its handling ended. The offset sent to getUpdates is the
oldest update not stored yet. A crash before that point means Telegram sends the update again and
the processed-updates table answers it exactly once; a crash after it leaves stored replies that
`lotse run` sends at its next start (TelegramChannel.resend_unanswered).

Handling is pipelined: updates run as tasks (one chat's in order, different chats at once) while
polling goes on, so a reply waiting out a 429 for one chat (retry_after) delays nobody else, and
it does not hold back the offset either. Unconfirmed updates come back with every getUpdates; the
ones already running or done are recognised by their id and skipped.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable, Iterable

from aiogram import Bot, Dispatcher
from aiogram.types import Update

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]  # the last: blocked / unblocked
MAX_BACKOFF = 30.0
# While updates run, getUpdates would answer at once with them again: ask every so often instead.
BUSY_POLL_SECONDS = 0.1
DRAIN_SECONDS = 20.0  # at shutdown: how long running updates may take to finish

_on_stored: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("update_stored", default=None)


def update_stored() -> None:
    """Called by a handler once the update's outcome is in the database: it may be confirmed now.
    Outside the polling loop (webhook, tests) it does nothing."""
    callback = _on_stored.get()
    if callback is not None:
        callback()


def chat_key(update: Update) -> int:
    if update.message is not None:
        return update.message.chat.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    if update.my_chat_member is not None:
        return update.my_chat_member.chat.id
    return 0


async def feed(dp: Dispatcher, bot: Bot, update: Update) -> None:
    """One update through the dispatcher; a broken update is logged, never raised."""
    try:
        await dp.feed_update(bot, update)
    except Exception:
        log.exception("update %s failed", update.update_id)


class UpdatePipeline:
    """Runs updates as tasks and knows which offset confirms exactly the stored ones."""

    def __init__(self, dp: Dispatcher, bot: Bot) -> None:
        self._dp = dp
        self._bot = bot
        self._newest: int | None = None  # every update up to this id was started
        self._running: dict[int, asyncio.Task[None]] = {}  # update id -> task
        self._unstored: set[int] = set()  # started, outcome not stored yet: not to be confirmed
        self._tails: dict[int, asyncio.Task[None]] = {}  # chat -> its latest task
        self._progress = asyncio.Event()  # set when `_wanted` updates were stored since the last poll
        self._stored_since_poll = 0
        self._wanted = 1

    @property
    def busy(self) -> bool:
        """Updates not confirmable yet: getUpdates would return them at once, no long poll."""
        return bool(self._unstored)

    @property
    def offset(self) -> int | None:
        """getUpdates' offset: confirms every update before the oldest one not stored yet."""
        if self._unstored:
            return min(self._unstored)
        return None if self._newest is None else self._newest + 1

    def _stored(self, update_id: int) -> None:
        if update_id in self._unstored:
            self._unstored.discard(update_id)
            self._stored_since_poll += 1
            if self._stored_since_poll >= self._wanted:
                self._progress.set()

    def add(self, updates: Iterable[Update]) -> int:
        """Start the new ones (ids only grow); returns how many were new."""
        added = 0
        for update in updates:
            if self._newest is not None and update.update_id <= self._newest:
                continue  # running or done: sent again because it is not confirmed yet
            self._newest = update.update_id
            key = chat_key(update)
            context = contextvars.copy_context()
            context.run(_on_stored.set, functools.partial(self._stored, update.update_id))
            task = asyncio.create_task(self._handle(update, self._tails.get(key)), context=context)
            self._running[update.update_id] = task
            self._unstored.add(update.update_id)
            self._tails[key] = task
            task.add_done_callback(functools.partial(self._finished, update.update_id, key))
            added += 1
        return added

    async def _handle(self, update: Update, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:  # the same chat: strictly in order
            await asyncio.wait({previous})
        await feed(self._dp, self._bot, update)

    def _finished(self, update_id: int, key: int, task: asyncio.Task[None]) -> None:
        self._running.pop(update_id, None)
        if not task.cancelled():  # a cancelled update (shutdown) was maybe not stored: Telegram sends it again
            self._stored(update_id)
        if self._tails.get(key) is task:
            del self._tails[key]

    def expect_progress(self) -> None:
        """Called before each getUpdates: what is stored from now on counts for the next wait."""
        self._stored_since_poll = 0
        self._progress.clear()

    async def wait_for_progress(self, stop: asyncio.Event, timeout: float, at_least: int = 1) -> None:
        """Until `at_least` updates were stored or done since `expect_progress`, `stop` is set or
        `timeout` passes."""
        self._wanted = max(1, at_least)
        if self._stored_since_poll >= self._wanted:
            return
        self._progress.clear()  # it may have been set for a smaller number
        waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._progress.wait())}
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def drain(self, timeout: float) -> None:
        """Let running updates finish (bounded); the rest is cancelled and comes again after a restart."""
        if self._running:
            await asyncio.wait(set(self._running.values()), timeout=timeout)
        left = list(self._running.values())
        for task in left:
            task.cancel()
        if left:
            log.warning("%d updates unfinished at shutdown; Telegram sends those not stored yet again", len(left))
            await asyncio.wait(left, timeout=5)


async def poll(dp: Dispatcher, bot: Bot, stop: asyncio.Event, timeout: int = 25, limit: int = 100) -> None:
    pipeline = UpdatePipeline(dp, bot)
    backoff = 0.5
    try:
        while not stop.is_set():
            busy = pipeline.busy  # then unconfirmed updates exist and a long poll would return at once
            pipeline.expect_progress()
            request = asyncio.ensure_future(bot.get_updates(
                offset=pipeline.offset, timeout=0 if busy else timeout, limit=limit,
                allowed_updates=ALLOWED_UPDATES, request_timeout=timeout + 15))
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
            if not pipeline.add(updates) and pipeline.busy:
                # Every poll brings the unconfirmed updates again, to be parsed again: poll once a
                # quarter of them is stored (one of few at once), or after BUSY_POLL_SECONDS.
                await pipeline.wait_for_progress(stop, BUSY_POLL_SECONDS, at_least=len(updates) // 4)
    finally:
        await pipeline.drain(DRAIN_SECONDS)
    offset = pipeline.offset
    if offset is not None:
        try:  # confirm what was handled so a restart does not fetch it again
            await bot.get_updates(offset=offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES)
        except Exception as error:
            log.info("could not confirm handled updates (%s); they will be deduplicated", type(error).__name__)
