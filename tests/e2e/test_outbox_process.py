"""End to end: the real `lotse run` delivers the outbox through the fake Bot API.

The test puts messages into the database with the storage code, as a flow would, and then watches
what reaches the fake Telegram: after a crash, in a 429 storm, to a user who blocked the bot, and
in quiet hours.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows.core.clock import SystemClock
from flows.core.model import Profile, Reply, UserRef
from flows.delivery.outbox import OutboxMessage
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import BotProcess, texts, utc
from tests.fakes import FakeBotApi
from tests.local_time import LATE_EVENING, zone_where_it_is


@pytest.fixture
def bot(api: FakeBotApi, tmp_path: Path, new_database_url: Callable[[], str]) -> Iterator[BotProcess]:
    """`lotse run` on a migrated database; the outbox needs no content pack."""
    process = BotProcess(api, tmp_path, database_url=new_database_url())
    process.cli("db", "upgrade")
    try:
        yield process
    finally:
        if process.process is not None and process.process.poll() is None:
            process.kill()


def note(chat: int, word: str, due: datetime, minor: bool = False) -> OutboxMessage:
    # Any text key will do; this one shows a value, so every message is recognisable.
    return OutboxMessage(recipient=UserRef(channel="telegram", chat_id=chat), due_at=due, minor=minor,
                         reply=Reply(key="fallback.unknown_command", values={"command": word}),
                         idempotency_key=f"e2e:{chat}:{word}")


def enqueue(bot: BotProcess, *messages: OutboxMessage, users: tuple[int, ...] = ()) -> None:
    async def go() -> None:
        engine = create_engine(bot.database_url)
        try:
            async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
                for chat in users:
                    await uow.users.save(Profile(channel="telegram", chat_id=chat, created_at=datetime.now(UTC)))
                for message in messages:
                    assert await uow.outbox.enqueue(message)
                await uow.commit()
        finally:
            await engine.dispose()
    asyncio.run(go())


def rows(bot: BotProcess, chat: int) -> dict[str, tuple[str, datetime, int]]:
    """word -> (status, due_at, attempts) of that chat's outbox messages."""
    found = bot.rows("select idempotency_key, status, due_at, attempts from outbox where chat_id = :chat", chat=chat)
    return {key.rsplit(":", 1)[-1]: (status, utc(due), attempts) for key, status, due, attempts in found}


def words(api: FakeBotApi, chat: int) -> list[str]:
    return [t.split("/", 1)[1].split(" ", 1)[0] for t in texts(api, chat)]


def test_due_messages_are_sent_after_a_crash_and_none_twice(api: FakeBotApi, bot: BotProcess) -> None:
    chat, other = 5001, 5002
    api.add_chat(chat)
    api.add_chat(other)
    # One message every 2 s to this chat: the kill surely lands between two sends, and all five
    # fit into one lease (so the dead process still holds the unsent ones).
    bot.env.update({"OUTBOX_LEASE_SECONDS": "12", "QUIET_HOURS_ADULTS": "off",
                    "OUTBOX_RATE_PER_CHAT_PER_SECOND": "0.5", "OUTBOX_BURST_PER_CHAT": "1"})
    now = datetime.now(UTC)
    reminders = [f"r{n}" for n in range(1, 6)]
    enqueue(bot, *(note(chat, w, now - timedelta(minutes=10 - n)) for n, w in enumerate(reminders)))
    bot.start()
    # Killed once the second is recorded as sent (a kill between Telegram's answer and the record
    # may repeat that one message, as the README says; that is not what this test is about).
    api.wait_for_sync(lambda: rows(bot, chat)["r2"][0] == "sent", timeout=30, message="first reminders")
    # Due only after the kill (enqueued right before it): it waits in the database meanwhile.
    enqueue(bot, note(other, "spaeter", datetime.now(UTC) + timedelta(seconds=4)))
    bot.kill()
    before = rows(bot, chat)
    unsent = [w for w in reminders if w not in words(api, chat)]
    assert unsent and {before[w][0] for w in unsent} == {"sending"}  # claimed by the dead process
    assert rows(bot, other)["spaeter"][0] == "pending"

    bot.env.update({"OUTBOX_RATE_PER_CHAT_PER_SECOND": "100"})
    bot.start()
    def all_sent() -> bool:  # recorded as sent, not just arrived
        return {status for c in (chat, other) for status, _, _ in rows(bot, c).values()} == {"sent"}
    api.wait_for_sync(all_sent, timeout=60, message=f"not everything went out after the restart; log:\n{bot.output()}")
    assert words(api, chat) == reminders  # every one, in order, none twice
    assert words(api, other) == ["spaeter"]
    assert bot.stop() == 0


