"""Issue 14 end to end: two real `lotse run --webhook` workers on one PostgreSQL database, against the
fake Bot API enforcing Telegram's limits (30/s overall, 1/s per chat after a burst of 3). Reminders due
at once and people writing meanwhile: every reminder goes out once, every person is answered, and
together the workers never get a 429."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.e2e.conftest import BotProcess, wait_for_text
from tests.fakes import FakeBotApi
from tests.outbox_seed import enqueue_reminders
from tests.webhook_client import free_port, post_update

pytestmark = pytest.mark.postgres_only("several workers share one database: PostgreSQL (SQLite runs one process)")

SECRET = "workers-Secret_1"
REMINDERS = 90
FIRST_CHAT = 310_000


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def test_two_webhook_workers_send_every_reminder_once_and_answer_everyone_without_a_429(
        api: FakeBotApi, bot: BotProcess) -> None:
    for chat in range(FIRST_CHAT, FIRST_CHAT + REMINDERS):
        api.add_chat(chat)
    api.enforce_limits(30, 1, chat_burst=3)
    asyncio.run(enqueue_reminders(bot.database_url, REMINDERS, FIRST_CHAT, "test:reminder"))
    ports = [free_port(), free_port()]
    workers = []
    try:
        for port in ports:
            env = {**bot.env, "OUTBOX_RATE_PER_CHAT_PER_SECOND": "1", "WEBHOOK_HOST": "127.0.0.1",
                   "WEBHOOK_PORT": str(port), "WEBHOOK_SECRET": SECRET}
            with (bot.workdir / f"worker-{port}.log").open("ab") as log:
                workers.append(subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--webhook"],
                                                cwd=bot.workdir, env=env, stdout=log, stderr=subprocess.STDOUT))
        api.wait_for_sync(lambda: all(_ready(port) for port in ports), timeout=30, message="workers not ready")
        people = [9_100 + n for n in range(6)]
        for n, chat in enumerate(people):  # people write while the reminders go out, to either worker
            api.user_sends_command(chat, "/start")
            assert post_update(f"http://127.0.0.1:{ports[n % 2]}/telegram/webhook", api.pending_updates()[-1], SECRET) == 200
        for chat in people:
            wait_for_text(api, chat, "Wer bist du?")
        api.wait_for_sync(lambda: sum(len(api.sent(c)) for c in range(FIRST_CHAT, FIRST_CHAT + REMINDERS))
                          >= REMINDERS, timeout=60, message="not every reminder was sent")
        assert [len(api.sent(c)) for c in range(FIRST_CHAT, FIRST_CHAT + REMINDERS)] == [1] * REMINDERS
        assert [e for e in api.errors if e.status == 429] == [] and api.retry_after_violations == []
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    assert all(worker.returncode == 0 for worker in workers)
