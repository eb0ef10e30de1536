"""The shared limiter: never more than the rates allow, nothing during a retry_after (virtual time)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from flows.delivery.limiter import BudgetView, RateLimiter, SharedGrant, shared_delay
from tests.unit.virtual_time import VirtualTime


@dataclass
class Send:
    chat: int
    start: float
    end: float


class Bench:
    """Sends through one limiter from many tasks; each send takes `duration` of virtual time."""

    def __init__(self, per_second: float = 30, per_chat: float = 1, duration: float = 0.004) -> None:
        self.time = VirtualTime()
        self.limiter = RateLimiter(per_second, per_chat, monotonic=self.time.monotonic, sleep=self.time.sleep)
        self.duration = duration
        self.sends: list[Send] = []

    async def send(self, chat: int, duration: float | None = None) -> Send:
        async with self.limiter.slot(chat):
            start = self.time.now
            await self.time.sleep(self.duration if duration is None else duration)
            send = Send(chat, start, self.time.now)
        self.sends.append(send)
        return send

    def run(self, *chats: int) -> list[Send]:
        async def all_of() -> list[Send]:
            return list(await asyncio.gather(*(self.send(c) for c in chats)))
        return asyncio.run(self.time.run(all_of()))


def most_in_any_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t - window < u <= t) for t in times), default=0)


def test_never_more_than_30_per_second_in_total() -> None:
    bench = Bench()
    sends = bench.run(*range(1, 301))  # 300 chats at once
    assert most_in_any_window([s.start for s in sends]) == 30
    # Counted from the finish: no send starts within a second after 30 others finished.
    for send in sends:
        recent = [s for s in sends if s is not send and send.start - 1.0 < s.end and s.start <= send.start]
        assert len(recent) < 30


def test_the_limit_is_used_not_wasted() -> None:
    bench = Bench()
    sends = bench.run(*range(1, 91))
    starts = sorted(s.start for s in sends)
    assert starts[29] == starts[0]  # the first 30 go at once
    assert starts[30] - starts[0] < 1.0 + 2 * bench.duration  # the next ones as soon as the window allows
    assert starts[-1] - starts[0] < 3.0 + 3 * bench.duration


def test_one_per_second_per_chat() -> None:
    bench = Bench()
    sends = bench.run(7, 7, 7, 7, 8)
    seven = sorted(s.start for s in sends if s.chat == 7)
    assert all(b - a >= 1.0 for a, b in zip(seven, seven[1:]))
    assert min(s.start for s in sends if s.chat == 8) == seven[0]  # another chat does not wait


def test_fractional_rates() -> None:
    bench = Bench(per_second=2.5, per_chat=0.5)
    sends = bench.run(*range(1, 11), 1)
    assert most_in_any_window([s.start for s in sends], window=0.8) <= 2
    ones = sorted(s.start for s in sends if s.chat == 1)
    assert ones[1] - ones[0] >= 2.0


def test_nothing_to_a_held_chat_before_retry_after_ends() -> None:
    bench = Bench()

    async def scenario() -> tuple[float, list[Send]]:
        await bench.send(5)
        bench.limiter.hold(3.0, chat_id=5)  # a 429 with retry_after=3 for chat 5
        held_at = bench.time.now
        sends = await asyncio.gather(bench.send(5), bench.send(6), bench.send(5))
        return held_at, list(sends)

    held_at, (first, other, second) = asyncio.run(bench.time.run(scenario()))
    assert first.start >= held_at + 3.0 and second.start >= first.end + 1.0
    assert other.start == held_at  # other chats go on


def test_a_global_hold_stops_everyone() -> None:
    bench = Bench()

    async def scenario() -> tuple[float, list[Send]]:
        bench.limiter.hold(2.0)
        held_at = bench.time.now
        return held_at, list(await asyncio.gather(*(bench.send(c) for c in range(1, 40))))

    held_at, sends = asyncio.run(bench.time.run(scenario()))
    assert min(s.start for s in sends) >= held_at + 2.0


def test_slots_in_flight_count_until_they_finish() -> None:
    bench = Bench(per_second=2, per_chat=1)

    async def scenario() -> list[Send]:
        return list(await asyncio.gather(bench.send(1, 5.0), bench.send(2, 5.0), bench.send(3, 0.01)))

    slow1, slow2, third = asyncio.run(bench.time.run(scenario()))
    assert third.start >= min(slow1.end, slow2.end) + 1.0  # waited for a finish, then a window


def test_a_deadline_gives_up_without_taking_a_slot() -> None:
    bench = Bench()

    async def scenario() -> tuple[bool, bool]:
        bench.limiter.hold(30.0, chat_id=9)
        gave_up = await bench.limiter.acquire(9, deadline=bench.time.now + 10)
        other = await bench.limiter.acquire(10, deadline=bench.time.now + 10)
        bench.limiter.release(10)
        return gave_up, other

    gave_up, other = asyncio.run(bench.time.run(scenario()))
    assert gave_up is False and other is True
    assert bench.limiter.held_for(9) == 30.0  # it gave up at once instead of sleeping to the deadline


def test_without_a_chat_only_the_hold_on_everyone_counts() -> None:
    limiter = RateLimiter(30, 1, monotonic=lambda: 100.0)
    limiter.hold(5, chat_id=7)  # a callback answer has no chat: a 429 on chat 7 does not hold it
    assert limiter.held_for(None) == 0.0 and limiter.held_for(7) == 5.0
    limiter.hold(2)
    assert limiter.held_for(None) == 2.0 and limiter.held_for(8) == 2.0


def test_a_short_burst_to_one_chat_then_one_per_second() -> None:
    bench = Bench()
    bench.limiter = RateLimiter(30, 1, chat_burst=3, monotonic=bench.time.monotonic, sleep=bench.time.sleep)
    sends = bench.run(*([7] * 8))
    starts = sorted(s.start for s in sends)
    assert starts[2] == starts[0]  # a two- or three-message answer arrives together
    gaps = [b - a for a, b in zip(starts[2:], starts[3:])]
    assert all(gap >= 1.0 for gap in gaps)  # then the steady rate
    assert starts[-1] - starts[0] >= 5.0  # 8 messages: never more than 3 + 1 per second


def test_a_burst_refills_at_the_steady_rate_only() -> None:
    bench = Bench()
    bench.limiter = RateLimiter(30, 1, chat_burst=3, monotonic=bench.time.monotonic, sleep=bench.time.sleep)

    async def scenario() -> list[Send]:
        first = list(await asyncio.gather(*(bench.send(7) for _ in range(3))))
        await bench.time.sleep(1.5)  # one and a half messages' worth of budget came back
        return first + list(await asyncio.gather(*(bench.send(7) for _ in range(3))))

    sends = asyncio.run(bench.time.run(scenario()))
    burst_end = max(s.end for s in sends[:3])
    later = sorted(s.start for s in sends[3:])
    assert later[0] == burst_end + 1.5  # one came back: it goes at once
    assert later[1] > burst_end + 2.0 and later[2] - later[1] >= 1.0  # the rest at the steady rate


class _UnreachableBudget:
    """A shared budget whose database is away."""

    async def take(self, chat_id: int, bulk: bool, per_second: float, per_chat_per_second: float,
                   chat_burst: int) -> SharedGrant:
        raise ConnectionRefusedError("database away")

    async def give_back(self, ticket: int, chat_id: int, per_chat_per_second: float) -> None:
        raise AssertionError("nothing was taken")

    async def hold(self, seconds: float, chat_id: int | None) -> None:
        raise ConnectionRefusedError("database away")


def test_without_the_shared_budgets_database_a_process_still_sends_within_its_own_limits() -> None:
    time = VirtualTime()
    limiter = RateLimiter(30, 1, monotonic=time.monotonic, sleep=time.sleep, shared=_UnreachableBudget())

    async def two_to_one_chat() -> list[float]:
        starts = []
        for _ in range(2):
            async with limiter.slot(7):
                starts.append(time.now)
        limiter.hold(1.0)  # a 429: held here even though the database cannot be told
        await limiter.close()
        return starts

    first, second = asyncio.run(time.run(two_to_one_chat()))
    assert second - first >= 1.0  # 1/s per chat, kept by the process itself
    assert limiter.held_for(None) > 0


def test_the_shared_decision_is_the_limiters_own() -> None:
    """The same sends seen by the shared budget give the same waits as one process's limiter."""
    full = BudgetView(now=10.0, finished=[9.2 + i * 0.01 for i in range(30)], running=0, answers=[], chat_due=0.0,
                      chat_running=[], held_until=0.0)
    assert shared_delay(full, False, 30, 1, 3) == pytest.approx(0.2)  # the oldest finish leaves the window
    in_flight = BudgetView(now=10.0, finished=[], running=30, answers=[], chat_due=0.0, chat_running=[],
                           held_until=0.0)
    assert shared_delay(in_flight, False, 30, 1, 3) is None  # wait for a send to finish
    chatting = BudgetView(now=10.0, finished=[9.5] * 25, running=0, answers=[9.9] * 3, chat_due=0.0,
                          chat_running=[], held_until=0.0)
    assert shared_delay(chatting, False, 30, 1, 3) == 0  # an answer goes
    assert shared_delay(chatting, True, 30, 1, 3) == pytest.approx(0.5)  # a bulk send leaves room for answers
    held = BudgetView(now=10.0, finished=[], running=0, answers=[], chat_due=0.0, chat_running=[], held_until=12.5)
    assert shared_delay(held, False, 30, 1, 3) == pytest.approx(2.5)  # a 429's retry_after, from any process
    busy_chat = BudgetView(now=10.0, finished=[], running=0, answers=[], chat_due=13.0, chat_running=[],
                           held_until=0.0)
    assert shared_delay(busy_chat, False, 30, 1, 3) == pytest.approx(1.0)  # burst of 3 used: 1/s
