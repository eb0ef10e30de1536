"""Issue 14: several containers starting at once run `lotse db upgrade` and `lotse content load` at the
same moment on one database: all of them succeed, the schema is migrated once, the content loaded once."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import databases

ROOT = Path(__file__).resolve().parents[2]
AT_ONCE = 3




def _at_once(url: str, *args: str) -> list[subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "CONTENT_DIR"}}
    env["DATABASE_URL"] = url
    started = [subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(AT_ONCE)]
    results = []
    for process in started:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def test_upgrades_and_content_loads_started_together_all_succeed(empty_database_url: str) -> None:
    for result in _at_once(empty_database_url, "db", "upgrade"):
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    for result in _at_once(empty_database_url, "content", "load"):
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    [(clusters,)] = databases.rows(empty_database_url, "SELECT count(*) FROM clusters WHERE archived = false")
    [(versions,)] = databases.rows(empty_database_url, "SELECT count(*) FROM alembic_version")
    assert clusters == 3 and versions == 1
