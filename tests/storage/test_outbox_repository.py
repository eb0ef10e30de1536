"""The outbox on a real database (SQLite, or PostgreSQL with TEST_DATABASE): one message per key,
atomic claims across engines, leases."""
from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from flows.core.model import Button, Document, Profile, Reply, UserRef
from flows.delivery.outbox import OutboxMessage, OutboxStatus
from flows.jobs.retention import purge
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def message(chat: int, n: int, *, due: datetime = NOW, channel: str = "telegram", key: str | None = None,
            reply: Reply | None = None) -> OutboxMessage:
    return OutboxMessage(recipient=UserRef(channel=channel, chat_id=chat),
                         reply=reply or Reply(key="test.reminder", values={"n": n}), due_at=due,
                         idempotency_key=key or f"test:{chat}:{n}")


async def enqueue(uow_factory: SqlUnitOfWorkFactory, *messages: OutboxMessage) -> list[bool]:
    async with uow_factory() as uow:
        created = [await uow.outbox.enqueue(m) for m in messages]
        await uow.commit()
    return created


async def claim(uow_factory: SqlUnitOfWorkFactory, now: datetime = NOW, limit: int = 100,
                lease: float = 60, channel: str = "telegram", chat_id: int | None = None) -> list[OutboxMessage]:
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(now, limit, lease, channel, chat_id)
        await uow.commit()
    return claimed


async def stored(uow_factory: SqlUnitOfWorkFactory, key: str) -> OutboxMessage:
    async with uow_factory() as uow:
        found = await uow.outbox.get(key)
    assert found is not None
    return found


async def test_enqueue_is_idempotent_per_key(uow_factory: SqlUnitOfWorkFactory) -> None:
    first = message(1, 1, key="reminder:7d:user42:impuls-cottbus")
    again = message(1, 2, key="reminder:7d:user42:impuls-cottbus")
    assert await enqueue(uow_factory, first) == [True]
    assert await enqueue(uow_factory, again, message(1, 3)) == [False, True]  # the flow's transaction goes on
    kept = await stored(uow_factory, "reminder:7d:user42:impuls-cottbus")
    assert kept.reply.values == {"n": 1} and kept.status is OutboxStatus.PENDING
    assert len(await claim(uow_factory)) == 2


