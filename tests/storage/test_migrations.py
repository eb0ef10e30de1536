"""Migrations: `lotse db upgrade` creates the schema; the app refuses an unmigrated database."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import NotMigrated, ensure_migrated
from storage.migrate import head_revision, is_up_to_date, upgrade


async def test_fresh_database_is_refused_with_a_hint(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    with pytest.raises(NotMigrated, match="lotse db upgrade"):
        await ensure_migrated(url)


async def test_upgrade_reaches_head_and_is_repeatable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(upgrade, url)
    assert await is_up_to_date(url)
    assert head_revision() is not None
    await ensure_migrated(url)


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    """A table change without a migration is caught here (autogenerate finds nothing to do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    from storage.schema import include_name

    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"include_name": include_name}),
                                SQLModel.metadata)
    engine.dispose()
    assert diff == []
