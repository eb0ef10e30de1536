"""Migrations: `lotse db upgrade` creates the schema; the app refuses an unmigrated database. On the
suite's backend: a new SQLite file, or a new, empty PostgreSQL database (TEST_DATABASE=postgresql)."""
from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.app import NotMigrated, ensure_migrated
from storage.db import create_engine
from storage.migrate import alembic_config, current_revision, head_revision, is_up_to_date, upgrade


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_fresh_database_is_refused_with_a_hint(empty_database_url: str) -> None:
    with pytest.raises(NotMigrated, match="lotse db upgrade"):
        await ensure_migrated(empty_database_url)


async def test_upgrade_reaches_head_and_is_repeatable(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    await asyncio.to_thread(upgrade, empty_database_url)
    assert await is_up_to_date(empty_database_url)
    assert head_revision() is not None
    await ensure_migrated(empty_database_url)


async def test_downgrade_to_nothing_and_upgrade_again(empty_database_url: str) -> None:
    """Every migration's downgrade runs on this backend, and upgrade rebuilds the same schema after it."""
    await asyncio.to_thread(upgrade, empty_database_url)
    migrated = await _tables(empty_database_url)
    await asyncio.to_thread(command.downgrade, alembic_config(empty_database_url), "base")
    assert await current_revision(empty_database_url) is None
    assert await _tables(empty_database_url) <= {"alembic_version"}
    await asyncio.to_thread(upgrade, empty_database_url)
    assert await is_up_to_date(empty_database_url)
    assert await _tables(empty_database_url) == migrated


async def test_models_and_migrations_agree(empty_database_url: str) -> None:
    """A table change without a migration is caught here (autogenerate finds nothing to do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from storage.schema import include_name

    await asyncio.to_thread(upgrade, empty_database_url)
    engine = create_engine(empty_database_url)

    def compare(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection, opts={"include_name": include_name}),
                                     SQLModel.metadata))
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(compare)
    finally:
        await engine.dispose()
    assert diff == []