def test_a_429_storm_loses_nothing_and_never_sends_before_retry_after(api: FakeBotApi, bot: BotProcess) -> None:
    chats, busy = list(range(6001, 6041)), 6100
    for chat in [*chats, busy]:
        api.add_chat(chat)
    api.enforce_limits(30, 1)  # like Telegram: more answers 429
    api.fail_next("sendMessage", 429, retry_after=2, count=5)  # and a storm on top
    bot.env.update({"QUIET_HOURS_ADULTS": "off", "OUTBOX_RATE_PER_CHAT_PER_SECOND": "1", "OUTBOX_BURST_PER_CHAT": "1"})
    now = datetime.now(UTC)
    enqueue(bot, *(note(chat, f"c{chat}", now) for chat in chats),
            *(note(busy, f"b{n}", now + timedelta(milliseconds=n)) for n in range(1, 6)))
    bot.start()
    api.wait_for_sync(lambda: len(api.sent()) >= 45, timeout=60, message="the storm lost messages")
    assert all(words(api, chat) == [f"c{chat}"] for chat in chats)  # nothing lost, nothing twice
    assert words(api, busy) == [f"b{n}" for n in range(1, 6)]  # in order, one per second
    assert api.retry_after_violations == []
    assert [e.status for e in api.errors] == [429] * 5  # only the injected ones: the limits were kept
    busy_times = [r.time for r in api.calls("sendMessage") if r.params.get("chat_id") == busy and r.status == 200]
    assert all(b - a >= 1.0 for a, b in zip(busy_times, busy_times[1:]))
    assert bot.stop() == 0


def test_a_blocked_user_is_not_retried_and_their_other_messages_are_dropped(api: FakeBotApi,
                                                                          bot: BotProcess) -> None:
    blocked, fine = 7001, 7002
    api.add_chat(blocked)
    api.add_chat(fine)
    api.block_chat(blocked)
    bot.env["QUIET_HOURS_ADULTS"] = "off"
    now = datetime.now(UTC)
    enqueue(bot, *(note(blocked, f"x{n}", now - timedelta(minutes=n)) for n in range(1, 4)),
            note(blocked, "morgen", now + timedelta(days=1)), note(fine, "hallo", now), users=(blocked,))
    bot.start()
    api.wait_for_sync(lambda: api.sent(fine) and {s for s, _, _ in rows(bot, blocked).values()} == {"dropped"},
                      timeout=30, message="the blocked user's messages were not dropped")
    sends = [c for c in api.calls("sendMessage") if c.params.get("chat_id") == blocked]
    assert [c.status for c in sends] == [403]  # one try, no retry, the others not even tried
    assert bot.rows("select count(*) from users where chat_id = :chat and active = false", chat=blocked) == [(1,)]
    assert words(api, fine) == ["hallo"]
    assert bot.stop() == 0


def test_quiet_hours_defer_a_message_until_they_end(api: FakeBotApi, bot: BotProcess) -> None:
    teen, parent = 8001, 8002
    api.add_chat(teen)
    api.add_chat(parent)
    zone = zone_where_it_is(LATE_EVENING)  # the default quiet hours for minors (21:00-07:00) hold
    bot.env.update({"TIMEZONE": zone, "QUIET_HOURS_ADULTS": "off"})
    now = datetime.now(UTC)
    enqueue(bot, note(teen, "nachts", now, minor=True), note(parent, "abends", now))
    bot.start()

    def deferred() -> bool:
        status, due, attempts = rows(bot, teen)["nachts"]
        return status == "pending" and due > now + timedelta(hours=1)
    api.wait_for_sync(lambda: api.sent(parent) and deferred(), timeout=30, message="no deferral")
    assert words(api, parent) == ["abends"] and api.sent(teen) == []  # deferred, not sent, not dropped
    status, due, attempts = rows(bot, teen)["nachts"]
    wakes = due.astimezone(ZoneInfo(zone))
    assert f"{wakes:%H:%M}" == "07:00" and attempts == 0  # due when quiet hours end
    assert bot.stop() == 0
