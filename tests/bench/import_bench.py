"""The Arbeitsagentur import (issue 15 point 6) at scale: 20,000 generated listings served by the fake job
search (tests/fakes/ba_server.py, v6 shape, in its own thread so it does not share the measured loop),
imported over every cluster of the demo pack by the real client (`pace_seconds=0`) into a fresh SQLite
database. Reports the import's wall time, requests, pages, offers created, listings/s and memory (peak RSS
growth of the process; tracemalloc's peak of a second, idempotent run), the idempotent run's time, and the
suggestion page ("Stellen & Praktika", first page, 25 km) p50/p95 for 200 users before and after.

    BENCH_IMPORT_OFFERS=20000 .venv/bin/python -m tests.bench.import_bench
"""
from __future__ import annotations

import asyncio
import os
import random
import resource
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.ba_client import BaJobBoard
from content import default_directory
from content.loader import Pack
from flows.core.model import Event, EventKind, UserRef
from flows.domain.geo import Place, distance_km
from flows.domain.matching import rank_spec
from flows.wiring import build_engine
from imports.ba import ImportReport, import_ba
from storage.offer_imports import OfferImportStore
from storage.tables import UserRow, VacancyRow
from storage.uow import SqlUnitOfWorkFactory
from tests.bench.results import OUT, percentiles, run_and_save
from tests.bench.search_bench import NOW, FixedClock, demo_database
from tests.fakes.ba_server import FakeJobBoard, FakeListing, generate_listings

OFFERS = int(os.environ.get("BENCH_IMPORT_OFFERS", "20000"))
USERS = 200
ROUNDS = 3  # pages per user and phase
RADIUS_KM = 25
SPREAD_KM = 15.0  # listings sit at a real postal code this near a region town (the searches reach 20 km)
BAD_SHARE = 0.03  # per kind of bad data: no reference, unknown postal code, a neighbouring trade
NEIGHBOURS = ("Kfz-Mechatroniker/in", "Maurerhelfer/in", "Fachlagerist/in")  # another trade: left out


async def _nosleep(seconds: float) -> None:
    return None


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _database(tmp: str) -> tuple[AsyncEngine, SqlUnitOfWorkFactory, Pack]:
    return await demo_database(f"sqlite+aiosqlite:///{Path(tmp) / 'import.db'}")


def _region_towns(pack: Pack) -> dict[str, dict[str, Place]]:
    """Per cluster: its region towns at their postal codes."""
    places = default_directory()
    towns: dict[str, dict[str, Place]] = {}
    for cluster in pack.clusters:
        for town in cluster.region_towns:
            found = places.lookup(town.plz)
            if found:
                towns.setdefault(cluster.slug, {})[town.name] = found[0]
    return towns


def _listings(pack: Pack, towns: dict[str, dict[str, Place]], n: int) -> list[FakeListing]:
    """`n` listings, a share per cluster over its region towns and its professions' Arbeitsagentur names, both
    kinds, each moved to a real postal code near its town; a share of bad data (see BAD_SHARE)."""
    everywhere = default_directory().populated()
    rng = random.Random(6)
    listings: list[FakeListing] = []
    clusters = sorted(towns)
    for number, cluster in enumerate(clusters):
        share = n // len(clusters) + (1 if number < n % len(clusters) else 0)
        professions = sorted({p.ba_names[0] for p in pack.professions if p.ba_names and cluster in p.clusters})
        generated = generate_listings(share, seed=15 + number, professions=professions,
                                      towns={name: (t.lat, t.lon, t.plz) for name, t in towns[cluster].items()})
        near = {name: [p for p in everywhere if distance_km(t.lat, t.lon, p.lat, p.lon) <= SPREAD_KM] or [t]
                for name, t in towns[cluster].items()}
        for listing in generated:
            here = rng.choice(near[listing.place or ""])
            ref = f"{10000 + len(listings) % 97}-{1_100_000_000 + len(listings)}-S"
            listing = replace(listing, ref=ref, plz=here.plz, place=here.name, lat=here.lat, lon=here.lon)
            roll = rng.random()
            if roll < BAD_SHARE:
                listing = replace(listing, raw_drop=("referenznummer",))
            elif roll < 2 * BAD_SHARE:
                listing = replace(listing, plz="00000", place="Nirgendwo")
            elif roll < 3 * BAD_SHARE:  # the title still names the profession: the free text finds it
                listing = replace(listing, beruf=rng.choice(NEIGHBOURS))
            listings.append(listing)
    return listings


