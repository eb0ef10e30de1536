from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import pytest

from tests.local_time import NOON, zone_where_it_is

LOTSE = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]


class Lotse(Protocol):
    """The `lotse` fixture: runs the command with the given arguments and returns the finished process."""

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def lotse(tmp_path: Path) -> Lotse:
    """Run the real `lotse` command with its own database; returns the finished process."""
    base_env = {k: v for k, v in os.environ.items() if k not in {
        "BOT_TOKEN", "DATABASE_URL", "CONTENT_DIR", "ADMIN_TELEGRAM_IDS", "ADMIN_CONSOLE_IDS", "TELEGRAM_API_URL",
        "LOG_LEVEL"}
        and not k.startswith(("SMTP_", "WEBHOOK_", "QUIET_HOURS_", "OUTBOX_"))}
    base_env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'lotse.db'}"
    base_env["TIMEZONE"] = zone_where_it_is(NOON)  # quiet hours never hold back what a test waits for

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*LOTSE, *args], input=input, capture_output=True, text=True, cwd=tmp_path,
                              env={**base_env, **(env or {})}, timeout=timeout)

    return run
