"""Run an asyncio server in a daemon thread with its own event loop (for tests that drive a
separate `lotse` process, and benchmarks that keep the server off the measured loop)."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable


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
