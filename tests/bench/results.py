"""Where benchmark results go: bench-results/<name>.json beside the printed tables."""
from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path("bench-results")


def save(name: str, result: dict[str, Any], out: Path = OUT) -> dict[str, Any]:
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    return result


def run_and_save(name: str, run: Callable[[], dict[str, Any]], print_table: Callable[[dict[str, Any]], None],
                 out: Path = OUT) -> dict[str, Any]:
    """One benchmark: run it, print its table, keep its figures."""
    result = run()
    print_table(result)
    return save(name, result, out)


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50, p95 and max of latencies in seconds, as milliseconds."""
    ordered = sorted(seconds) or [0.0]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}
