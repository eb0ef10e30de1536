"""The search over the bot's knowledge (storage/search.py): recall@5 over the evaluation set
(tests/eval/questions.yaml, per group, with the misses), retrieval latency with the demo pack and with
50,000 generated offers in the database (target: p95 < 20 ms), and how long the index takes to build.
On SQLite (FTS5), or on PostgreSQL with `BENCH_SEARCH_DATABASE=postgresql` (the server at
TEST_POSTGRES_URL, else a throwaway one, tests/postgres_server.py; results in bench-results/search_postgresql.json).

    .venv/bin/python -m tests.bench.search_bench
    BENCH_SEARCH_DATABASE=postgresql .venv/bin/python -m tests.bench.search_bench
"""
from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from content import DEMO_DIR, default_directory, load_pack
from content.loader import Pack
from storage import search
from storage.content_sync import sync_pack
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.tables import VacancyRow
from storage.uow import SqlUnitOfWorkFactory
from tests import databases, postgres_server
from tests.bench.results import OUT, percentiles, run_and_save
from tests.eval.questions import EvalQuestion, recall_at, retrieval_questions

HOLDOUT = Path(__file__).resolve().parents[1] / "eval" / "search_holdout.yaml"  # never tuned on

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # before every demo event: all of them are upcoming
K = 5
OFFERS = 50_000
ROUNDS = 5  # each question this often for the latency figures
AUDIENCE = {"teen": "teens", "parent": "parents"}
REGION_PLZ = ("02826", "02708", "02625", "02763", "02977", "02943", "03046", "03130", "01968", "06108",
              "06217", "06237", "06188", "01917", "01877")


class FixedClock:
    def now(self) -> datetime:
        return NOW


def backend() -> str:
    """sqlite (the default) or postgresql, from BENCH_SEARCH_DATABASE."""
    name = os.environ.get("BENCH_SEARCH_DATABASE", "sqlite").strip().lower() or "sqlite"
    if name not in ("sqlite", "postgresql"):
        raise SystemExit(f"BENCH_SEARCH_DATABASE must be sqlite or postgresql, not {name!r}")
    return name


