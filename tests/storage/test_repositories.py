"""Repositories and unit of work on a real database (SQLite, or PostgreSQL with TEST_DATABASE)."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from flows.core.model import ConsentRecord, ConversationState, Profile, Reply
from flows.core.ports import StaleState
from storage.db import create_engine
from storage.uow import SqlUnitOfWorkFactory


@pytest.mark.sqlite_only("WAL is SQLite's; on PostgreSQL MVCC does the same: the test below")
async def test_sqlite_runs_in_wal_mode(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        mode = (await uow._session.execute(text("PRAGMA journal_mode"))).scalar()  # type: ignore[union-attr]
    assert mode == "wal"


@pytest.mark.postgres_only("what WAL gives SQLite (the test above): readers never wait for a writer")
async def test_a_reader_does_not_wait_for_an_open_write_and_does_not_see_it(
        db_url: str, uow_factory: SqlUnitOfWorkFactory) -> None:
    reader = create_engine(db_url, read_only=True)
    try:
        async with uow_factory() as uow:
            await uow.users.save(Profile(channel="telegram", chat_id=5, created_at=datetime.now(UTC)))
            async with asyncio.timeout(10), reader.connect() as connection:  # returns at once: no lock taken
                seen = (await connection.execute(text("SELECT count(*) FROM users"))).scalar_one()
            assert seen == 0
            await uow.commit()
    finally:
        await reader.dispose()


async def test_profile_round_trip_and_unique_per_chat(uow_factory: SqlUnitOfWorkFactory) -> None:
    now = datetime(2027, 1, 5, 10, tzinfo=UTC)
    async with uow_factory() as uow:
        saved = await uow.users.save(Profile(channel="telegram", chat_id=10**12, role="teen", age_band="u16",
                                             plz="02708", place="Löbau", created_at=now, last_seen_at=now))
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.users.get("telegram", 10**12)
    assert loaded is not None and loaded.id == saved.id
    assert (loaded.place, loaded.created_at) == ("Löbau", now)  # big chat ids, aware UTC times
    assert await _get(uow_factory, "console", 10**12) is None


async def _get(uow_factory: SqlUnitOfWorkFactory, channel: str, chat_id: int) -> Profile | None:
    async with uow_factory() as uow:
        return await uow.users.get(channel, chat_id)


async def test_nothing_is_stored_without_commit(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.users.save(Profile(channel="telegram", chat_id=1, created_at=datetime.now(UTC)))
    assert await _get(uow_factory, "telegram", 1) is None


async def test_conversation_versions_refuse_a_stale_write(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=2, created_at=datetime.now(UTC)))
        assert user.id is not None
        await uow.conversations.save(user.id, ConversationState(flow="onboarding", step="role"))
        await uow.commit()
    async with uow_factory() as first:
        a = await first.conversations.get(user.id)
    async with uow_factory() as second:  # another worker read the same version
        b = await second.conversations.get(user.id)
    async with uow_factory() as first:
        await first.conversations.save(user.id, a.model_copy(update={"step": "age"}))
        await first.commit()
    async with uow_factory() as second:
        with pytest.raises(StaleState):
            await second.conversations.save(user.id, b.model_copy(update={"step": "place"}))
    async with uow_factory() as uow:
        state = await uow.conversations.get(user.id)
    assert (state.step, state.version) == ("age", 2)


async def test_delete_removes_profile_conversation_and_consents(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=3, created_at=datetime.now(UTC)))
        assert user.id is not None
        await uow.conversations.save(user.id, ConversationState(flow="menu"))
        await uow.consents.add(user.id, ConsentRecord(purpose="lead", text_version="v1", given_by="parent",
                                                      recipients=["a"], given_at=datetime.now(UTC)))
        await uow.commit()
    async with uow_factory() as uow:
        assert len(await uow.consents.list_for_user(user.id)) == 1
        await uow.users.delete(user.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.get("telegram", 3) is None
        assert await uow.consents.list_for_user(user.id) == []
        assert (await uow.conversations.get(user.id)).version == 0


async def test_processed_updates_keep_replies_until_answered(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.updates.add("telegram", 77, [Reply(key="menu.main")], "en", True)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.updates.get("telegram", 77)
        assert stored is not None and not stored.answered and stored.formal and stored.locale == "en"
        assert stored.replies is not None and [r.key for r in stored.replies] == ["menu.main"]
        await uow.updates.mark_answered("telegram", 77)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.updates.get("telegram", 77)
        assert stored is not None and stored.answered and stored.replies is None
        assert await uow.updates.get("console", 77) is None
