"""The database the suite runs on: SQLite (the default) or PostgreSQL (`TEST_DATABASE=postgresql`).

On PostgreSQL every test gets its own database, created from a migrated template (`CREATE DATABASE …
TEMPLATE`, a file copy) on the server at TEST_POSTGRES_URL, or on a throwaway server the test session
starts itself (tests/postgres_server.py) when that is not set. Tests that need a database URL (for the
real `lotse` process, two engines of "two processes") ask `new_database_url`; they never name a backend.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import create_engine

BACKEND = os.environ.get("TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
if BACKEND not in ("sqlite", "postgresql"):
    raise SystemExit(f"TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")
ON_POSTGRES = BACKEND == "postgresql"


def server_url() -> str:
    """The PostgreSQL server's URL (its `postgres` database), from TEST_POSTGRES_URL."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        raise RuntimeError("TEST_POSTGRES_URL is not set (tests/conftest.py starts a server when it is missing)")
    return url


def database_url(name: str) -> str:
    return make_url(server_url()).set(database=name).render_as_string(hide_password=False)


def psql(sql: str, database: str = "postgres") -> str:
    """Runs administrative SQL (CREATE/DROP DATABASE) with Debian's psql: no event loop needed."""
    url = make_url(database_url(database))
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    done = subprocess.run(["psql", "-X", "-q", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(url.host),
                           "-p", str(url.port or 5432), "-U", str(url.username), "-d", database, "-c", sql],
                          env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    return done.stdout.strip()


def create_database(template: str | None = None) -> str:
    """A new, empty (or template-copied) PostgreSQL database; returns its name."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    psql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def drop_database(name: str) -> None:
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """A query's rows, from plain (synchronous) test code, on either backend: for tests that look into
    the database of a `lotse` process. Runs in its own thread and event loop."""
    async def fetch() -> list[tuple[Any, ...]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return [tuple(row) for row in (await connection.execute(text(sql), params)).all()]
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, fetch()).result(timeout=60)


def execute(url: str, sql: str, **params: Any) -> None:
    """A write, committed (tests that set up or tamper with a process's database)."""
    async def run() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(sql), params)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=60)