@asynccontextmanager
async def _database_url(name: str) -> AsyncIterator[str]:
    """A new, empty database: a file in a temporary directory, or a PostgreSQL database on the server
    at TEST_POSTGRES_URL (else on a throwaway server), dropped afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        if name == "sqlite":
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'search.db'}"
            return
        started = None
        if not os.environ.get("TEST_POSTGRES_URL"):
            started = Path(tempfile.mkdtemp(prefix="lotse-bench-pg-"))
            os.environ["TEST_POSTGRES_URL"] = await asyncio.to_thread(postgres_server.start, started)
        database = await asyncio.to_thread(databases.create_database)
        try:
            yield databases.database_url(database)
        finally:
            await asyncio.to_thread(databases.drop_database, database)
            if started is not None:
                await asyncio.to_thread(postgres_server.stop, started)
                os.environ.pop("TEST_POSTGRES_URL", None)
                shutil.rmtree(started, ignore_errors=True)


async def demo_database(url: str) -> tuple[AsyncEngine, SqlUnitOfWorkFactory, Pack]:
    """A migrated database at `url` with the demo pack loaded at NOW (the import benchmark's too)."""
    await asyncio.to_thread(upgrade, url)
    db = create_engine(url)
    uow_factory = SqlUnitOfWorkFactory(session_factory(db), FixedClock())
    pack = load_pack(DEMO_DIR, default_directory())
    await sync_pack(uow_factory, pack, FixedClock())
    return db, uow_factory, pack


def _groups(question: EvalQuestion) -> list[str]:
    return ["all", *(f"tag:{t}" for t in question.tags), f"lang:{question.lang}",
            f"role:{question.role or 'any'}"]


async def _ask(uow_factory: SqlUnitOfWorkFactory, question: EvalQuestion) -> tuple[list[str], float]:
    async with uow_factory() as uow:
        started = time.perf_counter()
        hits = await search.search(uow.session, question.question, limit=K,
                                   audience=AUDIENCE.get(question.role or ""), now=NOW)
        return [h.id for h in hits], time.perf_counter() - started


async def _evaluate(uow_factory: SqlUnitOfWorkFactory, questions: list[EvalQuestion]) -> dict[str, Any]:
    """recall@5 per group, and the questions whose passages were not all in the top 5."""
    sums: dict[str, list[float]] = {}
    misses = []
    for q in questions:
        ranked, _ = await _ask(uow_factory, q)
        recall = recall_at(K, q.expected, ranked)
        for group in _groups(q):
            sums.setdefault(group, []).append(recall)
        if recall < 1.0:
            misses.append({"question": q.question, "expected": list(q.expected), "got": ranked})
    return {"recall_at_5": {g: round(sum(v) / len(v), 3) for g, v in sorted(sums.items())},
            "questions_per_group": {g: len(v) for g, v in sorted(sums.items())}, "misses": misses}


async def _latency(uow_factory: SqlUnitOfWorkFactory, questions: list[EvalQuestion]) -> dict[str, float]:
    await _ask(uow_factory, questions[0])  # the vocabulary is read once per process (and after changes)
    seconds = [(await _ask(uow_factory, q))[1] for _ in range(ROUNDS) for q in questions]
    return percentiles(seconds)


async def _timed(step: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await step()
    return result, round(time.perf_counter() - started, 2)


async def _rebuild(uow_factory: SqlUnitOfWorkFactory) -> search.RebuildReport:
    async with uow_factory() as uow:
        report = await search.rebuild(uow.session, NOW)
        await uow.commit()
        return report


async def _add_offers(uow_factory: SqlUnitOfWorkFactory, pack: Pack, count: int) -> None:
    """Offers as an import would bring them (like tests/bench/vacancy_bench.py), with real titles."""
    rng = random.Random(13)
    places = default_directory()
    towns = [places.lookup(plz)[0] for plz in REGION_PLZ]
    names = {p.slug: p.name for p in pack.professions}
    rows = []
    for i in range(count):
        company, town = rng.choice(pack.companies), rng.choice(towns)
        profession = rng.choice(company.professions)
        kind = rng.choice(("ausbildung", "ausbildung", "praktikum"))
        start = date(2027, 8, 1) + timedelta(days=rng.randint(-200, 300))
        title = f"{'Ausbildung' if kind == 'ausbildung' else 'Praktikum'} {names[profession]} ab {start:%d.%m.%Y}"
        data = {"slug": f"bench-{i}", "company": company.slug, "profession": profession, "kind": kind,
                "title": title, "start": start.isoformat(), "published": "2026-11-01", "plz": town.plz,
                "place": town.name, "places": 1}
        rows.append({"slug": f"bench-{i}", "data": data, "archived": False, "company": company.slug,
                     "profession": profession, "kind": kind, "title": title, "plz": town.plz, "start": start,
                     "published": date(2026, 11, 1), "lat": town.lat, "lon": town.lon, "updated_at": NOW})
    async with uow_factory() as uow:
        for first in range(0, len(rows), 5000):
            await uow.session.execute(insert(VacancyRow), rows[first:first + 5000])
        await uow.commit()


def _about_knowledge(question: EvalQuestion) -> bool:
    """A question whose passages are no offers: with 50,000 generated offers, which copy of an offer
    the search finds is chance (they are copies of the demo offers)."""
    return not any(p.startswith("offer:") for p in question.expected)


async def run_async(offers: int = OFFERS, database: str = "sqlite") -> dict[str, Any]:
    questions = retrieval_questions()
    holdout = retrieval_questions(HOLDOUT) if HOLDOUT.exists() else []
    async with _database_url(database) as url:
        db, uow_factory, pack = await demo_database(url)
        demo_build, demo_build_s = await _timed(lambda: _rebuild(uow_factory))
        quality = await _evaluate(uow_factory, questions)
        held = await _evaluate(uow_factory, holdout) if holdout else None
        demo_latency = await _latency(uow_factory, questions)
        await _add_offers(uow_factory, pack, offers)
        big_build, big_build_s = await _timed(lambda: _rebuild(uow_factory))
        _, big_again_s = await _timed(lambda: _rebuild(uow_factory))
        big_quality = await _evaluate(uow_factory, questions)
        big_knowledge = await _evaluate(uow_factory, [q for q in questions if _about_knowledge(q)])
        big_latency = await _latency(uow_factory, questions)
        await db.dispose()
    return {
        "database": database, "questions": len(questions), "k": K, **quality,
        "holdout_questions": len(holdout),
        "recall_at_5_holdout": held["recall_at_5"]["all"] if held else None,
        "misses_holdout": held["misses"] if held else [],
        "recall_at_5_with_offers": big_quality["recall_at_5"]["all"],
        "recall_at_5_with_offers_knowledge_questions": big_knowledge["recall_at_5"]["all"],
        "misses_with_offers": big_quality["misses"],
        "pages_demo": sum(demo_build.by_kind.values()), "pages_with_offers": sum(big_build.by_kind.values()),
        "offers_added": offers,
        "latency_demo": demo_latency, "latency_with_offers": big_latency,
        "rebuild_demo_s": demo_build_s, "rebuild_with_offers_s": big_build_s, "rebuild_unchanged_s": big_again_s,
    }


def run(offers: int = OFFERS, database: str = "sqlite") -> dict[str, Any]:
    return asyncio.run(run_async(offers, database))


def print_table(result: dict[str, Any]) -> None:
    engine = "PostgreSQL, GIN over tsvector" if result.get("database") == "postgresql" else "SQLite FTS5"
    print(f"\nSearch over the bot's knowledge ({engine}): {result['questions']} questions, recall@{result['k']}")
    print("| group | questions | recall@5 |\n|---|---|---|")
    for group, recall in result["recall_at_5"].items():
        print(f"| {group} | {result['questions_per_group'][group]} | {recall} |")
    if result["holdout_questions"]:
        print(f"recall@5 on {result['holdout_questions']} held-out questions (tests/eval/search_holdout.yaml, "
              f"never tuned on): {result['recall_at_5_holdout']}")
    print(f"recall@5 with {result['offers_added']:,} generated offers in the index: {result['recall_at_5_with_offers']} "
          f"(questions about knowledge pages, not offers: {result['recall_at_5_with_offers_knowledge_questions']})")
    print("\n| measure | pages | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    for label, pages, latency in (("search, demo pack", result["pages_demo"], result["latency_demo"]),
                                  (f"search, demo pack + {result['offers_added']:,} offers",
                                   result["pages_with_offers"], result["latency_with_offers"])):
        print(f"| {label} | {pages:,} | {latency['p50_ms']} | {latency['p95_ms']} | {latency['max_ms']} |")
    print(f"\nindex build: demo pack {result['rebuild_demo_s']} s; with the offers {result['rebuild_with_offers_s']} s; "
          f"again, nothing changed: {result['rebuild_unchanged_s']} s. Target: search p95 < 20 ms, recall@5 ≥ 0.9")
    for label, misses in (("demo pack", result["misses"]), ("held out", result["misses_holdout"]),
                          ("with the offers", result["misses_with_offers"])):
        if misses:
            print(f"\nmisses ({label}):")
            for miss in misses:
                print(f"- {miss['question']!r}: expected {miss['expected']}, got {miss['got']}")


def main(out: Path = OUT, offers: int = OFFERS) -> dict[str, Any]:
    database = backend()
    name = "search" if database == "sqlite" else f"search_{database}"
    return run_and_save(name, lambda: run(offers, database), print_table, out)


if __name__ == "__main__":
    main()
