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

Several processes (webhook workers on PostgreSQL) share one budget: with a SharedBudget, a send that
this process's own limiter lets go also asks the shared one, which makes the same decision over the
sends of every process (storage/send_budget.py). A 429 seen by any process holds all of them.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)
Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
SHARED_POLL = 0.01  # seconds between two questions to the shared budget while its window is all in flight
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


def answer_reserve(answers: list[float], now: float, capacity: int, length: float) -> int:
    """Slots a bulk send leaves free: the answers (their start times) of the last window plus
    headroom while people chat; none when nobody did for CHATTING seconds."""
    if not any(at > now - max(CHATTING, length) for at in answers):
        return 0
    recent = sum(1 for at in answers if at > now - length)
    return min(capacity - 1, recent + ANSWER_HEADROOM)


@dataclass(frozen=True)
class BudgetView:
    """Every process's sends as the shared budget sees them, in one clock (the database's, seconds)."""

    now: float
    finished: list[float]  # when the sends of the last window finished, oldest first
    running: int  # sends in flight anywhere
    answers: list[float]  # when recent interactive sends started
    chat_due: float  # the chat's bucket: theoretical time of its next send
    chat_running: list[float]  # starts of the chat's sends in flight
    held_until: float  # the later of the whole bot's and the chat's 429 hold


def shared_delay(view: BudgetView, bulk: bool, per_second: float, per_chat_per_second: float,
                 chat_burst: int) -> float | None:
    """The RateLimiter's decision over every process's sends: 0 to send now, seconds to wait, or None
    to wait until a send in flight finishes."""
    capacity, length = window_of(per_second)
    window = _Window(capacity, length, deque(view.finished), view.running)
    bucket = _Bucket(chat_burst, 1.0 / per_chat_per_second, view.chat_due, deque(view.chat_running))
    reserve = answer_reserve(view.answers, view.now, capacity, length) if bulk else 0
    delays = [window.delay(view.now, reserve), bucket.delay(view.now), max(0.0, view.held_until - view.now)]
    if None in delays:
        return None
    return max(d for d in delays if d is not None)


@dataclass(frozen=True)
class SharedGrant:
    """The shared budget's answer: a ticket to give back after the send, or how long to wait (None:
    until a send in flight somewhere finishes). `bot_held`/`chat_held`: seconds left of 429 holds that
    another process set (mirrored here, so that this process's waits and deferrals know of them).
    `bot_wait`: the part of the wait that is not the chat's (the window, a hold of the whole bot): this
    process's other sends of the kind wait for it too, without asking the database each."""

    ticket: int | None
    wait: float | None = None
    bot_held: float = 0.0
    chat_held: float = 0.0
    bot_wait: float | None = 0.0  # the part of `wait` that every chat's send (of this kind) waits for


class SharedBudget(Protocol):
    """One send budget for every process (PostgreSQL); see storage/send_budget.py."""

    async def take(self, chat_id: int, bulk: bool, per_second: float, per_chat_per_second: float,
                   chat_burst: int) -> SharedGrant: ...

    async def give_back(self, ticket: int, chat_id: int, per_chat_per_second: float) -> None:
        """The send finished (whatever its outcome)."""
        ...

    async def hold(self, seconds: float, chat_id: int | None) -> None:
        """A 429's retry_after: nothing to the chat (None: to anyone) from any process until then."""
        ...


def window_of(per_second: float) -> tuple[int, float]:
    """30/s -> 30 per 1 s; 0.5/s -> 1 per 2 s; 2.5/s -> 2 per 0.8 s."""
    if per_second <= 0:
        raise ValueError("rate must be positive")
    capacity = max(1, math.floor(per_second))
    return capacity, capacity / per_second


