"""Database engine and sessions. SQLite gets WAL, foreign keys and a busy timeout."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much faster commits
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin, not the driver


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: a transaction never has to upgrade a read lock,
    # which SQLite refuses at once ("database is locked") instead of waiting busy_timeout.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_read(connection: Any) -> None:
    # A deferred transaction that only reads: a snapshot under WAL that never blocks the writer.
    connection.exec_driver_sql("BEGIN")


def create_engine(url: str, read_only: bool = False, **kwargs: Any) -> AsyncEngine:
    """read_only: for reports (the cockpit's pages) that must not hold SQLite's write lock while they
    read; whoever uses it never writes."""
    if make_url(url).get_backend_name() == "postgresql":
        # JIT compiles the plan of every costly-looking query (the search's full-text parts: 15 ms of a
        # 60 ms search); short transactions like ours never win that back.
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("server_settings", {}).setdefault("jit", "off")
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_read if read_only else _sqlite_begin)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


# Keys of PostgreSQL advisory locks: jobs that must not run twice at once across processes.
MIGRATIONS_LOCK = 7_240_001
CONTENT_LOAD_LOCK = 7_240_002
SEND_BUDGET_LOCK = 7_240_003  # one send-budget decision at a time (the function send_budget_take, migration 0015)


async def hold_until_commit(session: AsyncSession, key: int) -> None:
    """Waits for and holds a database-wide lock until the transaction ends (PostgreSQL's advisory
    transaction lock). SQLite needs none: its one writer at a time already serialises (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
