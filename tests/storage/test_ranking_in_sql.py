"""The SQL ranking of offers gives exactly the order of flows.domain.matching.rank_vacancies."""
from __future__ import annotations

from datetime import date

import pytest

from content import DEMO_DIR, default_directory, load_pack
from flows.domain.matching import rank_spec, rank_vacancies
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import PROFESSIONS, SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())
PROFILES = {p.slug: p.riasec for p in PROFESSIONS}


@pytest.mark.parametrize("home,radius,kind,profession,interests,level,today", [
    ((51.1503, 14.9829), 25, None, None, None, None, date(2027, 1, 15)),  # Görlitz, no quiz yet
    ((51.0994, 14.6674), 50, "ausbildung", None, {"R": 0.9, "I": 0.4, "S": 0.1}, 2, date(2027, 3, 1)),
    ((51.4828, 11.9697), 100, None, None, {"S": 1.0, "C": 0.5}, 1, date(2027, 6, 1)),  # Halle
    ((51.1814, 14.4242), 100, "praktikum", None, None, 3, date(2027, 1, 15)),
    ((51.1814, 14.4242), 150, None, "maurer-in", {"R": 1.0}, None, date(2027, 8, 20)),  # some started
])
async def test_sql_and_python_rank_the_same(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, home: tuple[float, float], radius: float,
        kind: str | None, profession: str | None, interests: dict[str, float] | None, level: int | None,
        today: date) -> None:
    await sync_pack(uow_factory, PACK, clock)
    spec = rank_spec(home[0], home[1], radius, today, kind, profession, interests, PROFILES, level)
    async with uow_factory() as uow:
        everything = await uow.vacancies.candidates((-90, 90, -180, 180), None, None)
        total, page = await uow.vacancies.ranked(spec, 0, 1000)
        total2, second = await uow.vacancies.ranked(spec, 1, 1)
    expected = rank_vacancies(everything, spec)
    assert total == len(expected) > 1 and [r.slug for r in page] == [r.slug for r in expected]
    assert all(abs(a.score - b.score) < 1e-9 for a, b in zip(page, expected))
    assert total2 == total and (second[0].slug == expected[1].slug if total > 1 else second == [])