class RateLimiter:
    def __init__(self, per_second: float = 30.0, per_chat_per_second: float = 1.0, *, chat_burst: int = 1,
                 monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep,
                 shared: SharedBudget | None = None) -> None:
        if per_chat_per_second <= 0 or chat_burst < 1:
            raise ValueError("per-chat rate must be positive and the burst at least 1")
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self.chat_burst = chat_burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._global = _Window(*window_of(per_second))
        self._chats: dict[int, _Bucket] = {}
        self._global_hold = 0.0
        self._holds: dict[int, float] = {}
        # Resolved at the next change (a send finished, an answer came or went). A waiter takes it
        # before it yields, so a change in between is never missed (an Event set and cleared before
        # the waiting task first ran would be).
        self._changed: asyncio.Future[None] | None = None
        self._interactive: dict[int, int] = {}  # chat -> interactive sends waiting for a slot
        self._answers: deque[float] = deque()  # when interactive sends took their slots, recently
        self._shared = shared
        self._asking_shared = asyncio.Lock()  # one question to the database at a time per process
        # Until when the shared budget has no slot for any chat (key: bulk); asked again only then.
        self._shared_closed: dict[bool, float] = {True: 0.0, False: 0.0}
        self._tickets: dict[int, deque[int]] = {}  # chat -> shared tickets of its sends in flight
        self._background: set[asyncio.Task[None]] = set()  # give-backs and holds on their way to the database

    def now(self) -> float:
        return self._monotonic()

    def hold(self, seconds: float, chat_id: int | None = None) -> None:
        """No send to this chat (None: to anyone) until `seconds` from now (a 429's retry_after); with a
        shared budget, in every process."""
        self._hold_here(seconds, chat_id)
        if self._shared is not None:
            self._in_background(self._shared.hold(seconds, chat_id))

    def _hold_here(self, seconds: float, chat_id: int | None) -> None:
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
        """Slots a bulk send leaves free (answer_reserve)."""
        while self._answers and self._answers[0] <= now - max(CHATTING, self._global.length):
            self._answers.popleft()
        return answer_reserve(list(self._answers), now, self._global.capacity, self._global.length)

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
            if delay is not None and delay <= 0 and self._shared is not None:
                closed = self._shared_closed[bulk] - now
                # the other processes' sends count too
                delay = closed if closed > 0 else await self._ask_shared(chat_id, bulk)
                now = self._monotonic()
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

    async def _ask_shared(self, chat_id: int, bulk: bool) -> float | None:
        """0 with a shared ticket kept for release(); else how long to wait (None: until a send finishes,
        here or elsewhere: looked at again after SHARED_POLL)."""
        assert self._shared is not None
        async with self._asking_shared:
            closed = self._shared_closed[bulk] - self._monotonic()
            if closed > 0:  # learnt while this one waited for its turn to ask
                return closed
            try:
                grant = await self._shared.take(chat_id, bulk, self.per_second, self.per_chat_per_second,
                                                self.chat_burst)
            except Exception:  # the database is away: this process's own limits still hold
                log.warning("shared send budget unavailable; sending within this process's limits",
                            exc_info=True)
                return 0.0
        if grant.bot_held > 0:
            self._hold_here(grant.bot_held, None)
        if grant.chat_held > 0:
            self._hold_here(grant.chat_held, chat_id)
        if grant.ticket is not None:
            self._tickets.setdefault(chat_id, deque()).append(grant.ticket)
            return 0.0
        if grant.bot_wait is None or grant.bot_wait > 0:  # no chat could go: nobody here asks until then
            until = self._monotonic() + (SHARED_POLL if grant.bot_wait is None else grant.bot_wait)
            for kind in ((True,) if bulk else (True, False)):  # an answer that cannot go: no bulk send either
                self._shared_closed[kind] = max(self._shared_closed[kind], until)
        return SHARED_POLL if grant.wait is None else max(grant.wait, 0.001)

    def _in_background(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:  # the budget is a guard; a failed write must not fail the send
                log.warning("shared send budget not updated", exc_info=True)
        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Let the give-backs and holds on their way reach the database."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=5)

    def release(self, chat_id: int) -> None:
        tickets = self._tickets.get(chat_id)
        if tickets:
            ticket = tickets.popleft()
            if not tickets:
                del self._tickets[chat_id]
            assert self._shared is not None
            self._in_background(self._shared.give_back(ticket, chat_id, self.per_chat_per_second))
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
