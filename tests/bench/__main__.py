"""`make bench`: runs every benchmark and writes bench-results/*.json plus a Markdown table."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
from pathlib import Path

from tests.bench import (
    answer_bench,
    broadcast_bench,
    cockpit_bench,
    commute_bench,
    email_bench,
    import_bench,
    lead_telegram_bench,
    outbox_bench,
    press_bench,
    search_bench,
    telegram_bench,
    transit_bench,
    vacancy_bench,
    workers_bench,
)
from tests.bench.bot_api_stub import StubServer

OUT = Path("bench-results")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    OUT.mkdir(exist_ok=True)
    with StubServer() as stub:
        over_http = asyncio.run(telegram_bench.run(stub.url))
    in_memory = asyncio.run(telegram_bench.run(None))
    report: dict[str, object] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                            f"Python {platform.python_version()}"}
    print("| Bot API | pipeline | updates | updates/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for label, (bare, full) in (("HTTP stub, own process", over_http), ("none (recording session)", in_memory)):
        ratio = full.per_second / bare.per_second
        report[label] = {"rows": [bare.row(), full.row()], "throughput_ratio": round(ratio, 3)}
        for row in (bare.row(), full.row()):
            print(f"| {label} | {row['name']} | {row['updates']} | {row['updates_per_s']} | "
                  f"{row['p50_ms']} | {row['p99_ms']} |")
        print(f"| {label} | **ratio Azubi-Lotse / bare** | | **{ratio:.2f}** | | |")
    (OUT / "telegram.json").write_text(json.dumps(report, indent=2))
    print("\ntarget: ratio ≥ 0.40 with the HTTP stub")
    print("\nVacancy suggestions: 50,000 offers, 10,000 users, SQLite")
    vacancies = asyncio.run(vacancy_bench.run())
    (OUT / "vacancies.json").write_text(json.dumps(vacancies, indent=2))
    print("| measure | p50 ms | p95 ms |\n|---|---|---|")
    print(f"| one suggestion page (engine: profile, quiz result, ranking query, card, state saved) | "
          f"{vacancies['page_p50_ms']} | {vacancies['page_p95_ms']} |")
    print(f"| ranking query alone (score, order, count in SQL) | {vacancies['ranked_query_p50_ms']} | "
          f"{vacancies['ranked_query_p95_ms']} |")
    print(f"| bare query fetching the candidates in the 25 km box | {vacancies['query_p50_ms']} | "
          f"{vacancies['query_p95_ms']} |")
    print(f"candidates per page (median): {vacancies['candidates_per_page_median']}; target: page p95 < 20 ms")
    print("\nOutbox: reminders due at once vs the fake Bot API enforcing 30/s and 1/s per chat")
    outbox_bench.main(OUT)
    print("\nLead e-mails: from the hand-over to \"accepted\" by a local SMTP server (aiosmtpd), "
          "through the e-mail dispatcher")
    email_bench.main(OUT)
    print("\nLeads in Telegram: from the young person's \"agree\" to the company contact's message, "
          "real `lotse run` and the fake Bot API with Telegram's limits")
    lead_telegram_bench.main(OUT)
    print("\n200 users at once, /start and five presses each, against the fake Bot API with Telegram's "
          "limits (edits counted), Azubi-Lotse vs a bare aiogram bot")
    press_bench.main(OUT)
    print("\nAn announcement to 10,000 opted-in people while 50 users chat, real `lotse run` and the fake Bot "
          "API with Telegram's limits")
    broadcast_bench.main(OUT)
    print("\nThe web cockpit with 50,000 people in one cluster: pages through the real stack, and the bot's writes "
          "while dashboards are read")
    cockpit_bench.main(OUT)
    print("\nFree questions: search recall@5 over tests/eval/questions.yaml and search latency with the demo pack "
          "and with 50,000 offers")
    search_bench.main(OUT)
    print("\nFree questions answered by a language model: from the question to the queued answer, with the fake "
          "OpenAI-compatible server, against the bot's own FAQ answer")
    answer_bench.main(OUT)
    print("\nSeveral webhook workers on one PostgreSQL: 1, 2 and 4 `lotse run --webhook` with users pressing buttons "
          "(Telegram's redeliveries included), and 10,000 reminders sent by two workers within one 30/s budget")
    workers_bench.main(OUT)
    print("\nThe Arbeitsagentur import: BENCH_IMPORT_OFFERS (20,000) generated listings from the fake job search, "
          "and the suggestion page before and after")
    import_bench.main(OUT)
    print("\nThe journey planner (issue 16): a generated regional GTFS feed (5,000 stops, 50,000 trips), loading and "
          "journeys for 10,000 homes")
    transit_bench.main(OUT)
    commute_bench.main(OUT)


if __name__ == "__main__":
    main()