async def test_enqueue_belongs_to_the_flows_transaction(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.outbox.enqueue(message(1, 1))  # and then the flow fails: no commit
    assert await claim(uow_factory) == []


async def test_a_message_comes_back_as_it_went_in(uow_factory: SqlUnitOfWorkFactory) -> None:
    reply = Reply(key="events.reminder", values={"title": "Impuls <Cottbus>", "km": 12.5},
                  buttons=[[Button(key="btn.rsvp", data="ev:rsvp:impuls")]],
                  document=Document(filename="impuls.ics", content=b"BEGIN:VCALENDAR\r\n\x00", mime_type="text/calendar"))
    original = message(7, 1, reply=reply).model_copy(update={"locale": "en", "formal": True, "minor": True,
                                                            "expires_at": NOW + timedelta(days=1)})
    await enqueue(uow_factory, original)
    [back] = await claim(uow_factory)
    assert back.reply == reply and back.recipient == UserRef(channel="telegram", chat_id=7)
    assert (back.locale, back.formal, back.minor, back.due_at, back.expires_at) == ("en", True, True, NOW,
                                                                                    NOW + timedelta(days=1))
    assert back.status is OutboxStatus.SENDING and back.attempts == 1 and back.lease_until == NOW + timedelta(minutes=1)


async def test_claim_takes_due_messages_of_one_channel_oldest_first(uow_factory: SqlUnitOfWorkFactory) -> None:
    await enqueue(uow_factory, message(1, 1, due=NOW - timedelta(minutes=1)), message(2, 2, due=NOW - timedelta(hours=1)),
                  message(3, 3, due=NOW + timedelta(seconds=1)), message(1, 4, channel="console"),
                  message(4, 5, due=NOW - timedelta(minutes=30)))
    claimed = await claim(uow_factory, limit=2)
    assert [m.reply.values["n"] for m in claimed] == [2, 5]
    assert [m.reply.values["n"] for m in await claim(uow_factory)] == [1]  # 3 is not due, 4 is another channel
    assert [m.reply.values["n"] for m in await claim(uow_factory, channel="console", chat_id=2)] == []
    assert [m.reply.values["n"] for m in await claim(uow_factory, channel="console", chat_id=1)] == [4]


async def test_two_claimers_on_two_engines_never_get_the_same_row(db_url: str, clock: SteppableClock) -> None:
    keys = [message(chat, 1) for chat in range(1, 301)]
    engines = [create_engine(db_url), create_engine(db_url)]  # like two processes on one file
    try:
        first, second = (SqlUnitOfWorkFactory(session_factory(e), clock) for e in engines)
        await enqueue(first, *keys)

        # Each waits after its first batch until the other has one too: both take part whatever the
        # machine's speed (one could otherwise claim everything before the other's first turn).
        started = [asyncio.Event(), asyncio.Event()]

        async def claimer(factory: SqlUnitOfWorkFactory, me: int) -> list[int]:
            got: list[int] = []
            for _ in range(100):
                batch = await claim(factory, limit=7)
                if not batch:
                    return got
                got += [m.id for m in batch if m.id is not None]
                started[me].set()
                await asyncio.wait_for(started[1 - me].wait(), timeout=30)
            return got

        a, b = await asyncio.gather(claimer(first, 0), claimer(second, 1))
    finally:
        for engine in engines:
            await engine.dispose()
    assert not set(a) & set(b)
    assert len(a) + len(b) == len(set(a) | set(b)) == 300
    assert a and b  # both really took part


async def test_a_crashed_claim_returns_after_its_lease_and_the_old_claim_is_powerless(
        uow_factory: SqlUnitOfWorkFactory) -> None:
    await enqueue(uow_factory, message(1, 1))
    [old] = await claim(uow_factory, lease=60)
    assert await claim(uow_factory, now=NOW + timedelta(seconds=59)) == []  # lease still runs
    [new] = await claim(uow_factory, now=NOW + timedelta(seconds=61))  # the first dispatcher died
    assert new.id == old.id and new.attempts == 2
    async with uow_factory() as uow:
        await uow.outbox.mark_retry(old, NOW, "late answer of the dead claim")  # changes nothing
        await uow.commit()
    assert (await stored(uow_factory, "test:1:1")).status is OutboxStatus.SENDING
    async with uow_factory() as uow:
        await uow.outbox.mark_sent(new)
        await uow.commit()
    assert (await stored(uow_factory, "test:1:1")).status is OutboxStatus.SENT
    assert await claim(uow_factory, now=NOW + timedelta(hours=1)) == []


async def test_defer_retry_fail_and_drop(uow_factory: SqlUnitOfWorkFactory) -> None:
    await enqueue(uow_factory, *(message(1, n) for n in range(1, 5)), message(2, 5))
    claimed = {m.reply.values["n"]: m for m in await claim(uow_factory)}
    later = NOW + timedelta(hours=10)
    async with uow_factory() as uow:
        await uow.outbox.defer(claimed[1], later)
        await uow.outbox.mark_retry(claimed[2], NOW + timedelta(seconds=15), "Bad Gateway")
        await uow.outbox.mark_failed(claimed[3], "Bad Request: chat not found")
        await uow.outbox.mark_sent(claimed[5])
        await uow.commit()
    deferred, retry = await stored(uow_factory, "test:1:1"), await stored(uow_factory, "test:1:2")
    assert (deferred.status, deferred.due_at, deferred.attempts) == (OutboxStatus.PENDING, later, 0)
    assert (retry.status, retry.attempts, retry.last_error) == (OutboxStatus.PENDING, 1, "Bad Gateway")
    assert (await stored(uow_factory, "test:1:3")).status is OutboxStatus.FAILED
    async with uow_factory() as uow:  # user 1 blocked the bot: pending and claimed ones go
        assert await uow.outbox.drop_pending_for("telegram", 1, "blocked") == 3
        assert await uow.outbox.drop_pending_for("telegram", 2) == 0  # already sent
        await uow.commit()
    assert (await stored(uow_factory, "test:1:4")).status is OutboxStatus.DROPPED
    assert (await stored(uow_factory, "test:2:5")).status is OutboxStatus.SENT


async def test_cancel_drops_only_pending_messages(uow_factory: SqlUnitOfWorkFactory) -> None:
    await enqueue(uow_factory, message(1, 1), message(1, 2, due=NOW + timedelta(days=7)))
    await claim(uow_factory)  # 1 is being sent
    async with uow_factory() as uow:
        assert await uow.outbox.cancel(["test:1:1", "test:1:2", "test:9:9"]) == 1
        await uow.commit()
    assert (await stored(uow_factory, "test:1:1")).status is OutboxStatus.SENDING
    assert (await stored(uow_factory, "test:1:2")).status is OutboxStatus.DROPPED


async def test_retention_and_erasure_remove_messages(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=5, created_at=clock.now(),
                                            last_seen_at=clock.now()))
        await uow.commit()
    await enqueue(uow_factory, message(5, 1, due=clock.now()), message(5, 2, due=clock.now() + timedelta(days=60)),
                  message(6, 3, due=clock.now()))
    for m in await claim(uow_factory, now=clock.now()):
        async with uow_factory() as uow:
            await uow.outbox.mark_sent(m)
            await uow.commit()
    clock.advance(days=31)
    report = await purge(uow_factory, clock)
    assert report.outbox == 2  # the two sent a month ago; the pending one stays
    async with uow_factory() as uow:
        assert await uow.outbox.get("test:5:2") is not None
        assert user.id is not None
        await uow.users.delete(user.id)  # /loeschen
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.get("test:5:2") is None


@pytest.mark.sqlite_only("SQLite's version; the PostgreSQL counterpart checks the server's version below")
def test_sqlite_is_new_enough_for_returning() -> None:
    assert sqlite3.sqlite_version_info >= (3, 35)  # UPDATE ... RETURNING in claim_due


@pytest.mark.postgres_only("the counterpart of SQLite's version check above")
async def test_postgres_is_new_enough_for_the_claim(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            version = int((await connection.execute(text("SHOW server_version_num"))).scalar_one())
    finally:
        await engine.dispose()
    assert version >= 120000  # WITH … AS MATERIALIZED (12) and FOR UPDATE SKIP LOCKED (9.5) in claim_due
