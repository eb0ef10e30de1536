"""Benchmark (issue 11): one announcement to 10,000 opted-in people, sent by the real `lotse run`
through the fake Bot API enforcing Telegram's limits (30/s in total, per chat a burst of 3 then
1/s, edits counted), while 50 users chat with the bot.

Reported: the bot's sending rate while the announcement runs (announcements and the answers to the
chatting users share Telegram's 30/s; answers go first) as a fraction of 30/s (target ≥ 0.97), and
the announcement's own rate; 429s (0),
duplicates (0), lost (0); and the first reaction to a press (p95) of 50 users walking onboarding
while the announcement runs, against 50 other users walking it in the same run before it started
(target: at most 1 s more). BENCH_BROADCAST_COUNT=600 makes a quick check (about a minute).
"""
from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.core.clock import SystemClock
from flows.core.model import ConsentRecord, Profile
from flows.domain.broadcast import CONSENT_VERSION, Broadcast, BroadcastStatus, Topic, consent_purpose
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.bench.press_bench import LOTSE_STEPS, _figures, _walk
from tests.bench.process import running_bot, until_done
from tests.bench.results import OUT, run_and_save
from tests.fakes import FakeBotApi

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"
LIMIT = 30.0
COUNTED = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup")  # as Telegram
TARGET = 0.97
CLUSTER = "zukunftsmacher"
FIRST_RECIPIENT = 500_000
FIRST_CHATTER = 700_000
CHATTERS = 50
STALL_SECONDS = 60
MESSAGE = "Impuls Cottbus am Samstag: 12 Betriebe sind da!"


async def _audience(url: str, count: int) -> None:
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            now = datetime.now(UTC)
            for i in range(count):
                profile = await uow.users.save(Profile(channel="telegram", chat_id=FIRST_RECIPIENT + i, role="teen",
                                                       age_band="18plus", cluster=CLUSTER, onboarded=True,
                                                       created_at=now, last_seen_at=now))
                assert profile.id is not None
                await uow.consents.add(profile.id, ConsentRecord(
                    purpose=consent_purpose(Topic.EVENTS), text_version=CONSENT_VERSION, given_by="self",
                    given_at=now))
            await uow.commit()
    finally:
        await engine.dispose()


async def _schedule(url: str) -> None:
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            now = datetime.now(UTC)
            await uow.broadcasts.add(Broadcast(cluster=CLUSTER, topic=Topic.EVENTS, text_du=MESSAGE, text_sie=MESSAGE,
                                               status=BroadcastStatus.SCHEDULED, scheduled_at=now,
                                               created_by="bench", created_at=now))
            await uow.commit()
    finally:
        await engine.dispose()


def _announcements(api: FakeBotApi) -> list[Any]:
    return [r for r in api.calls("sendMessage")
            if r.status == 200 and int(r.params.get("chat_id", 0)) >= FIRST_RECIPIENT
            and int(r.params.get("chat_id", 0)) < FIRST_CHATTER]


def run(count: int | None = None) -> dict[str, Any]:
    count = count or int(os.environ.get("BENCH_BROADCAST_COUNT", "10000"))
    quiet = [FIRST_CHATTER + i for i in range(CHATTERS)]  # chat before the announcement
    busy = [FIRST_CHATTER + CHATTERS + i for i in range(CHATTERS)]  # chat while it runs
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'lotse.db'}"
        upgrade(url)
        env = {**os.environ, "BOT_TOKEN": TOKEN, "DATABASE_URL": url, "LOG_LEVEL": "WARNING",
               "QUIET_HOURS_MINORS": "03:00-03:01", "QUIET_HOURS_ADULTS": "off"}
        for name in [k for k in env if k.startswith(("OUTBOX_", "BROADCAST_"))]:
            del env[name]
        subprocess.run([sys.executable, "-m", "bot.cli", "content", "load"], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        asyncio.run(_audience(url, count))
        api = FakeBotApi(TOKEN)
        api.start_in_thread()
        try:
            for chat in range(FIRST_RECIPIENT, FIRST_RECIPIENT + count):
                api.add_chat(chat)
            api.enforce_limits(LIMIT, 1, chat_burst=3, count_edits=True)
            with (Path(tmp) / "lotse.log").open("wb") as log, \
                    running_bot(tmp, {**env, "TELEGRAM_API_URL": api.url}, log) as bot:
                api.wait_until_polling_sync(timeout=30)
                before = _walk(api, quiet, LOTSE_STEPS, bot)
                asyncio.run(_schedule(url))
                until_done(lambda: len(_announcements(api)), min(count, 300), bot, STALL_SECONDS, interval=0.2)
                during = _walk(api, busy, LOTSE_STEPS, bot)
                still_running = len(_announcements(api)) < count
                until_done(lambda: len(_announcements(api)), count, bot, STALL_SECONDS, interval=0.5)
            calls = _announcements(api)
            quiet_figures = _figures(api, before, quiet, len(LOTSE_STEPS))
            busy_figures = _figures(api, during, busy, len(LOTSE_STEPS))
            too_many = sum(1 for r in api.requests if r.status == 429)
            counted = [r for r in api.requests if r.status == 200 and r.method in COUNTED]
            violations = len(api.retry_after_violations)
        finally:
            api.stop_in_thread()
    times = sorted(r.time for r in calls)
    per_chat = Counter(r.params.get("chat_id") for r in calls)
    span = times[-1] - times[0] if times else 0.0
    rate = len(times) / (span + 1.0) if times else 0.0  # the announcement alone
    meanwhile = [r for r in counted if times and times[0] <= r.time <= times[-1]]
    total_rate = len(meanwhile) / (span + 1.0) if times else 0.0  # everything the bot sent meanwhile
    p95_quiet = quiet_figures["first_reaction"]["p95_ms"]
    p95_busy = busy_figures["first_reaction"]["p95_ms"]
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "recipients": count, "sent": len(per_chat), "seconds_sending": round(span, 1),
        "rate_per_s": round(rate, 2), "announcement_fraction": round(rate / LIMIT, 3),
        "total_rate_per_s": round(total_rate, 2), "fraction_of_limit": round(total_rate / LIMIT, 3),
        "target_fraction": TARGET,
        "answered_429": too_many, "sends_violating_retry_after": violations,
        "duplicates": sum(n - 1 for n in per_chat.values() if n > 1), "lost": count - len(per_chat),
        "chatting_while_it_ran": still_running,
        "press_p95_ms_without": p95_quiet, "press_p95_ms_during": p95_busy,
        "press_p95_extra_ms": round(p95_busy - p95_quiet, 1), "target_extra_ms": 1000,
        "without": quiet_figures, "during": busy_figures,
    }


def print_table(result: dict[str, Any]) -> None:
    print("| recipients | sent | seconds sending | announcements/s | all sends/s | fraction of 30/s | 429s "
          "| sends during retry_after | duplicates | lost | press→answer p95 without / during (ms) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {result['recipients']:,} | {result['sent']:,} | {result['seconds_sending']} | {result['rate_per_s']} "
          f"| {result['total_rate_per_s']} "
          f"| **{result['fraction_of_limit']:.3f}** (target ≥ {TARGET}) | {result['answered_429']} "
          f"| {result['sends_violating_retry_after']} | {result['duplicates']} | {result['lost']} "
          f"| {result['press_p95_ms_without']} / {result['press_p95_ms_during']} "
          f"(+{result['press_p95_extra_ms']}, target ≤ +1000) |")


def main(out: Path = OUT) -> dict[str, Any]:
    return run_and_save("broadcast", run, print_table, out)


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"({time.monotonic() - started:.0f} s)")
