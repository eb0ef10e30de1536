"""Run an asyncio server in a daemon thread with its own event loop (for tests that drive a
separate `lotse` process, and benchmarks that keep the server off the measured loop)."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Self, TypeVar

from aiohttp import web

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, starter: Callable[[], Awaitable[object]], timeout: float = 10.0) -> None:
        if self._thread is not None:
            raise RuntimeError("already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True, name="test-server")
        thread.start()
        self._loop, self._thread = loop, thread
        asyncio.run_coroutine_threadsafe(_call(starter), loop).result(timeout)

    def stop(self, stopper: Callable[[], Awaitable[object]], timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(_call(stopper), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            loop.close()
            self._loop = self._thread = None


async def _call(function: Callable[[], Awaitable[object]]) -> None:
    await function()


class LocalServer:
    """A test server usable in the test's loop (`async with`) or in its own thread (`with`)."""

    _thread: LoopThread | None = None

    async def start(self) -> Self:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> Self:
        self._thread = LoopThread()
        self._thread.start(self.start)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._thread.stop(self.stop)
            self._thread = None


class LocalHttpServer(LocalServer):
    """An aiohttp application (`application()`) on 127.0.0.1, on a free port (`port`)."""

    port = 0
    _runner: web.AppRunner | None = None

    def application(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> Self:
        self._runner = web.AppRunner(self.application())
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def wait_for_count(items: list[T], count: int, timeout: float) -> list[T]:
    """Bounded: what arrived once `count` items are there or `timeout` has passed."""
    for _ in range(int(timeout / 0.05) + 1):
        if len(items) >= count:
            break
        time.sleep(0.05)
    return list(items)
