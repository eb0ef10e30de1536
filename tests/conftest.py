"""Shared fixtures: a migrated database per test, copied from one migrated template: a SQLite file
(the default) or a PostgreSQL database (`TEST_DATABASE=postgresql`, see tests/databases.py)."""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests import databases
from tests.fakes import TOKEN, FakeBotApi
from tests.unit.fakes import SteppableClock

_SERVER_DIR: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Markers for what only one backend has; on PostgreSQL without TEST_POSTGRES_URL: one throwaway
    server for the whole run, started by the main process before the workers (they inherit the URL)."""
    global _SERVER_DIR
    config.addinivalue_line("markers", "sqlite_only(why): a behaviour only SQLite has (WAL, its writer lock); "
                                       "the reason names the PostgreSQL counterpart")
    config.addinivalue_line("markers", "postgres_only(why): a behaviour only PostgreSQL has")
    if databases.ON_POSTGRES and not os.environ.get("TEST_POSTGRES_URL") and not hasattr(config, "workerinput"):
        from tests import postgres_server

        _SERVER_DIR = Path(tempfile.mkdtemp(prefix="lotse-pg-"))
        os.environ["TEST_POSTGRES_URL"] = postgres_server.start(_SERVER_DIR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A backend's own tests run in that backend's run only (deselected, not skipped, in the other)."""
    other = "sqlite_only" if databases.ON_POSTGRES else "postgres_only"
    kept = [item for item in items if item.get_closest_marker(other) is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker(other) is not None])
        items[:] = kept


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SERVER_DIR is not None:
        from tests import postgres_server

        postgres_server.stop(_SERVER_DIR)
        shutil.rmtree(_SERVER_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite: the path of a migrated file; PostgreSQL: the name of a migrated database."""
    if databases.ON_POSTGRES:
        name = databases.create_database()
        upgrade(databases.database_url(name))
        yield name
        databases.drop_database(name)
        return
    path = tmp_path_factory.mktemp("template") / "lotse.db"
    upgrade(databases.sqlite_url(path))
    yield str(path)


@pytest.fixture
def new_database_url(tmp_path: Path, migrated_template: str) -> Iterator[Callable[[], str]]:
    """Makes migrated databases for this test (a process under test, a second one): each call a new one."""
    made: list[str] = []

    def make() -> str:
        if databases.ON_POSTGRES:
            name = databases.create_database(template=migrated_template)
            made.append(name)
            return databases.database_url(name)
        path = tmp_path / f"lotse-{len(made)}.db"
        made.append(str(path))
        shutil.copy(migrated_template, path)
        return databases.sqlite_url(path)

    yield make
    if databases.ON_POSTGRES:
        for name in made:
            databases.drop_database(name)


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database no migration has touched yet: a SQLite file not there yet, or a new PostgreSQL database."""
    if not databases.ON_POSTGRES:
        yield databases.sqlite_url(tmp_path / "empty.db")
        return
    name = databases.create_database()
    try:
        yield databases.database_url(name)
    finally:
        databases.drop_database(name)


@pytest.fixture
def db_url(new_database_url: Callable[[], str]) -> str:
    return new_database_url()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    """The fake Bot API on 127.0.0.1, in its own thread (for a `lotse` process under test)."""
    fake = FakeBotApi(TOKEN)
    fake.start_in_thread()
    try:
        yield fake
    finally:
        fake.stop_in_thread()


@pytest.fixture
def clock() -> SteppableClock:
    return SteppableClock()


@pytest.fixture
def uow_factory(db: AsyncEngine, clock: SteppableClock) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(session_factory(db), clock)


@pytest.fixture
def run_sync() -> Callable[..., Awaitable[Any]]:
    return asyncio.to_thread
