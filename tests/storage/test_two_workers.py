"""Issue 14: two workers (two engines with their own database connections, as two processes) on one
database: an update delivered to both is handled and answered once; a new person's first updates in
both at once create one profile and no error."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from content import DEMO_DIR, default_directory, load_pack
from flows.core.engine import Engine, Outcome
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


async def test_one_chats_updates_in_two_workers_are_handled_in_order(
        workers: list[tuple[Engine, SqlUnitOfWorkFactory]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram redelivered a slow update to another worker, got its 200 and sent the chat's next update
    there while the first worker was still at it: the next one waits for it (issue 14)."""
    (first, _), (second, factory) = workers
    release = asyncio.Event()
    paused = asyncio.Event()
    handle_for_real = first._process

    async def slow_process(event: Event) -> Outcome:  # the first worker is slow (claimed, not yet handled)
        paused.set()
        await release.wait()
        return await handle_for_real(event)

    monkeypatch.setattr(first, "_process", slow_process)
    for n in range(5):
        chat, update = 500 + n, 9000 + 10 * n
        for step, (kind, text_or_data) in enumerate(
                [(EventKind.COMMAND, "start"), (EventKind.BUTTON, "ob:role:teen")]):
            fields = {"text": text_or_data} if kind is not EventKind.BUTTON else {"data": text_or_data}
            await second.handle(Event(user=UserRef(channel="telegram", chat_id=chat), kind=kind,
                                      update_id=update + step, **fields))  # type: ignore[arg-type]
        age = Event(user=UserRef(channel="telegram", chat_id=chat), kind=EventKind.BUTTON, data="ob:age:u16",
                    update_id=update + 2)
        postcode = Event(user=UserRef(channel="telegram", chat_id=chat), kind=EventKind.TEXT, text="02708",
                         update_id=update + 3)
        paused.clear()
        release.clear()
        slow = asyncio.create_task(first.handle(age))
        await asyncio.wait_for(paused.wait(), 10)  # the age press is claimed, its handling under way
        next_one = asyncio.create_task(second.handle(postcode))
        done, _ = await asyncio.wait({next_one}, timeout=0.5)
        assert not done  # waits for the earlier update instead of answering the postcode first
        release.set()
        age_outcome, postcode_outcome = await asyncio.wait_for(asyncio.gather(slow, next_one), 20)
        assert [r.key for r in age_outcome.replies] == ["onboarding.ask_place"]
        assert [r.key for r in postcode_outcome.replies] == ["onboarding.choose_place"]  # 02708: Löbau and villages
        async with factory() as uow:
            profile = await uow.users.get("telegram", chat)
            assert profile is not None and profile.age_band == "u16"


async def test_a_chats_replies_go_out_in_order_whichever_worker_sends_them(
        workers: list[tuple[Engine, SqlUnitOfWorkFactory]]) -> None:
    (first, _), (second, _) = workers
    chat = 700
    start = _start(chat, 9500)
    role = Event(user=UserRef(channel="telegram", chat_id=chat), kind=EventKind.BUTTON, data="ob:role:teen",
                 update_id=9501)
    await first.handle(start)  # handled; its replies not sent yet (the first worker is slow to send)
    role_outcome = await second.handle(role)
    sending = asyncio.create_task(second.turn_to_send(role, role_outcome))
    done, _ = await asyncio.wait({sending}, timeout=0.5)
    assert not done  # the answer to the press waits for the greeting
    await first.mark_answered(start)
    await asyncio.wait_for(sending, 10)
    other_chat = _start(chat + 1, 9502)
    await second.turn_to_send(other_chat, await second.handle(other_chat))  # another chat never waits for this one
