"""The real `lotse run` under load in benchmarks: started and stopped cleanly, watched with bounds."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO


@contextmanager
def running_bot(workdir: str, env: dict[str, str], log: BinaryIO,
                module: str = "bot.cli", *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`lotse run` (or another bot's module) in `workdir`; SIGTERM at the end (unsent messages go
    back to pending), kill if stuck."""
    command = [sys.executable, "-m", module, *(args or (("run",) if module == "bot.cli" else ()))]
    bot = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield bot
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()


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
