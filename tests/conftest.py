"""Shared fixtures: a migrated SQLite database per test (copied from one migrated template)."""
from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "lotse.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def db_path(tmp_path: Path, migrated_template: Path) -> Path:
    path = tmp_path / "lotse.db"
    shutil.copy(migrated_template, path)
    return path


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite+aiosqlite:///{db_path}"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> SteppableClock:
    return SteppableClock()


@pytest.fixture
def uow_factory(db: AsyncEngine, clock: SteppableClock) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(session_factory(db), clock)


@pytest.fixture
def run_sync() -> Callable[..., Awaitable[Any]]:
    return asyncio.to_thread
