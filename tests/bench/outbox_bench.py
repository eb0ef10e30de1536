"""Benchmark 7b: 10,000 reminders due at once, each to another chat, sent by the real `lotse run`
through the fake Bot API, which enforces Telegram's limits (30 messages/s, 1 per chat) like
Telegram: too fast is answered with 429 and a retry_after.

Reported: the achieved rate while sending as a fraction of 30/s (target ≥ 0.93), sends during a
retry_after (0), duplicates (0), lost messages (0). It takes about six minutes by nature;
BENCH_OUTBOX_COUNT=600 makes a quick check.

The fake API runs in a thread of this process, the bot in its own process, so they do not share
an interpreter lock.
"""
from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from storage.migrate import upgrade
from tests.bench.process import running_bot, until_done
from tests.bench.results import OUT, run_and_save
from tests.fakes import FakeBotApi
from tests.outbox_seed import enqueue_reminders

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"
LIMIT = 30.0
TARGET = 0.93
FIRST_CHAT = 100_000
STALL_SECONDS = 60  # no new message for this long: give up (and report what was lost)


def _wait_until_sent(api: FakeBotApi, count: int, bot: subprocess.Popen[bytes]) -> None:
    until_done(lambda: sum(1 for r in api.calls("sendMessage") if r.status == 200), count, bot, STALL_SECONDS,
               interval=0.5)


def run(count: int | None = None) -> dict[str, Any]:
    count = count or int(os.environ.get("BENCH_OUTBOX_COUNT", "10000"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'lotse.db'}"
        upgrade(url)
        asyncio.run(enqueue_reminders(url, count, FIRST_CHAT, "bench:reminder"))
        api = FakeBotApi(TOKEN)
        api.start_in_thread()
        try:
            for i in range(count):
                api.add_chat(FIRST_CHAT + i)
            api.enforce_limits(LIMIT, 1)
            env = {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.url, "DATABASE_URL": url,
                   "LOG_LEVEL": "WARNING", "QUIET_HOURS_MINORS": "03:00-03:01", "QUIET_HOURS_ADULTS": "off"}
            started = time.monotonic()
            with (Path(tmp) / "lotse.log").open("wb") as log, running_bot(tmp, env, log) as bot:
                _wait_until_sent(api, count, bot)
                wall = time.monotonic() - started
            calls = api.calls("sendMessage")
            violations = api.retry_after_violations
        finally:
            api.stop_in_thread()
    ok = sorted(r.time for r in calls if r.status == 200)
    per_chat = Counter(r.params.get("chat_id") for r in calls if r.status == 200)
    span = ok[-1] - ok[0] if ok else 0.0
    # Sends within the limit come in up to 30 per second, so n sends need span + 1 s: counting
    # that last second keeps the figure at 1.0 for a sender that is exactly at the limit.
    rate = len(ok) / (span + 1.0) if ok else 0.0
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "reminders": count,
        "sent": len(ok),
        "seconds_sending": round(span, 1),
        "seconds_from_start": round(wall, 1),
        "rate_per_s": round(rate, 2),
        "fraction_of_limit": round(rate / LIMIT, 3),
        "target_fraction": TARGET,
        "most_in_one_second": _most_in_a_second(ok),
        "answered_429": sum(1 for r in calls if r.status == 429),
        "sends_violating_retry_after": len(violations),
        "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
        "lost": count - len(per_chat),
    }


def _most_in_a_second(times: list[float]) -> int:
    most, start = 0, 0
    for end, t in enumerate(times):  # sorted: a sliding one-second window over arrival times
        while times[start] <= t - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def print_table(result: dict[str, Any]) -> None:
    print("| reminders | sent | seconds sending | rate/s | fraction of 30/s | most in 1 s | 429s "
          "| sends during retry_after | duplicates | lost |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {result['reminders']:,} | {result['sent']:,} | {result['seconds_sending']} | {result['rate_per_s']} "
          f"| **{result['fraction_of_limit']:.3f}** (target ≥ {TARGET}) | {result['most_in_one_second']} "
          f"| {result['answered_429']} | {result['sends_violating_retry_after']} | {result['duplicates']} "
          f"| {result['lost']} |")


def main(out: Path = OUT) -> dict[str, Any]:
    return run_and_save("outbox", run, print_table, out)


if __name__ == "__main__":
    main()
