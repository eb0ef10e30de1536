"""Virtual monotonic time for the limiter and the dispatcher: sleeping costs no real time.

`run(coro)` drives the coroutine; whenever every task is waiting, the clock jumps to the earliest
sleeper and wakes it. So timings in tests are exact and deterministic, and a test of "one
message per second" takes milliseconds.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
SETTLE_ROUNDS = 50  # event-loop rounds without progress before the clock moves
MAX_JUMPS = 200_000


class VirtualTime:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        await future

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(coro)
        for _ in range(MAX_JUMPS):
            for _ in range(SETTLE_ROUNDS):
                if task.done():
                    return task.result()
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():  # cancelled sleepers
                heapq.heappop(self._sleepers)
            if not self._sleepers:
                task.cancel()
                raise RuntimeError("deadlock: nothing sleeps and the coroutine does not finish")
            wake = self._sleepers[0][0]
            self.now = max(self.now, wake)
            while self._sleepers and self._sleepers[0][0] <= wake:
                future = heapq.heappop(self._sleepers)[2]
                if not future.done():
                    future.set_result(None)
        task.cancel()
        raise RuntimeError("virtual time ran too long")
