"""The real `lotse run` process against the fake Bot API on 127.0.0.1, on a migrated database of the
suite's backend (a SQLite file, or a PostgreSQL database with TEST_DATABASE=postgresql)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests import databases
from tests.fakes import TOKEN, FakeBotApi, StoredMessage
from tests.local_time import NOON, zone_where_it_is

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """Starts, kills and restarts `lotse run`; its output goes to a log file for post-mortems.

    The process runs in a time zone where it is now about noon (quiet hours never hold back what a
    test waits for, whenever the suite runs); a test of the night sets TIMEZONE itself. Answers to
    one chat are not paced (OUTBOX_RATE_PER_CHAT_PER_SECOND=100) except where a test checks pacing:
    the walks would otherwise spend minutes waiting out Telegram's 1 message per second.

    database_url: from the `new_database_url` fixture; without it a SQLite file in workdir (the
    screenshot script)."""

    def __init__(self, api: FakeBotApi, workdir: Path, extra_env: dict[str, str] | None = None,
                 database_url: str | None = None) -> None:
        self.api = api
        self.workdir = workdir
        self.database_url = database_url or databases.sqlite_url(workdir / "lotse.db")
        self.log = workdir / "lotse.log"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in {"BOT_TOKEN", "CONTENT_DIR"} and not k.startswith(("QUIET_HOURS_", "OUTBOX_"))}
        self.env.update({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.url, "LOG_LEVEL": "INFO",
                         "DATABASE_URL": self.database_url,
                         "TIMEZONE": zone_where_it_is(NOON), "OUTBOX_RATE_PER_CHAT_PER_SECOND": "100",
                         "METRICS_PORT": "0",  # many processes at once: no port to fight over (tests/ops has its own)
                         **(extra_env or {})})
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=self.workdir, env=self.env,
                       check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        polls_before = len(self.api.calls("getUpdates"))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=self.workdir,
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.api.wait_for_sync(lambda: len(self.api.calls("getUpdates")) > polls_before, timeout=30,
                               message=f"lotse run did not start polling; log:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, exactly like a crash or an OOM kill."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """What the process has stored: portable SQL with :name parameters (tests.databases.rows)."""
        return databases.rows(self.database_url, sql, **params)

    def execute(self, sql: str, **params: Any) -> None:
        databases.execute(self.database_url, sql, **params)


def utc(value: datetime | str) -> datetime:
    """A timestamp column read with raw SQL: SQLite gives naive UTC text, PostgreSQL an aware datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@pytest.fixture
def bot(api: FakeBotApi, tmp_path: Path, new_database_url: Callable[[], str]) -> Iterator[BotProcess]:
    process = BotProcess(api, tmp_path, database_url=new_database_url())
    process.cli("db", "upgrade")
    process.cli("content", "load")
    try:
        yield process
    finally:
        if process.process is not None and process.process.poll() is None:
            process.kill()


def texts(api: FakeBotApi, chat_id: int) -> list[str]:
    return [m.text for m in api.sent(chat_id)]


def shown(api: FakeBotApi, chat_id: int) -> list[str]:
    """Every text the user saw in the chat, in order: a message edited into the next question
    showed its earlier versions first."""
    return [text for m in api.sent(chat_id) for text in (*(h["text"] for h in m.history), m.text)]


def wait_for_text(api: FakeBotApi, chat_id: int, fragment: str, timeout: float = 15) -> StoredMessage:
    def found() -> StoredMessage | None:
        return next((m for m in api.sent(chat_id) if fragment in m.text), None)
    return api.wait_for_sync(found, timeout=timeout, message=f"no message with {fragment!r}: {texts(api, chat_id)}")


def press(api: FakeBotApi, chat: int, prefix: str) -> None:
    """Press the first button whose callback data starts with prefix, on the newest message showing one."""
    def find() -> tuple[int, str] | None:
        for message in reversed(api.sent(chat)):
            for _, data in message.buttons:
                if data and data.startswith(prefix):
                    return message.message_id, data
        return None
    message_id, data = api.wait_for_sync(find, timeout=15, message=f"no button {prefix!r} in chat {chat}")
    api.user_presses(chat, message_id, data)


def onboard_teen(api: FakeBotApi, chat: int, age: str, school: str, payload: str | None = None) -> None:
    """A young person in Löbau through onboarding by pressing buttons; `school` is a payload value
    of the school question ("pupil" is answered with Klasse 9)."""
    api.user_sends_command(chat, "/start", payload)
    wait_for_text(api, chat, "Wer bist du?")
    press(api, chat, "ob:role:teen")
    wait_for_text(api, chat, "Wie alt bist du?")
    press(api, chat, f"ob:age:{age}")
    wait_for_text(api, chat, "Wo wohnst du?")
    api.user_sends_text(chat, "Löbau")
    wait_for_text(api, chat, "Ist das Löbau")
    press(api, chat, "ob:place_confirm:yes")
    wait_for_text(api, chat, "Gehst du noch zur Schule")
    press(api, chat, f"ob:school:{school}")
    if school == "pupil":
        wait_for_text(api, chat, "In welcher Klasse")
        press(api, chat, "ob:class:9")
    wait_for_text(api, chat, "Was möchtest du machen?")
