"""Issue 14: two workers (two engines with their own database connections, as two processes) on one
database: an update delivered to both is handled and answered once; a new person's first updates in
both at once create one profile and no error."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from content import DEMO_DIR, default_directory, load_pack
from flows.core.engine import Engine
from flows.core.model import Event, EventKind, UserRef
from flows.wiring import build_engine
from storage.content_sync import sync_pack
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock


@pytest.fixture
async def workers(db_url: str, clock: SteppableClock) -> AsyncIterator[list[tuple[Engine, SqlUnitOfWorkFactory]]]:
    engines = [create_engine(db_url) for _ in range(2)]
    factories = [SqlUnitOfWorkFactory(session_factory(e), clock) for e in engines]
    await sync_pack(factories[0], load_pack(DEMO_DIR, default_directory()), clock)
    yield [(build_engine(f, default_directory(), clock), f) for f in factories]
    for engine in engines:
        await engine.dispose()


def _start(chat_id: int, update_id: int) -> Event:
    return Event(user=UserRef(channel="telegram", chat_id=chat_id), kind=EventKind.COMMAND, text="start",
                 update_id=update_id)


async def test_an_update_delivered_to_two_workers_is_answered_by_one(
        workers: list[tuple[Engine, SqlUnitOfWorkFactory]]) -> None:
    (first, _), (second, _) = workers
    for n in range(20):
        event = _start(100 + n, 5000 + n)
        outcomes = await asyncio.gather(first.handle(event), second.handle(event))
        answered = [o for o in outcomes if o.replies]
        assert len(answered) == 1, outcomes  # the other worker sends nothing
        assert [o.duplicate for o in outcomes].count(True) == 1


async def test_a_new_persons_first_updates_in_two_workers_make_one_profile_and_no_error(
        workers: list[tuple[Engine, SqlUnitOfWorkFactory]]) -> None:
    (first, factory), (second, _) = workers
    for n in range(10):
        chat = 300 + n
        hello = Event(user=UserRef(channel="telegram", chat_id=chat), kind=EventKind.TEXT, text="hallo",
                      update_id=7000 + 2 * n + 1)
        outcomes = await asyncio.gather(first.handle(_start(chat, 7000 + 2 * n)), second.handle(hello))
        assert all(o.replies and o.replies[0].key != "error.apology" for o in outcomes), outcomes
        async with factory() as uow:
            assert await uow.users.get("telegram", chat) is not None


def test_the_fixture_names_no_backend(new_database_url: Callable[[], str]) -> None:
    assert new_database_url() != new_database_url()  # each call: a database of its own
