"""Vacancy suggestions with 50,000 offers and 10,000 users in SQLite: one page through the engine
(load profile and quiz result, query the box, rank, fetch the card, save the state) next to the
bare database query that fetches the candidates."""
from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlmodel import col

from content import DEMO_DIR, default_directory, load_pack
from flows.core.clock import SystemClock
from flows.core.model import Event, EventKind, UserRef
from flows.domain.geo import bounding_box
from flows.domain.matching import rank_spec
from flows.wiring import build_engine
from storage.content_sync import sync_pack
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.tables import UserRow, VacancyRow
from storage.tables_quiz import QuizAttemptRow
from storage.uow import SqlUnitOfWorkFactory

REGION_PLZ = ("02826", "02708", "02625", "02763", "02977", "02943", "03046", "03130", "01968", "06108",
              "06217", "06237", "06188", "01917", "01877")
EAST = ("Sachsen", "Sachsen-Anhalt", "Brandenburg", "Thüringen")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def _fill(uow_factory: SqlUnitOfWorkFactory, vacancies: int, users: int, rng: random.Random) -> None:
    pack = load_pack(DEMO_DIR, default_directory())
    await sync_pack(uow_factory, pack, SystemClock())
    places = default_directory()
    towns = [places.lookup(plz)[0] for plz in REGION_PLZ]  # where the users live
    # Offers as an import from the Bundesagentur would bring them: half in the four eastern
    # states, half anywhere in Germany, each at a real postal code.
    everywhere = places.populated()
    east = [p for p in everywhere if p.state in EAST]
    companies = list(pack.companies)
    professions = [p.slug for p in pack.professions]
    levels = [None, "hauptschule", "mittlere_reife", "abitur"]
    today = date(2027, 1, 15)
    async with uow_factory() as uow:
        session = uow.session
        rows = []
        for i in range(vacancies):
            town, company = rng.choice(east if i % 2 else everywhere), rng.choice(companies)
            rows.append({
                "slug": f"bench-{i}", "data": {"slug": f"bench-{i}", "company": company.slug,
                                                "profession": rng.choice(professions), "kind": "ausbildung",
                                                "title": f"Ausbildung {i}", "start": "2027-08-01",
                                                "published": "2027-01-01", "plz": town.plz, "places": 1},
                "archived": False, "company": company.slug, "profession": rng.choice(professions),
                "kind": rng.choice(("ausbildung", "praktikum")), "title": f"Ausbildung {i}", "plz": town.plz,
                "start": today + timedelta(days=rng.randint(-20, 300)),
                "published": today - timedelta(days=rng.randint(0, 200)),
                "lat": town.lat, "lon": town.lon,
                "school_level": rng.choice(levels),
            })
        for start in range(0, len(rows), 5000):
            await session.execute(insert(VacancyRow), rows[start:start + 5000])
        now = datetime.now(UTC)
        user_rows = [{"channel": "telegram", "chat_id": 1_000_000 + i, "role": "teen", "locale": "de",
                      "plz": (t := rng.choice(towns)).plz, "place": t.name, "school_status": "pupil",
                      "school_class": rng.randint(8, 12), "onboarded": True, "active": True,
                      "created_at": now, "last_seen_at": now} for i in range(users)]
        for start in range(0, len(user_rows), 5000):
            await session.execute(insert(UserRow), user_rows[start:start + 5000])
        ids = (await session.execute(select(col(UserRow.id)))).scalars().all()
        attempts: list[dict[str, object]] = [
            {"user_id": uid, "answers": {}, "started_at": now, "finished_at": now, "top": [],
             "scores": {c: rng.random() for c in "RIASEC"}} for uid in ids[: users // 2]]
        await session.execute(insert(QuizAttemptRow), attempts)
        await uow.commit()


async def run(vacancies: int = 50_000, users: int = 10_000, pages: int = 1_000) -> dict[str, object]:
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        db = create_engine(url)
        clock = SystemClock()
        uow_factory = SqlUnitOfWorkFactory(session_factory(db), clock)
        started = time.perf_counter()
        await _fill(uow_factory, vacancies, users, rng)
        fill_seconds = time.perf_counter() - started
        engine = build_engine(uow_factory, default_directory(), clock)
        places = default_directory()
        chat_ids = rng.sample(range(1_000_000, 1_000_000 + users), pages)
        page_ms, query_ms, ranked_ms, candidates = [], [], [], []
        for n, chat_id in enumerate(chat_ids):
            event = Event(user=UserRef(channel="telegram", chat_id=chat_id), kind=EventKind.BUTTON,
                          data="v:open", update_id=10_000_000 + n)
            t0 = time.perf_counter()
            outcome = await engine.handle(event)
            page_ms.append((time.perf_counter() - t0) * 1000)
            assert outcome.replies and outcome.replies[-1].key in ("vacancies.card", "vacancies.none")
            async with uow_factory() as uow:
                profile = await uow.users.get("telegram", chat_id)
                assert profile is not None and profile.plz and profile.place
                home = places.find(profile.plz, profile.place)
                assert home is not None
                t1 = time.perf_counter()
                found = await uow.vacancies.candidates(bounding_box(home.lat, home.lon, 25), None, None)
                query_ms.append((time.perf_counter() - t1) * 1000)
                candidates.append(len(found))
                spec = rank_spec(home.lat, home.lon, 25, date.today(), None, None, None, {}, None)
                t2 = time.perf_counter()
                await uow.vacancies.ranked(spec, 0, 1)
                ranked_ms.append((time.perf_counter() - t2) * 1000)
        await db.dispose()
    return {
        "vacancies": vacancies, "users": users, "pages": pages, "fill_seconds": round(fill_seconds, 1),
        "candidates_per_page_median": int(statistics.median(candidates)),
        "page_p50_ms": round(_percentile(page_ms, 50), 2), "page_p95_ms": round(_percentile(page_ms, 95), 2),
        "query_p50_ms": round(_percentile(query_ms, 50), 2), "query_p95_ms": round(_percentile(query_ms, 95), 2),
        "ranked_query_p50_ms": round(_percentile(ranked_ms, 50), 2),
        "ranked_query_p95_ms": round(_percentile(ranked_ms, 95), 2),
    }


if __name__ == "__main__":
    print(asyncio.run(run(pages=200)))
