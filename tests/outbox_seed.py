"""Reminders due at once in the outbox of a database under test (benchmarks and end-to-end tests)."""
from __future__ import annotations

from datetime import UTC, datetime

from flows.core.clock import SystemClock
from flows.core.model import Reply, UserRef
from flows.delivery.outbox import OutboxMessage
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory


async def enqueue_reminders(url: str, count: int, first_chat: int, key_prefix: str) -> None:
    """`count` short messages due now, each to its own chat from `first_chat` on."""
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            due = datetime.now(UTC)
            for chat in range(first_chat, first_chat + count):
                await uow.outbox.enqueue(OutboxMessage(
                    recipient=UserRef(channel="telegram", chat_id=chat), due_at=due,
                    reply=Reply(key="fallback.unknown_command", values={"command": f"r{chat}"}),
                    idempotency_key=f"{key_prefix}:{chat}"))
            await uow.commit()
    finally:
        await engine.dispose()
