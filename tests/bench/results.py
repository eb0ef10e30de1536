"""Where benchmark results go: bench-results/<name>.json beside the printed tables."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path("bench-results")


def save(name: str, result: dict[str, Any], out: Path = OUT) -> dict[str, Any]:
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    return result