async def _users(uow_factory: SqlUnitOfWorkFactory, towns: dict[str, dict[str, Place]], n: int) -> list[int]:
    rng = random.Random(42)
    homes = sorted({t.plz: t for cluster in towns.values() for t in cluster.values()}.values(), key=lambda t: t.plz)
    rows = [{"channel": "telegram", "chat_id": 2_000_000 + i, "role": "teen", "locale": "de",
             "plz": (t := rng.choice(homes)).plz, "place": t.name, "school_status": "pupil",
             "school_class": rng.randint(8, 12), "onboarded": True, "active": True,
             "created_at": NOW, "last_seen_at": NOW} for i in range(n)]
    async with uow_factory() as uow:
        await uow.session.execute(insert(UserRow), rows)
        await uow.commit()
    return [int(str(r["chat_id"])) for r in rows]


async def _pages(uow_factory: SqlUnitOfWorkFactory, chat_ids: list[int], first_update: int) -> dict[str, Any]:
    """The first suggestion page for every user through the engine (profile, ranking, card, state saved),
    and the ranking query alone (25 km around the user's home)."""
    places = default_directory()
    engine = build_engine(uow_factory, places, FixedClock())
    page_s, ranked_s, totals = [], [], []
    for n, chat_id in enumerate(chat_ids * ROUNDS):
        event = Event(user=UserRef(channel="telegram", chat_id=chat_id), kind=EventKind.BUTTON, data="v:open",
                      update_id=first_update + n)
        started = time.perf_counter()
        outcome = await engine.handle(event)
        page_s.append(time.perf_counter() - started)
        assert outcome.replies and outcome.replies[-1].key in ("vacancies.card", "vacancies.none"), outcome.replies
        async with uow_factory() as uow:
            profile = await uow.users.get("telegram", chat_id)
            assert profile is not None and profile.plz and profile.place
            home = places.find(profile.plz, profile.place)
            assert home is not None
            spec = rank_spec(home.lat, home.lon, RADIUS_KM, NOW.date(), None, None, None, {}, None)
            started = time.perf_counter()
            total, _ = await uow.vacancies.ranked(spec, 0, 1)
            ranked_s.append(time.perf_counter() - started)
            totals.append(total)
    ordered = sorted(totals)
    return {"page": percentiles(page_s), "ranked_query": percentiles(ranked_s),
            "offers_in_reach_median": ordered[len(ordered) // 2] if ordered else 0}


async def _import(uow_factory: SqlUnitOfWorkFactory, url: str) -> tuple[ImportReport, float, int]:
    async with BaJobBoard(url, pace_seconds=0, backoff_seconds=0.01, sleep=_nosleep, timeout=60) as board:
        started = time.perf_counter()
        report = await import_ba(OfferImportStore(uow_factory), board, FixedClock(), default_directory())
        return report, time.perf_counter() - started, board.requests_made


def _figures(report: ImportReport, seconds: float, requests: int) -> dict[str, Any]:
    return {"seconds": round(seconds, 1), "requests": requests, "searches": report.searches,
            "complete": report.complete, "pages": report.pages, "listings_read": report.listings,
            "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
            "archived": report.archived, "listings_per_s": round(report.listings / seconds, 1) if seconds else 0.0,
            "left_out": dict(report.problems), "stopped": report.stopped}


async def _run(offers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db, uow_factory, pack = await _database(tmp)
        try:
            towns = _region_towns(pack)
            chat_ids = await _users(uow_factory, towns, USERS)
            before = await _pages(uow_factory, chat_ids, 10_000_000)
            listings = _listings(pack, towns, offers)
            server_towns = {name: (t.lat, t.lon) for cluster in towns.values() for name, t in cluster.items()}
            with FakeJobBoard(listings, towns=server_towns) as server:
                rss_before = _peak_rss_mib()
                first, first_s, first_requests = await _import(uow_factory, server.url_v6)
                rss_growth = _peak_rss_mib() - rss_before
                second, second_s, second_requests = await _import(uow_factory, server.url_v6)
                tracemalloc.start()
                third, third_s, _ = await _import(uow_factory, server.url_v6)
                heap_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                served = len(server.requests)
            async with uow_factory() as uow:
                in_db = (await uow.session.execute(
                    select(func.count()).select_from(VacancyRow).where(col(VacancyRow.origin) == "ba"))).scalar_one()
            after = await _pages(uow_factory, chat_ids, 20_000_000)
        finally:
            await db.dispose()
    ratio = after["page"]["p95_ms"] / before["page"]["p95_ms"] if before["page"]["p95_ms"] else 0.0
    ranked_ratio = after["ranked_query"]["p95_ms"] / before["ranked_query"]["p95_ms"] \
        if before["ranked_query"]["p95_ms"] else 0.0
    return {
        "listings_served": offers, "users": USERS, "rounds": ROUNDS, "radius_km": RADIUS_KM,
        "today": NOW.date().isoformat(),
        "towns": len(server_towns), "requests_served": served, "offers_in_database": in_db,
        "first_run": {**_figures(first, first_s, first_requests), "peak_rss_growth_mib": round(rss_growth, 1)},
        "second_run": _figures(second, second_s, second_requests),
        "third_run_tracemalloc": {**_figures(third, third_s, 0), "heap_peak_mib": round(heap_peak / 2**20, 1)},
        "before": before, "after": after,
        "page_p95_ratio_after_before": round(ratio, 2), "ranked_query_p95_ratio_after_before": round(ranked_ratio, 2),
    }


def run(offers: int = OFFERS) -> dict[str, Any]:
    return asyncio.run(_run(offers))


def print_table(r: dict[str, Any]) -> None:
    first, second, third = r["first_run"], r["second_run"], r["third_run_tracemalloc"]
    print(f"\nArbeitsagentur import: {r['listings_served']:,} generated listings (fake job search, v6, own thread), "
          f"every cluster of the demo pack, SQLite, pace 0")
    print("| run | s | requests | pages | listings read | created | unchanged | listings/s | memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| first | {first['seconds']} | {first['requests']} | {first['pages']} | {first['listings_read']} | "
          f"{first['created']} | {first['unchanged']} | {first['listings_per_s']} | "
          f"peak RSS +{first['peak_rss_growth_mib']} MiB |")
    print(f"| second (idempotent) | {second['seconds']} | {second['requests']} | {second['pages']} | "
          f"{second['listings_read']} | {second['created']} | {second['unchanged']} | {second['listings_per_s']} | |")
    print(f"| third, under tracemalloc | {third['seconds']} | | {third['pages']} | {third['listings_read']} | "
          f"{third['created']} | {third['unchanged']} | | heap peak {third['heap_peak_mib']} MiB |")
    print(f"searches {first['searches']} (complete {first['complete']}); left out: {first['left_out']}; "
          f"offers in the database: {r['offers_in_database']}")
    print(f"\nSuggestion page, first page, {r['radius_km']} km, {r['users']} users at the region towns, "
          f"{r['rounds']} pages each")
    print("| measure | before p50 ms | before p95 ms | after p50 ms | after p95 ms | p95 after/before |")
    print("|---|---|---|---|---|---|")
    for key, label, ratio in (("page", "page through the engine", r["page_p95_ratio_after_before"]),
                              ("ranked_query", "ranking query alone", r["ranked_query_p95_ratio_after_before"])):
        b, a = r["before"][key], r["after"][key]
        print(f"| {label} | {b['p50_ms']} | {b['p95_ms']} | {a['p50_ms']} | {a['p95_ms']} | {ratio} |")
    print(f"offers in reach (median): before {r['before']['offers_in_reach_median']}, "
          f"after {r['after']['offers_in_reach_median']}")


def main(out: Path = OUT, offers: int = OFFERS) -> dict[str, Any]:
    return run_and_save("import_bench", lambda: run(offers), print_table, out)


if __name__ == "__main__":
    main()
