"""The web cockpit with a large cluster: 50,000 people of one cluster (and 20,000 of another), quiz
results, 15,000 leads with histories and consents, on SQLite. Pages through the real cockpit stack
(aiohttp, session check, template) in this process, each beside a small page through the same stack
(the audit log) in the same run; and the bot's writes while a dashboard is being read, next to the
same writes with nobody reading (the reports read on a read-only engine, so they should not wait).

`BENCH_COCKPIT_USERS` sets the cluster's size."""
from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select
from sqlmodel import col

from bot.app import build_app
from bot.settings import Settings
from cockpit.app import build_web_app
from cockpit.web import COCKPIT
from content import DEMO_DIR, default_directory, load_pack
from flows.core.clock import SystemClock
from flows.core.model import Profile
from flows.domain.lead import CONSENT_PURPOSE, CONSENT_VERSION
from flows.domain.sign_in import new_sign_in
from storage.content_sync import sync_pack
from storage.db import session_factory
from storage.funnel import journeys
from storage.migrate import upgrade
from storage.tables import ConsentRow, UserRow
from storage.tables_leads import LeadRow
from storage.tables_quiz import QuizAttemptRow
from tests.bench.results import percentiles, run_and_save

CLUSTER, OTHER = "zukunftsmacher", "tab-mint"
COMPANIES = ("zittauer-gebirgsbau", "neisse-metallbau", "loebauer-elektrotechnik")
STATUSES = ("delivered", "delivered", "contacted", "interview", "hired", "no_place", "waiting_parent", "withdrawn")
AGENT = 900
ROUNDS = 15


