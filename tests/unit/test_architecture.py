"""Imports point inwards: flows import nothing of ours; only bot/ imports aiogram (the web cockpit
neither: it is an edge of its own, on aiohttp, started by bot/cli.py)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = {"bot", "cockpit", "flows", "prompts", "storage", "content", "imports", "transit"}
ALLOWED = {
    "flows": set(),
    "prompts": set(),
    "content": {"flows"},
    "storage": {"flows", "content"},
    "bot": {"flows", "prompts", "storage", "content", "cockpit", "imports", "transit"},  # cli.py starts the cockpit
    "imports": {"flows", "storage", "content"},  # offers from outside the pack (the Arbeitsagentur)
    "cockpit": {"bot", "flows", "prompts", "storage", "content"},
    "transit": {"flows", "content"},  # GTFS feeds read into the journey planner's network (issue 16)
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_packages_import_only_inwards() -> None:
    problems = []
    for package, allowed in ALLOWED.items():
        for path in (ROOT / package).rglob("*.py"):
            imported = _imports(path)
            wrong = (imported & OURS) - allowed - {package}
            if wrong:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
            if package != "bot" and "aiogram" in imported:
                problems.append(f"{path.relative_to(ROOT)} imports aiogram")
    assert not problems, problems


# Rooms inside flows/: what the bot asks (conversations) builds on rules (domain), delivery and the
# core; rules and delivery know no conversation; only the wiring knows them all.
ROOM_MAY_NOT_IMPORT = {
    "core": {"conversations", "jobs", "wiring"},
    "domain": {"conversations", "delivery", "jobs", "wiring"},
    "delivery": {"conversations", "jobs", "wiring"},
    "jobs": {"conversations", "wiring"},
    "conversations": {"wiring"},
}


def _flows_rooms(path: Path) -> set[str]:
    rooms: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        for module in modules:
            parts = module.split(".")
            if parts[0] == "flows" and len(parts) > 1:
                rooms.add(parts[1])
            if isinstance(node, ast.ImportFrom) and module == "flows":
                rooms |= {a.name for a in node.names}
    return rooms


def test_rooms_inside_flows_point_inwards() -> None:
    problems = []
    for room, forbidden in ROOM_MAY_NOT_IMPORT.items():
        for path in (ROOT / "flows" / room).rglob("*.py"):
            wrong = _flows_rooms(path) & forbidden
            if wrong:
                problems.append(f"{path.relative_to(ROOT)} imports flows.{sorted(wrong)}")
    assert not problems, problems
    assert {p.name for p in (ROOT / "flows").iterdir() if p.suffix == ".py"} == {"__init__.py", "wiring.py"}


def test_the_terminal_chat_imports_neither_aiogram_nor_the_openai_sdk() -> None:
    """`make chat` starts fast: the Telegram library and the model client (seconds to import) load only in
    `lotse run` and with OPENAI_API_KEY."""
    import subprocess
    import sys

    probe = ("import sys, bot.cli, bot.app, bot.console; "
             "print(sorted(m for m in ('aiogram', 'openai') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "[]"
