"""The engine on real SQLite: many users at once, no lock errors, nothing lost."""
from __future__ import annotations

import asyncio
from typing import TypedDict

import pytest

from content import default_directory
from flows.core.model import Event, EventKind, UserRef
from flows.wiring import build_engine
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock


class Move(TypedDict, total=False):
    """What a user does in one update (the fields of an Event besides user and update_id)."""

    kind: EventKind
    text: str
    data: str


async def test_fifty_users_onboarding_at_once(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    engine = build_engine(uow_factory, default_directory(), clock)
    moves = [Move(kind=EventKind.COMMAND, text="start"), Move(kind=EventKind.BUTTON, data="ob:role:parent"),
             Move(kind=EventKind.TEXT, text="02826"), Move(kind=EventKind.BUTTON, data="ob:place_confirm:yes")]

    async def user(chat_id: int) -> list[str]:
        keys: list[str] = []
        for n, move in enumerate(moves):
            event = Event(user=UserRef(channel="telegram", chat_id=chat_id), update_id=chat_id * 10 + n, **move)
            keys += [r.key for r in (await engine.handle(event)).replies]
            await engine.mark_answered(event)
        return keys

    results = await asyncio.gather(*(user(1000 + i) for i in range(50)))
    assert all(keys[-1] == "menu.main" for keys in results)
    async with uow_factory() as uow:
        profiles = [await uow.users.get("telegram", 1000 + i) for i in range(50)]
    assert all(p is not None and p.plz == "02826" and p.onboarded for p in profiles)


@pytest.mark.sqlite_only("SQLite's one writer is taken in turns per process; PostgreSQL has no such turn "
                         "and nests: the test below")
async def test_nested_unit_of_work_fails_fast_instead_of_hanging(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory():
        with pytest.raises(RuntimeError, match="nested"):
            async with uow_factory():
                pass


@pytest.mark.postgres_only("the counterpart of the nested unit of work on SQLite above")
async def test_a_nested_unit_of_work_on_postgres_neither_hangs_nor_fails(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with asyncio.timeout(10), uow_factory():
        async with uow_factory() as inner:
            assert await inner.users.get("telegram", 1) is None


async def test_replies_a_crash_kept_from_going_out_are_found_for_resending(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    engine = build_engine(uow_factory, default_directory(), clock)
    since = clock.now()
    sent = Event(user=UserRef(channel="telegram", chat_id=7), kind=EventKind.COMMAND, text="start", update_id=70)
    lost = Event(user=UserRef(channel="telegram", chat_id=8), kind=EventKind.COMMAND, text="start", update_id=80)
    await engine.handle(sent)
    await engine.mark_answered(sent)
    stored = await engine.handle(lost)  # ... and the process dies before the replies go out

    [(event, outcome)] = await engine.unanswered("telegram", since)
    assert (event.user.chat_id, event.update_id) == (8, 80)
    assert [r.key for r in outcome.replies] == [r.key for r in stored.replies] and outcome.locale == "de"
    assert await engine.unanswered("email", since) == []
    await engine.mark_answered(event)
    assert await engine.unanswered("telegram", since) == []
