"""The real `lotse` command, each test on its own migrated database of the suite's backend (a SQLite
file, or a PostgreSQL database with TEST_DATABASE=postgresql); `empty_database_url` for what happens
before `lotse db upgrade`."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.local_time import NOON, zone_where_it_is

LOTSE = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]


class Lotse:
    """The `lotse` fixture: runs the command with the given arguments in the test's folder and returns
    the finished process; `database_url` is the database it uses (DATABASE_URL)."""

    def __init__(self, cwd: Path, database_url: str) -> None:
        self.cwd = cwd
        self.database_url = database_url
        self.env = {k: v for k, v in os.environ.items() if k not in {
            "BOT_TOKEN", "DATABASE_URL", "CONTENT_DIR", "ADMIN_TELEGRAM_IDS", "ADMIN_CONSOLE_IDS", "TELEGRAM_API_URL",
            "LOG_LEVEL"}
            and not k.startswith(("SMTP_", "WEBHOOK_", "QUIET_HOURS_", "OUTBOX_"))}
        self.env["DATABASE_URL"] = database_url
        self.env["TIMEZONE"] = zone_where_it_is(NOON)  # quiet hours never hold back what a test waits for

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*LOTSE, *args], input=input, capture_output=True, text=True, cwd=self.cwd,
                              env={**self.env, **(env or {})}, timeout=timeout)


@pytest.fixture
def lotse(tmp_path: Path, new_database_url: Callable[[], str]) -> Lotse:
    """Run the real `lotse` command with its own (migrated) database; returns the finished process."""
    return Lotse(tmp_path, new_database_url())


