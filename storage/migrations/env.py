"""Alembic environment: runs migrations on the async engine given by storage.migrate."""
from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from storage.db import MIGRATIONS_LOCK, create_engine, is_sqlite
from storage.schema import include_name  # (importing it registers every table on SQLModel.metadata)

config = context.config
MIGRATION_WAIT_MS = 120_000
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True, include_name=include_name)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several containers starting at once: one migrates, the others wait and then find the
            # schema current (Alembic reads the version after the lock).
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATIONS_LOCK})")
        context.run_migrations()


def _wait_longer_for_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    if is_sqlite(url):
        # Another upgrade may hold the database for a while; wait for it longer than an update would.
        event.listen(engine.sync_engine, "connect", _wait_longer_for_sqlite)
    # One transaction around the whole upgrade, begun before Alembic reads the version: Alembic would
    # otherwise commit each step on SQLite (no "transactional DDL" there), and a second process starting
    # at once could read the version between two steps and create a table again. On SQLite this begin
    # is BEGIN IMMEDIATE (storage.db), so a second upgrade waits; SQLite's DDL is transactional anyway.
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_offline(url: str) -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


url = config.get_main_option("sqlalchemy.url") or ""
if context.is_offline_mode():
    run_offline(url)
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async(url))
