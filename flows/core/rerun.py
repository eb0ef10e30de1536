"""Background work that a kick starts and a kick during it repeats once (the outbox dispatcher, the
answer worker)."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class Rerun:
    """Runs `work` in the background on kick(); a kick while it runs asks for one more run right after
    (work stored after the running round's last look would otherwise wait for the next kick)."""

    def __init__(self, work: Callable[[], Awaitable[None]], name: str) -> None:
        self._work = work
        self._name = name
        self._again = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def kick(self) -> None:
        if self._stopping:
            return
        if self._task is None or self._task.done():
            self._again = False
            self._task = asyncio.create_task(self._runs(), name=self._name)
        else:
            self._again = True

    async def _runs(self) -> None:
        await self._work()
        while self._again and not self._stopping:  # bounded: each round needs a kick during the last
            self._again = False
            await self._work()

    async def idle(self) -> None:
        """Waits for the running rounds (tests and shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def close(self, timeout: float = 5.0) -> None:
        self._stopping = True
        task = self._task
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()  # what it held comes back when its lease runs out
            await asyncio.wait({task}, timeout=timeout)
