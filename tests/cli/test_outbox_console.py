"""Proactive messages in `lotse chat`, and the outbox settings of every command."""
from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from flows.core.clock import SystemClock
from flows.core.model import Reply, UserRef
from flows.delivery.outbox import OutboxMessage, OutboxStatus
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.cli.conftest import LOTSE, Lotse


def note(channel: str, chat: int, word: str, due: datetime) -> OutboxMessage:
    # Any text key works for the outbox; this one shows a value, so each message is recognisable.
    return OutboxMessage(recipient=UserRef(channel=channel, chat_id=chat), due_at=due,
                         reply=Reply(key="fallback.unknown_command", values={"command": word}),
                         idempotency_key=f"test:{channel}:{chat}:{word}")


async def enqueue(db: str, *messages: OutboxMessage) -> None:
    engine = create_engine(db)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            for message in messages:
                await uow.outbox.enqueue(message)
            await uow.commit()
    finally:
        await engine.dispose()


async def statuses(db: str) -> dict[str, OutboxStatus]:
    engine = create_engine(db)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            found = {}
            for key in ("test:console:1:erinnerung", "test:console:2:fremd", "test:telegram:1:telegramm",
                        "test:console:1:spaeter"):
                message = await uow.outbox.get(key)
                if message is not None:
                    found[key.split(":")[-1]] = message.status
            return found
    finally:
        await engine.dispose()


async def role(db: str, chat_id: int) -> str | None:
    engine = create_engine(db)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            profile = await uow.users.get("console", chat_id)
            return None if profile is None else profile.role
    finally:
        await engine.dispose()


def wait_until(condition: Callable[[], bool], message: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


def test_due_messages_appear_in_the_running_chat_of_their_user(lotse: Lotse) -> None:
    assert lotse("db", "upgrade").returncode == 0
    lotse("content", "load")
    now = datetime.now(UTC)
    asyncio.run(enqueue(lotse.database_url, note("console", 1, "erinnerung", now - timedelta(minutes=1)),
                        note("console", 2, "fremd", now), note("telegram", 1, "telegramm", now)))
    env = {**lotse.env, "QUIET_HOURS_ADULTS": "off"}  # these are adults' messages: any time of day
    with subprocess.Popen([*LOTSE, "chat", "--user", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=lotse.cwd, env=env) as chat:
        assert chat.stdin is not None
        chat.stdin.write("2\n")  # Elternteil; the session stays open, waiting for the next line
        chat.stdin.flush()
        wait_until(lambda: asyncio.run(role(lotse.database_url, 1)) == "parent"
                   and asyncio.run(statuses(lotse.database_url)).get("erinnerung") is OutboxStatus.SENT,
                   "the chat did not answer, or the due message never showed up")
        # Due only now, while the chat waits for the next line (however long `lotse chat` took to start).
        asyncio.run(enqueue(lotse.database_url, note("console", 1, "spaeter", datetime.now(UTC))))
        wait_until(lambda: asyncio.run(statuses(lotse.database_url)).get("spaeter") is OutboxStatus.SENT,
                   "the later message never showed up")
        out, err = chat.communicate("", timeout=30)
    assert chat.returncode == 0, err
    assert "/erinnerung kenne ich nicht" in out and "/spaeter kenne ich nicht" in out
    assert out.index("Wo wohnen Sie?") < out.index("/spaeter")  # arrived while the chat was waiting
    assert "/fremd" not in out and "/telegramm" not in out
    assert asyncio.run(statuses(lotse.database_url)) == {
        "erinnerung": OutboxStatus.SENT, "spaeter": OutboxStatus.SENT,
        "fremd": OutboxStatus.PENDING,  # another terminal user's: left for their session
        "telegramm": OutboxStatus.PENDING,  # left for the Telegram process
    }


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("QUIET_HOURS_MINORS", "off", "minors get no proactive messages at night"),
    ("QUIET_HOURS_ADULTS", "22-7", "must look like 21:00-07:00"),
    ("OUTBOX_RATE_PER_SECOND", "0", "greater than 0"),
    ("OUTBOX_RATE_PER_CHAT_PER_SECOND", "viel", "valid number"),
    ("OUTBOX_LEASE_SECONDS", "1", "greater than or equal to 5"),
])
def test_outbox_settings_are_checked_with_one_line(lotse: Lotse, variable: str, value: str, says: str) -> None:
    done = lotse("db", "current", env={variable: value})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith(f"configuration error: {variable} ") and says in done.stderr
