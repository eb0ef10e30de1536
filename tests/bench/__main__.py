"""`make bench`: runs every benchmark and writes bench-results/*.json plus a Markdown table."""
from __future__ import annotations

import asyncio
import json
import logging
import platform
from pathlib import Path

from tests.bench import telegram_bench
from tests.bench.bot_api_stub import StubServer

OUT = Path("bench-results")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    OUT.mkdir(exist_ok=True)
    with StubServer() as stub:
        results = asyncio.run(telegram_bench.run(stub.url))
    rows = [r.row() for r in results]
    bare, full = results
    ratio = full.per_second / bare.per_second
    report = {"machine": f"{platform.machine()}, {platform.python_version()}", "onboarding_presses": rows,
              "throughput_ratio": round(ratio, 3)}
    (OUT / "telegram.json").write_text(json.dumps(report, indent=2))
    print("| pipeline | updates | updates/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['name']} | {row['updates']} | {row['updates_per_s']} | {row['p50_ms']} | {row['p99_ms']} |")
    print(f"\nthroughput ratio (Azubi-Lotse / bare): {ratio:.2f} (target ≥ 0.40)")


if __name__ == "__main__":
    main()
