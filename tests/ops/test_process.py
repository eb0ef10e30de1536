"""The real `lotse run` (long polling and webhook) serves /healthz, /readyz and /metrics, and its
counters move with what it does: updates, answers, a 429, an outbox message."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.core.clock import SystemClock
from flows.core.model import Profile, Reply, UserRef
from flows.delivery.outbox import OutboxMessage
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import TOKEN, FakeBotApi
from tests.local_time import NOON, zone_where_it_is
from tests.ops.helpers import value
from tests.webhook_client import free_port, post_update

DEADLINE = 30.0  # seconds any awaited condition may take on a slow machine


class Lotse:
    """`lotse run` in a subprocess (its output in a log file), in a zone where it is about noon."""

    def __init__(self, api: FakeBotApi, workdir: Path, database_url: str) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.log = workdir / "lotse.log"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("QUIET_HOURS_", "OUTBOX_", "WEBHOOK_", "METRICS_", "LOG_"))
                    and k not in {"BOT_TOKEN", "CONTENT_DIR"}}
        self.env.update({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.url, "DATABASE_URL": database_url,
                         "TIMEZONE": zone_where_it_is(NOON), "OUTBOX_RATE_PER_CHAT_PER_SECOND": "100"})
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=self.workdir, env=self.env,
                       check=True, capture_output=True, timeout=60)

    def start(self, *args: str) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", *args], cwd=self.workdir,
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def get(self, url: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def wait_for(self, what: str, check: Callable[[], Any]) -> Any:
        """Until `check` returns something truthy (bounded by DEADLINE); fails with the log."""
        end = time.monotonic() + DEADLINE
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"lotse run ended ({self.process.returncode}) waiting for {what}; log:\n{self.output()}")
            try:
                result = check()
            except (OSError, urllib.error.URLError):
                result = None
            if result:
                return result
            if time.monotonic() > end:
                pytest.fail(f"timed out waiting for {what}; log:\n{self.output()}")
            time.sleep(0.1)

    def metrics_until(self, base: str, what: str, condition: Callable[[str], bool]) -> str:
        def scrape() -> str | None:
            status, text = self.get(f"{base}/metrics")
            return text if status == 200 and condition(text) else None
        result: str = self.wait_for(what, scrape)
        return result


@pytest.fixture
def lotse(api: FakeBotApi, tmp_path: Path, new_database_url: Callable[[], str]) -> Iterator[Lotse]:
    process = Lotse(api, tmp_path, new_database_url())
    process.cli("content", "load")
    try:
        yield process
    finally:
        if process.process is not None and process.process.poll() is None:
            process.process.kill()
            process.process.wait(timeout=10)


def _enqueue(url: str, chat: int, word: str) -> None:
    async def go() -> None:
        engine = create_engine(url)
        try:
            async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
                await uow.users.save(Profile(channel="telegram", chat_id=chat, created_at=datetime.now(UTC)))
                assert await uow.outbox.enqueue(OutboxMessage(
                    recipient=UserRef(channel="telegram", chat_id=chat), due_at=datetime.now(UTC),
                    reply=Reply(key="fallback.unknown_command", values={"command": word}),
                    idempotency_key=f"ops:{chat}:{word}"))
                await uow.commit()
        finally:
            await engine.dispose()
    asyncio.run(go())


def _sent_with(api: FakeBotApi, chat: int, fragment: str) -> bool:
    return any(fragment in m.text for m in api.sent(chat))


def test_polling_serves_metrics_that_count_updates_sends_and_a_429(api: FakeBotApi, lotse: Lotse) -> None:
    port, chat, outbox_chat = free_port(), 731_001, 731_002
    base = f"http://127.0.0.1:{port}"
    lotse.env.update({"METRICS_HOST": "127.0.0.1", "METRICS_PORT": str(port), "LOG_FORMAT": "json",
                      "LOG_LEVEL": "INFO"})
    api.fail_next("sendMessage", status=429, retry_after=1)  # the first answer meets flood control
    lotse.start()
    lotse.wait_for("/healthz", lambda: lotse.get(f"{base}/healthz") == (200, "ok"))
    assert lotse.get(f"{base}/readyz") == (200, json.dumps({"status": "ready"}))

    api.user_sends_command(chat, "/start")
    lotse.wait_for("the first question", lambda: _sent_with(api, chat, "Wer bist du?"))
    api.user_presses_button(chat, "🧑‍🎓 Jugendliche:r")
    lotse.wait_for("the age question", lambda: _sent_with(api, chat, "Wie alt bist du?"))
    api.fail_next("sendMessage", status=429, retry_after=1)  # and so does the outbox's message
    api.add_chat(outbox_chat)  # someone who wrote to the bot before
    _enqueue(lotse.database_url, outbox_chat, "ops-check")
    lotse.wait_for("the outbox message", lambda: _sent_with(api, outbox_chat, "ops-check"))

    text = lotse.metrics_until(base, "the counters", lambda t: (
        value(t, "lotse_sends_total", source="outbox", outcome="sent") >= 1
        and value(t, "lotse_outbox_depth", channel="telegram") == 0
        and value(t, "lotse_updates_total", kind="button", outcome="handled") >= 1))
    assert value(text, "lotse_updates_total", channel="telegram", kind="message", outcome="handled") >= 1
    assert value(text, "lotse_updates_total", outcome="failed") == 0
    assert value(text, "lotse_sends_total", channel="telegram", source="reply", outcome="rate_limited") == 1
    assert value(text, "lotse_sends_total", source="reply", outcome="sent") >= 2
    assert value(text, "lotse_sends_total", channel="telegram", source="outbox", outcome="rate_limited") == 1
    assert value(text, "lotse_reply_latency_seconds_count", channel="telegram") >= 2
    assert value(text, "lotse_outbox_oldest_due_age_seconds", channel="telegram") == 0
    assert value(text, "lotse_database_up") == 1
    assert str(chat) not in text and str(outbox_chat) not in text  # never a chat id
    assert lotse.stop() == 0
    logged = [json.loads(line) for line in lotse.output().splitlines() if line.startswith("{")]
    assert any(entry["message"].startswith("running as @") for entry in logged)  # LOG_FORMAT=json took effect
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in logged)


def test_webhook_server_serves_the_endpoints_and_counts_a_duplicate(api: FakeBotApi, lotse: Lotse) -> None:
    port, chat = free_port(), 731_003
    base = f"http://127.0.0.1:{port}"
    lotse.env.update({"WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(port), "METRICS_PORT": "0"})
    lotse.start("--webhook")
    lotse.wait_for("/healthz", lambda: lotse.get(f"{base}/healthz") == (200, "ok"))
    status, body = lotse.get(f"{base}/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready"})

    api.user_sends_command(chat, "/start")
    update = api.pending_updates()[-1]
    assert post_update(f"{base}/telegram/webhook", update, timeout=DEADLINE) == 200  # answered before the 200
    assert post_update(f"{base}/telegram/webhook", update, timeout=DEADLINE) == 200  # Telegram delivering it again
    api.user_sends_text(chat, "hallo")
    assert post_update(f"{base}/telegram/webhook", api.pending_updates()[-1], timeout=DEADLINE) == 200

    status, text = lotse.get(f"{base}/metrics")
    assert status == 200
    assert value(text, "lotse_updates_total", kind="message", outcome="handled") == 2
    assert value(text, "lotse_updates_total", kind="message", outcome="duplicate") == 1
    assert value(text, "lotse_sends_total", source="reply", outcome="sent") >= 2
    assert value(text, "lotse_reply_latency_seconds_count", kind="message") >= 2
    assert lotse.stop() == 0
