"""Per-key asyncio locks that disappear when nobody holds or waits for them; a broadcast "something
changed" for waiters that otherwise look again now and then."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLock:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # keep the dict small: one entry per active user only
                del self._users[key]
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


class Change:
    """One coming change: waiting for it ends when it happens or after a timeout, whichever is first."""

    def __init__(self, future: asyncio.Future[None]) -> None:
        self._future = future

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self._future), timeout)  # shielded: others wait for it too
        except TimeoutError:
            pass


class Changes:
    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None

    def next(self) -> Change:
        """The next change; take it before looking at what may change, so none is missed in between."""
        if self._future is None or self._future.done():
            self._future = asyncio.get_running_loop().create_future()
        return Change(self._future)

    def notify(self) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_result(None)
