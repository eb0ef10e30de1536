"""Imports point inwards: flows import nothing of ours; only bot/ imports aiogram."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = {"bot", "flows", "prompts", "storage", "content"}
ALLOWED = {
    "flows": set(),
    "prompts": set(),
    "content": {"flows"},
    "storage": {"flows", "content"},
    "bot": {"flows", "prompts", "storage", "content"},
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
