"""`lotse content export DIR`: the content (pack + cockpit edits) as a pack the loader accepts."""
from __future__ import annotations

from pathlib import Path

from content import DEMO_DIR, default_directory, load_pack
from tests.cli.conftest import Lotse


def test_export_writes_a_pack_that_checks_and_loads_without_changes(lotse: Lotse, tmp_path: Path) -> None:
    assert lotse("db", "upgrade").returncode == 0
    assert lotse("content", "load", str(DEMO_DIR)).returncode == 0
    done = lotse("content", "export", str(tmp_path / "export"))
    assert done.returncode == 0, done.stderr
    events = len(load_pack(DEMO_DIR, default_directory()).events)
    assert f"events.yaml: {events} entries, 0 of them created or edited in the cockpit" in done.stdout
    assert lotse("content", "check", str(tmp_path / "export")).returncode == 0
    again = lotse("content", "load", str(tmp_path / "export"))
    lines = [line for line in again.stdout.splitlines() if " new, " in line]
    assert again.returncode == 0 and len(lines) == 7 and "kept" not in again.stdout  # six files and the FAQ
    assert all("0 new, 0 updated, 0 archived" in line for line in lines)


def test_export_needs_a_folder(lotse: Lotse, tmp_path: Path) -> None:
    assert lotse("db", "upgrade").returncode == 0
    done = lotse("content", "export")
    assert done.returncode == 2 and "name the folder" in done.stderr
    (tmp_path / "file.txt").write_text("x")
    assert lotse("content", "export", str(tmp_path / "file.txt")).returncode == 2
