"""One limiter for every message a bot sends or edits: at most N in any window in total, a short
burst and then a steady rate per chat, and nothing at all to a chat (or to anyone) while a 429's
retry_after runs.

A send occupies its window from the moment it starts until `window` after it finished. Counting
from the finish (not the start) keeps us under the server's count even when a request travels
slowly: whatever the server counted as "within the last second" when our next request arrives
finished here even later. Sends still in flight count too. That costs one round trip per window
(about 0.5 % at 5 ms), not a 429.

Answers first: a bulk send (the outbox: reminders, announcements) takes a slot only while no
interactive send (an answer to a user) waits for one it could take. So an answer waits at most for
the slot that frees next, never behind a queue of 10,000 announcements; bulk sends use whatever
the answers leave of the rate. While people are chatting, bulk sends also leave room in every
window for as many answers as the last second had, plus a few: a burst of presses then finds free
slots at once instead of slots that a broadcast filled a moment earlier. With nobody chatting,
bulk sends use the whole rate.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
MAX_WAIT_ROUNDS = 100_000  # every round sleeps or waits for a finished send; this only guards bugs
ANSWER_HEADROOM = 3  # slots per window bulk sends leave free beyond the answers of the last second
CHATTING = 2.0  # seconds after the last answer in which bulk sends keep that room


@dataclass
class _Window:
    """Sends per window: how many may run, when the finished ones finished, how many still run."""

    capacity: int
    length: float
    finished: deque[float] = field(default_factory=deque)
    running: int = 0

    def expire(self, now: float) -> None:
        while self.finished and self.finished[0] <= now - self.length:
            self.finished.popleft()

    def delay(self, now: float, reserve: int = 0) -> float | None:
        """0 if a send may start now; seconds to wait; None: wait until a running send finishes.
        `reserve`: slots to leave free (for answers)."""
        self.expire(now)
        free = self.capacity - reserve - self.running
        if free <= 0:
            return None
        excess = len(self.finished) - free + 1  # this many finished sends must leave the window
        if excess <= 0:
            return 0.0
        return self.finished[excess - 1] + self.length - now

    @property
    def idle(self) -> bool:
        return self.running == 0 and not self.finished


@dataclass
class _Bucket:
    """One chat's budget as a token bucket (GCRA): `burst` sends at once, then one per `interval`.

    Telegram tolerates a short burst to one chat and about one message per second on average; a
    two-message answer need not arrive with a one-second gap. `due` is the theoretical time of the
    next send at the steady rate; a send may start while `due` lies at most `burst - 1` intervals
    ahead. Each send's own duration is added when it finishes: the server counts arrivals, which
    may come closer together than our starts did.
    """

    burst: int
    interval: float
    due: float = 0.0
    starts: deque[float] = field(default_factory=deque)  # of the sends in flight

    def delay(self, now: float) -> float | None:
        """0 if a send may start now; seconds to wait; None: wait until a running send finishes."""
        if len(self.starts) >= self.burst:
            return None
        return max(0.0, self.due - (self.burst - 1) * self.interval - now)

    def take(self, now: float) -> None:
        self.due = max(self.due, now) + self.interval
        self.starts.append(now)

    def give_back(self, now: float) -> None:
        started = self.starts.popleft()
        self.due += max(0.0, now - started)

    def idle(self, now: float) -> bool:
        return not self.starts and self.due <= now


def _window(per_second: float) -> tuple[int, float]:
    """30/s -> 30 per 1 s; 0.5/s -> 1 per 2 s; 2.5/s -> 2 per 0.8 s."""
    if per_second <= 0:
        raise ValueError("rate must be positive")
    capacity = max(1, math.floor(per_second))
    return capacity, capacity / per_second


class RateLimiter:
    def __init__(self, per_second: float = 30.0, per_chat_per_second: float = 1.0, *, chat_burst: int = 1,
                 monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        if per_chat_per_second <= 0 or chat_burst < 1:
            raise ValueError("per-chat rate must be positive and the burst at least 1")
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self.chat_burst = chat_burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._global = _Window(*_window(per_second))
        self._chats: dict[int, _Bucket] = {}
        self._global_hold = 0.0
        self._holds: dict[int, float] = {}
        # Resolved at the next change (a send finished, an answer came or went). A waiter takes it
        # before it yields, so a change in between is never missed (an Event set and cleared before
        # the waiting task first ran would be).
        self._changed: asyncio.Future[None] | None = None
        self._interactive: dict[int, int] = {}  # chat -> interactive sends waiting for a slot
        self._answers: deque[float] = deque()  # when interactive sends took their slots, recently

    def now(self) -> float:
        return self._monotonic()

    def hold(self, seconds: float, chat_id: int | None = None) -> None:
        """No send to this chat (None: to anyone) until `seconds` from now (a 429's retry_after)."""
        until = self._monotonic() + max(0.0, seconds)
        if chat_id is None:
            self._global_hold = max(self._global_hold, until)
        else:
            self._holds[chat_id] = max(self._holds.get(chat_id, 0.0), until)

    def held_for(self, chat_id: int | None) -> float:
        """Seconds until a hold on this chat (None: only the hold on everyone) ends; 0 if none."""
        now = self._monotonic()
        chat_hold = self._holds.get(chat_id, 0.0) if chat_id is not None else 0.0
        return max(0.0, self._global_hold - now, chat_hold - now)

    def _chat(self, chat_id: int) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = self._chats[chat_id] = _Bucket(self.chat_burst, 1.0 / self.per_chat_per_second)
        return bucket

    def _delay(self, chat_id: int, now: float, bulk: bool = False) -> float | None:
        reserve = self._reserve(now) if bulk else 0
        delays = [self._global.delay(now, reserve), self._chat(chat_id).delay(now), self.held_for(chat_id)]
        if None in delays:
            return None
        return max(d for d in delays if d is not None)

    def _reserve(self, now: float) -> int:
        """Slots a bulk send leaves free: the answers of the last window plus headroom while people
        chat; none when nobody did for a while."""
        while self._answers and self._answers[0] <= now - max(CHATTING, self._global.length):
            self._answers.popleft()
        if not self._answers:
            return 0
        recent = sum(1 for at in self._answers if at > now - self._global.length)
        return min(self._global.capacity - 1, recent + ANSWER_HEADROOM)

    def _answer_waiting(self, now: float) -> bool:
        """An interactive send waits that could start as soon as the rate (not its chat) allows."""
        for chat_id in self._interactive:
            bucket = self._chats.get(chat_id)
            chat_ready = bucket is None or bucket.delay(now) == 0.0
            if chat_ready and self.held_for(chat_id) <= 0:
                return True
        return False

    def _wake(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)  # every waiter of this change wakes

    def _next_change(self) -> asyncio.Future[None]:
        if self._changed is None or self._changed.done():
            self._changed = asyncio.get_running_loop().create_future()
        return self._changed

    async def acquire(self, chat_id: int, deadline: float | None = None, bulk: bool = False) -> bool:
        """Wait for a send slot to this chat; False (and no slot) if it cannot start by `deadline`
        (monotonic seconds). Call release() after the send, whatever happened.

        bulk=True (outbox sends): yield to every interactive send that waits for a slot."""
        if bulk:
            return await self._acquire(chat_id, deadline, bulk=True)
        self._interactive[chat_id] = self._interactive.get(chat_id, 0) + 1
        self._wake()  # bulk waiters look again: from now on they let this one go first
        try:
            return await self._acquire(chat_id, deadline, bulk=False)
        finally:
            left = self._interactive[chat_id] - 1
            if left:
                self._interactive[chat_id] = left
            else:
                del self._interactive[chat_id]
            self._wake()

    async def _acquire(self, chat_id: int, deadline: float | None, bulk: bool) -> bool:
        for _ in range(MAX_WAIT_ROUNDS):
            now = self._monotonic()
            delay = self._delay(chat_id, now, bulk)
            if bulk and delay is not None and self._answer_waiting(now):
                delay = None  # an answer goes first: wait until it took its slot (or gave up)
            if delay is not None and delay <= 0:
                self._global.running += 1
                self._chat(chat_id).take(now)
                if not bulk:
                    self._answers.append(now)
                return True
            if deadline is not None and (now >= deadline or (delay is not None and now + delay > deadline)):
                self._forget_if_idle(chat_id)
                return False
            if delay is None:  # every slot is taken by a send in flight: wait for one to finish
                await self._wait_for_finish(None if deadline is None else deadline - now)
            else:
                await self._sleep(delay)
        raise RuntimeError("rate limiter did not make progress")

    def release(self, chat_id: int) -> None:
        now = self._monotonic()
        self._global.running -= 1
        self._global.finished.append(now)
        self._chat(chat_id).give_back(now)
        self._wake()
        self._tidy(now)

    @asynccontextmanager
    async def slot(self, chat_id: int) -> AsyncIterator[None]:
        await self.acquire(chat_id)
        try:
            yield
        finally:
            self.release(chat_id)

    async def _wait_for_finish(self, timeout: float | None) -> None:
        waiter = asyncio.ensure_future(asyncio.shield(self._next_change()))  # cancelling it spares the others
        tasks: set[asyncio.Future[Any]] = {waiter}
        if timeout is not None:
            tasks.add(asyncio.ensure_future(self._sleep(max(0.0, timeout))))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()

    def _forget_if_idle(self, chat_id: int) -> None:
        bucket = self._chats.get(chat_id)
        if bucket is not None and bucket.idle(self._monotonic()):
            del self._chats[chat_id]

    def _tidy(self, now: float) -> None:
        """Keep memory at the chats of the last window (10,000 chats must not mean 10,000 entries)."""
        if len(self._chats) > 2 * self._global.capacity + 64:
            for chat_id in [c for c, bucket in self._chats.items() if bucket.idle(now)]:
                del self._chats[chat_id]
        if len(self._holds) > 64:
            for chat_id in [c for c, until in self._holds.items() if until <= now]:
                del self._holds[chat_id]
