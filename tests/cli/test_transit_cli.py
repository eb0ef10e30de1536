"""`lotse transit load | info | plan`: the real command reads GTFS feeds into the network file, or refuses a broken
feed and leaves the loaded network as it was; then plans the commutes into the database."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.commute_job import LEASE
from storage.db import create_engine, session_factory
from storage.leases import Leases
from tests.cli.conftest import Lotse
from tests.storage.test_commutes import feed as lausitz_feed
from tests.unit.test_gtfs_feeds import small_feed


def test_load_info_licence_and_a_broken_feed(lotse: Lotse, tmp_path: Path) -> None:
    target = tmp_path / "net" / "transit.network"
    env = {"TRANSIT_FILE": str(target)}
    assert "no network loaded" in lotse("transit", "info", env=env).stdout
    feed = small_feed(tmp_path / "lausitz.zip")
    bad_licence = lotse("transit", "load", str(feed), "--licence", "no-equals-sign", env=env)
    assert bad_licence.returncode == 2 and "FEED=TEXT" in bad_licence.stderr
    loaded = lotse("transit", "load", str(feed), "--licence", "lausitz=CC BY 4.0, Beispielverbund", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "stops" in loaded.stdout and target.is_file() and "stop_times.txt" in loaded.stderr  # progress per file
    info = lotse("transit", "info", env=env)
    assert info.returncode == 0 and "lausitz" in info.stdout and "CC BY 4.0, Beispielverbund" in info.stdout
    before = target.read_bytes()
    broken = small_feed(tmp_path / "kaputt.zip", stop_times=[("T1", "A", "07:00:00", None),
                                                             ("T1", "B", "06:10:00", None)])
    refused = lotse("transit", "load", str(broken), env=env)
    assert refused.returncode == 1 and "stop_times.txt" in refused.stderr and "unchanged" in refused.stderr
    assert target.read_bytes() == before  # the loaded network stays as it was
    assert lotse("transit", "load", str(tmp_path / "missing.zip"), env=env).returncode == 2


def test_plan_the_commutes_and_see_them_in_info(lotse: Lotse, tmp_path: Path) -> None:
    env = {"TRANSIT_FILE": str(tmp_path / "transit.network")}
    assert lotse("db", "upgrade").returncode == 0
    assert lotse("content", "load").returncode == 0
    nothing = lotse("transit", "plan", env=env)
    assert nothing.returncode == 1 and "no network loaded" in nothing.stderr
    feed = lausitz_feed(tmp_path / "lausitz.zip", until="20991231")  # valid whenever the test runs
    assert lotse("transit", "load", str(feed), env=env).returncode == 0
    assert "commutes: not planned yet" in lotse("transit", "info", env=env).stdout
    planned = lotse("transit", "plan", env=env, timeout=300)
    assert planned.returncode == 0, planned.stderr
    assert "home areas" in planned.stdout and "with a connection by 08:00" in planned.stdout
    assert "Ziele geplant" in planned.stderr  # progress, a line per tenth in a pipe
    assert "commutes: planned for" in lotse("transit", "info", env=env).stdout
    again = lotse("transit", "plan", env=env)
    assert again.returncode == 0 and "up to date" in again.stdout
    asyncio.run(_hold_plan_lease(lotse.database_url))  # another machine plans right now
    busy = lotse("transit", "plan", "--full", env=env)
    assert busy.returncode == 3 and "being planned already" in busy.stderr


async def _hold_plan_lease(url: str) -> None:
    db = create_engine(url)
    try:
        await Leases(session_factory(db)).acquire(LEASE, "elsewhere:1", datetime.now(UTC), timedelta(minutes=10))
    finally:
        await db.dispose()