async def _fill(app: Any, users: int, rng: random.Random) -> None:
    now = datetime.now(UTC)
    async with app.uow_factory() as uow:
        session = uow.session
        sources = [None, None, "plakat-mensa", "stand-impuls", "oberschule-loebau"]
        rows = []
        for i in range(users + users * 2 // 5):
            created = now - timedelta(days=rng.randint(0, 360), minutes=rng.randint(0, 1440))
            rows.append({"channel": "telegram", "chat_id": 100_000 + i, "role": "teen", "locale": "de",
                         "age_band": rng.choice(["u16", "16_17", "18plus"]), "plz": "02708", "place": "Löbau",
                         "cluster": CLUSTER if i < users else OTHER, "source": rng.choice(sources),
                         "onboarded": rng.random() < 0.85, "active": True, "created_at": created,
                         "last_seen_at": created,
                         "offers_viewed_at": created if rng.random() < 0.6 else None})
        await session.execute(insert(UserRow), rows)
        ids = [(r[0], r[1]) for r in (await session.execute(select(col(UserRow.id), col(UserRow.created_at)))).tuples()]
        await session.execute(insert(QuizAttemptRow), [
            {"user_id": uid, "answers": {}, "started_at": at, "finished_at": at, "scores": {"R": 0.7},
             "top": ["maurer-in"]} for uid, at in ids if rng.random() < 0.6])
        consents, leads = [], []
        chosen = [(uid, at) for uid, at in ids if rng.random() < 0.3][:int(users * 0.3)]
        for n, (uid, at) in enumerate(chosen):
            company = rng.choice(COMPANIES)
            status = rng.choice(STATUSES)
            consents.append({"id": n + 1, "user_id": uid, "purpose": CONSENT_PURPOSE, "text_version": CONSENT_VERSION,
                             "given_by": "self", "recipients": [company], "given_at": at})
            history = [{"status": "delivered", "at": at.isoformat()}] if status not in ("waiting_parent",) else []
            leads.append({"user_id": uid, "company": company, "target": f"company:{company}", "status": status,
                          "shared": {"first_name": "Alex", "phone": "+4915112345678", "title": "Maurer"},
                          "consent_id": None if status == "waiting_parent" else n + 1, "created_at": at,
                          "delivered_at": None if status == "waiting_parent" else at, "status_at": at,
                          "history": history})
        await session.execute(insert(ConsentRow), consents)
        await session.execute(insert(LeadRow), leads)
        await uow.users.save(Profile(channel="telegram", chat_id=AGENT, role="other", cluster=CLUSTER,
                                     onboarded=True, created_at=now, last_seen_at=now))
        await uow.commit()


async def _timed(http: ClientSession, url: str, rounds: int = ROUNDS) -> list[float]:
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        async with http.get(url, allow_redirects=False) as response:
            await response.read()
            assert response.status == 200, (url, response.status)
        took.append(time.perf_counter() - started)
    return took


WRITER = """
import json, sqlite3, sys, time
from datetime import UTC, datetime
took = []
with sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10) as db:
    for i in range(int(sys.argv[2])):
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO audit_log (at, actor, cluster, action, subject, detail) "
                   "VALUES (?, 'bench', 'bench', 'write', ?, '{}')", (datetime.now(UTC).isoformat(), f"w{i}"))
        db.execute("COMMIT")
        took.append(time.perf_counter() - started)
        time.sleep(0.01)
print(json.dumps(took))
"""


async def _writes(path: Path, count: int) -> list[float]:
    """What the bot process does all the time, from another process: a short write transaction
    (BEGIN IMMEDIATE, one row, COMMIT), timed there."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER, str(path), str(count),
                                                   stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    return [float(t) for t in json.loads(out)]


async def _writes_while_reading(http: ClientSession, url: str, path: Path) -> list[float]:
    async def keep_reading() -> None:
        while True:
            await _timed(http, url, 1)
    reading = asyncio.create_task(keep_reading())
    await asyncio.sleep(0.3)
    try:
        return await _writes(path, 60)
    finally:
        reading.cancel()


async def _run(url: str, users: int) -> dict[str, Any]:
    settings = Settings(_env_file=None, database_url=url, admin_telegram_ids=[AGENT])  # type: ignore[call-arg]
    app = await build_app(settings)
    await sync_pack(app.uow_factory, load_pack(DEMO_DIR, default_directory()), SystemClock())
    started = time.perf_counter()
    await _fill(app, users, random.Random(12))
    filled_s = time.perf_counter() - started
    web_app = build_web_app(app, "http://127.0.0.1", "AzubiLotseBot")
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    web_app[COCKPIT].base_url = base
    sign_in = new_sign_in(datetime.now(UTC))
    async with app.uow_factory() as uow:
        await uow.cockpit.add_sign_in(sign_in.token_hash, "telegram", AGENT, datetime.now(UTC), sign_in.expires_at)
        await uow.commit()
    result: dict[str, Any] = {"users_in_cluster": users, "fill_s": round(filled_s, 1)}
    try:
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
            async with http.post(base + "/anmelden", data={"t": sign_in.token}, headers={"Origin": base},
                                 allow_redirects=False) as response:
                assert response.status == 303
            pages = {"baseline: audit log page": "/protokoll", "dashboard, 12 weeks": "/",
                     "dashboard, everything": "/?zeitraum=alle", "leads page": "/anfragen",
                     "leads export XLSX": "/anfragen/export.xlsx"}
            for name, path in pages.items():
                await _timed(http, base + path, 2)  # warm
                result[name] = percentiles(await _timed(http, base + path))
            base_p95 = result["baseline: audit log page"]["p95_ms"]
            for name in pages:
                result[name]["ratio_p95_to_baseline"] = round(result[name]["p95_ms"] / base_p95, 1)
            db_file = Path(url.removeprefix("sqlite+aiosqlite:///"))
            alone = await _writes(db_file, 60)
            during = await _writes_while_reading(http, base + "/?zeitraum=alle", db_file)
            # The same with the reports reading through a write transaction (BEGIN IMMEDIATE), as the
            # bot's units of work do: what the read-only engine spares the bot.
            cockpit = web_app[COCKPIT]
            own_reads, cockpit.reads = cockpit.reads, session_factory(app.db)
            locked = await _writes_while_reading(http, base + "/?zeitraum=alle", db_file)
            cockpit.reads = own_reads
            result["bot write, reports read with the write lock"] = percentiles(locked)
            result["bot write, nobody reading"] = percentiles(alone)
            result["bot write, dashboards being read"] = percentiles(during)
        tracemalloc.start()
        async with web_app[COCKPIT].reads() as session:
            found = await journeys(session, CLUSTER)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        result["journeys_read"] = len(found)
        result["journeys_peak_mib"] = round(peak / 2**20, 1)
    finally:
        await server.close()
        await app.close()
    return result


def run(users: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)  # Alembic runs its own event loop: before ours
        return asyncio.run(_run(url, users or int(os.environ.get("BENCH_COCKPIT_USERS", "50000"))))


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['users_in_cluster']:,} people in the cluster (+40 % in another), SQLite; "
          f"{ROUNDS} requests each")
    print("| request | p50 ms | p95 ms | p95 / baseline |\n|---|---|---|---|")
    for name, figures in result.items():
        if isinstance(figures, dict) and "ratio_p95_to_baseline" in figures:
            print(f"| {name} | {figures['p50_ms']} | {figures['p95_ms']} | {figures['ratio_p95_to_baseline']} |")
    for name in ("bot write, nobody reading", "bot write, dashboards being read",
                 "bot write, reports read with the write lock"):
        figures = result[name]
        print(f"| {name} | {figures['p50_ms']} | {figures['p95_ms']} | |")
    print(f"reading the funnel's rows: {result['journeys_read']:,} people, peak {result['journeys_peak_mib']} MiB "
          "(tracemalloc)")


def main(out: Path) -> dict[str, Any]:
    return run_and_save("cockpit", run, print_table, out)


if __name__ == "__main__":
    main(Path("bench-results"))
