"""Loading the content pack: upsert by slug, idempotent, archive instead of delete."""
from __future__ import annotations

import dataclasses

from sqlalchemy import ColumnExpressionArgument, func, select
from sqlmodel import SQLModel, col

from content import DEMO_DIR, default_directory, load_pack
from storage.content_sync import sync_pack
from storage.tables import ClusterRow, EventRow, VacancyRow
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())


async def _count(uow_factory: SqlUnitOfWorkFactory, table: type[SQLModel],
                 *where: ColumnExpressionArgument[bool]) -> int:
    async with uow_factory.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_first_load_creates_everything_second_changes_nothing(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    first = await sync_pack(uow_factory, PACK, clock)
    assert first.created["vacancies"] == len(PACK.vacancies) and first.changed
    clock.advance(days=1)
    second = await sync_pack(uow_factory, PACK, clock)
    assert not second.changed and second.unchanged["events"] == len(PACK.events)
    async with uow_factory.sessions() as session:
        stamps = set((await session.execute(select(col(VacancyRow.updated_at)))).scalars())
    assert len(stamps) == 1  # nothing was rewritten on the second load


async def test_removed_entries_are_archived_and_come_back_when_restored(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    smaller = dataclasses.replace(PACK, vacancies=PACK.vacancies[1:], events=PACK.events[:-2])
    report = await sync_pack(uow_factory, smaller, clock)
    assert report.archived == {"clusters": 0, "professions": 0, "companies": 0, "vacancies": 1, "events": 2,
                               "quiz": 0, "faq": 0}
    assert await _count(uow_factory, VacancyRow) == len(PACK.vacancies)  # rows kept for users' data
    assert await _count(uow_factory, VacancyRow, col(VacancyRow.archived)) == 1
    restored = await sync_pack(uow_factory, PACK, clock)
    assert restored.updated["vacancies"] == 1 and await _count(uow_factory, EventRow, col(EventRow.archived)) == 0


async def test_changed_entry_is_updated_in_place(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    renamed = PACK.clusters[0].model_copy(update={"name": "Neuer Name"})
    report = await sync_pack(uow_factory, dataclasses.replace(PACK, clusters=[renamed, *PACK.clusters[1:]]), clock)
    assert report.updated["clusters"] == 1 and report.created["clusters"] == 0
    assert await _count(uow_factory, ClusterRow, col(ClusterRow.name) == "Neuer Name") == 1


async def test_content_reader_gives_cluster_regions(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        clusters = await uow.content.clusters()
        assert {c.slug for c in clusters} == {c.slug for c in PACK.clusters}
        assert all(c.towns and c.districts for c in clusters)
        assert await uow.content.cluster("gibt-es-nicht") is None
