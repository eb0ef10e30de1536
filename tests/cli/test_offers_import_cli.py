"""`lotse offers import ba`: the real command against the fake job search on 127.0.0.1 (in a thread)."""
from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import select
from sqlmodel import col

from flows.core.clock import SystemClock
from storage.db import create_engine, session_factory
from storage.tables import VacancyRow
from storage.uow import SqlUnitOfWorkFactory
from tests.cli.conftest import Lotse
from tests.fakes.ba_server import FakeJobBoard, FakeListing, renamed

HALLE = FakeListing(ref="10000-2000000001-S", title="Ausbildung Mechatroniker/in 2027", employer="Saale Robotik GmbH",
                    beruf="Mechatroniker/in", kind="ausbildung", plz="06108", place="Halle (Saale)", lat=51.4828,
                    lon=11.97, start=date(2027, 8, 1), published=date(2026, 11, 2))


async def _imported(db: str) -> list[str]:
    engine = create_engine(db)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            return list((await uow.session.execute(select(col(VacancyRow.slug)).where(
                col(VacancyRow.origin) == "ba", col(VacancyRow.archived).is_(False)))).scalars().all())
    finally:
        await engine.dispose()


def test_import_with_progress_dry_run_region_and_a_changed_interface(lotse: Lotse) -> None:
    assert lotse("db", "upgrade").returncode == 0
    assert lotse("content", "load").returncode == 0
    with FakeJobBoard([HALLE]) as server:
        env = {"BA_API_URL": server.url_v6, "BA_IMPORT_PACE_SECONDS": "0"}
        unknown = lotse("offers", "import", "ba", "--region", "atlantis", env=env)
        assert unknown.returncode == 2 and "atlantis" in unknown.stderr
        dry = lotse("offers", "import", "ba", "--region", "tab-mint", "--dry-run", env=env)
        assert dry.returncode == 0, dry.stderr
        assert "1 would be imported" in dry.stdout and asyncio.run(_imported(lotse.database_url)) == []
        done = lotse("offers", "import", "ba", "--region", "tab-mint", env=env)
        assert done.returncode == 0, done.stderr
        assert "offers: 1 new" in done.stdout and "Suche 64/64" in done.stderr  # progress, without a terminal
        assert asyncio.run(_imported(lotse.database_url)) == ["ba-10000-2000000001-s"]
        server.then(renamed())
        changed = lotse("offers", "import", "ba", "--region", "tab-mint", env=env)
    assert changed.returncode == 1 and "stopped" in changed.stderr and "BA_API_URL" in changed.stderr
    assert asyncio.run(_imported(lotse.database_url)) == ["ba-10000-2000000001-s"]  # nothing archived


def test_a_wrong_ba_api_url_is_a_configuration_error(lotse: Lotse) -> None:
    broken = lotse("offers", "import", "ba", env={"BA_API_URL": "http://jobs.example.org/pc/v6/jobs"})
    assert broken.returncode == 2 and "BA_API_URL" in broken.stderr.upper()
