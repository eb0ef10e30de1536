"""Bounded waiting for benchmarks that watch a real process work through a load."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


def until_done(done: Callable[[], int], target: int, bot: subprocess.Popen[bytes], stall_seconds: float,
               interval: float) -> None:
    """Until `done()` reaches `target`, the bot process ends, or nothing moved for `stall_seconds`."""
    last, changed = -1, time.monotonic()
    for _ in range(int((target + stall_seconds) / interval) + 100):
        count = done()
        if count >= target or bot.poll() is not None:
            return
        if count != last:
            last, changed = count, time.monotonic()
        elif time.monotonic() - changed > stall_seconds:
            return
        time.sleep(interval)
