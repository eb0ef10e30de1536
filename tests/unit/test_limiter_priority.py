"""Answers before outbox sends: a bulk send never makes a conversation wait (virtual time)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from flows.delivery.limiter import RateLimiter
from tests.unit.test_ratelimit import most_in_any_window
from tests.unit.virtual_time import VirtualTime

DURATION = 0.004


@dataclass
class Send:
    chat: int
    bulk: bool
    asked: float
    start: float
    end: float


class Mixed:
    def __init__(self, per_second: float = 30, per_chat: float = 1, chat_burst: int = 1) -> None:
        self.time = VirtualTime()
        self.limiter = RateLimiter(per_second, per_chat, chat_burst=chat_burst, monotonic=self.time.monotonic,
                                   sleep=self.time.sleep)
        self.sends: list[Send] = []

    async def send(self, chat: int, bulk: bool, after: float = 0.0) -> Send:
        if after:
            await self.time.sleep(after)
        asked = self.time.now
        await self.limiter.acquire(chat, bulk=bulk)
        try:
            start = self.time.now
            await self.time.sleep(DURATION)
        finally:
            self.limiter.release(chat)
        send = Send(chat, bulk, asked, start, self.time.now)
        self.sends.append(send)
        return send

    def run(self, *sends: tuple[int, bool, float]) -> list[Send]:
        async def all_of() -> list[Send]:
            return list(await asyncio.gather(*(self.send(c, b, a) for c, b, a in sends)))
        return asyncio.run(self.time.run(all_of()))


def bulk_queue(n: int = 300) -> list[tuple[int, bool, float]]:
    return [(10_000 + i, True, 0.0) for i in range(n)]


def test_an_answer_starts_within_one_slot_despite_a_full_bulk_queue() -> None:
    mixed = Mixed()
    answers = [(1, False, 0.5), (2, False, 2.3), (3, False, 4.7)]
    sends = mixed.run(*bulk_queue(), *answers)
    for answer in (s for s in sends if not s.bulk):
        # no bulk send that was waiting when the answer asked starts before it ...
        overtaking = [s for s in sends if s.bulk and answer.asked < s.start < answer.start]
        assert overtaking == []
        # ... and it waits at most until the window frees the next slot (1/30 s at the steady rate)
        next_slot = min(s.start for s in sends if s.bulk and s.start >= answer.asked)
        assert answer.start <= next_slot
    assert most_in_any_window([s.start for s in sends]) <= 30


def test_without_priority_the_answer_would_wait_behind_the_queue() -> None:
    mixed = Mixed()
    sends = mixed.run(*[(c, False, a) for c, _, a in bulk_queue()], (1, False, 0.5))
    answer = next(s for s in sends if s.chat == 1)
    assert answer.start - answer.asked > 5  # what the priority prevents: seconds behind 300 broadcasts


def test_bulk_uses_what_answers_leave_and_keeps_the_limits() -> None:
    mixed = Mixed()
    chatty = [(1, False, 0.1 * i) for i in range(20)]  # one user, 20 answers within 2 s
    sends = mixed.run(*bulk_queue(120), *chatty)
    starts = [s.start for s in sends]
    assert most_in_any_window(starts) <= 30
    ones = sorted(s.start for s in sends if s.chat == 1)
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(ones, ones[1:]))  # the chat's own rate still holds
    # the answers' chat is held by its own rate: meanwhile bulk sends go on (no needless yielding)
    bulk = [s.start for s in sends if s.bulk]
    assert max(bulk) - min(bulk) < 120 / 30 + 1.5


def test_an_answer_that_gives_up_does_not_stop_bulk_sends() -> None:
    time = VirtualTime()
    limiter = RateLimiter(1, 1, monotonic=time.monotonic, sleep=time.sleep)

    async def scenario() -> tuple[bool, bool]:
        assert await limiter.acquire(5, bulk=True)
        limiter.release(5)
        gave_up = await limiter.acquire(6, deadline=time.now + 0.1)  # the window is full: cannot start
        later = await limiter.acquire(7, bulk=True)
        limiter.release(7)
        return gave_up, later
    assert asyncio.run(time.run(scenario())) == (False, True)


def test_while_people_chat_bulk_sends_leave_room_and_use_the_whole_rate_otherwise() -> None:
    """A press arriving a moment after bulk sends filled the window would wait for a slot to free;
    while people chat, bulk sends keep room for the answers of the last second plus a few."""
    mixed = Mixed()
    answers = [(100 + i, False, 3.0 + 0.1 * i) for i in range(30)]  # 10 answers a second for 3 s
    sends = mixed.run(*bulk_queue(400), *answers)
    replies = [s for s in sends if not s.bulk]
    assert max(s.start - s.asked for s in replies) < 1.0  # while the room is being made: within a window
    settled = [s for s in replies if s.asked >= 1004.0]  # a second into the chatting: a free slot at once
    assert settled and all(s.start - s.asked < 0.05 for s in settled), [round(s.start - s.asked, 3) for s in settled]
    assert most_in_any_window([s.start for s in sends], 1.0) <= 30

    def bulk_in(a: float, b: float) -> int:
        return sum(1 for s in sends if s.bulk and 1000 + a <= s.start < 1000 + b)

    assert bulk_in(0.5, 2.5) >= 58  # nobody chatting: the whole rate (2 s at 30/s, less a slot)
    assert bulk_in(4.5, 5.5) <= 30 - 10  # chatting: the answers' share stays free


def test_a_send_finishing_before_a_waiter_first_ran_still_wakes_it() -> None:
    """A bulk send that found every slot taken waits for the next change. A send that finishes in the
    moment between that decision and the waiting task's first step must still wake it; an Event set
    and cleared in that moment was missed, and the message sat until its lease ran out."""
    time = VirtualTime()
    limiter = RateLimiter(1, 100, monotonic=time.monotonic, sleep=time.sleep)

    async def scenario() -> float:
        await limiter.acquire(1)  # an answer holds the only slot of the window
        waiting = asyncio.ensure_future(limiter.acquire(2, bulk=True))
        await asyncio.sleep(0)  # the bulk send decides to wait ...
        limiter.release(1)  # ... and the answer finishes before its waiting task first ran
        await waiting
        limiter.release(2)
        return time.now

    started = time.now
    assert asyncio.run(time.run(scenario())) - started <= 1.0 + 1e-6  # the next window, not never
