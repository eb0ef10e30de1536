"""The outbox table behind flows.delivery.outbox.OutboxRepository, on SQLite and PostgreSQL.

Claiming is one statement in both dialects:

    WITH due AS [MATERIALIZED] (SELECT id FROM outbox WHERE <due or lease ran out>
                                ORDER BY due_at, id LIMIT n [FOR UPDATE SKIP LOCKED])
    UPDATE outbox SET status='sending', lease_until=..., attempts=attempts+1
    WHERE id IN (SELECT id FROM due) RETURNING *

PostgreSQL: SKIP LOCKED lets concurrent claimers pass each other's rows instead of waiting or
taking them twice; MATERIALIZED makes sure the LIMITed selection runs once. SQLite has one writer
and our write transactions begin IMMEDIATE, so the statement runs alone; SQLite ignores FOR UPDATE
(SQLAlchemy leaves it out) and needs 3.35+ for RETURNING.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.model import Reply, UserRef
from flows.core.ports import Clock
from flows.delivery.outbox import OutboxMessage, OutboxStatus, short_error
from storage.tables import OutboxRow

OUTBOX = OutboxRow.__table__  # Core statements: no ORM identity map to keep in sync
C = OUTBOX.c
OPEN = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
FINISHED = (OutboxStatus.SENT.value, OutboxStatus.FAILED.value, OutboxStatus.DROPPED.value)
CANCELLED = "cancelled"  # last_error of a message its flow withdrew before it was sent


def _message(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row.id, recipient=UserRef(channel=row.channel, chat_id=row.chat_id),
        reply=Reply.model_validate(row.reply), locale=row.locale, formal=row.formal, minor=row.minor,
        due_at=row.due_at, expires_at=row.expires_at, idempotency_key=row.idempotency_key,
        attempts=row.attempts, status=OutboxStatus(row.status), lease_until=row.lease_until,
        last_error=row.last_error,
    )


class SqlOutboxRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        # Channels that got a message due now in this transaction: their dispatcher is woken on
        # commit, so a lead reaches a company in milliseconds instead of at the next tick.
        self.due_now: set[str] = set()

    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    async def enqueue(self, message: OutboxMessage) -> bool:
        now = self._clock.now()
        values = {
            "idempotency_key": message.idempotency_key, "channel": message.recipient.channel,
            "chat_id": message.recipient.chat_id, "reply": message.reply.model_dump(mode="json"),
            "locale": message.locale, "formal": message.formal, "minor": message.minor,
            "due_at": message.due_at, "expires_at": message.expires_at,
            "status": OutboxStatus.PENDING.value, "attempts": 0, "created_at": now, "updated_at": now,
        }
        insert = postgresql.insert if self._dialect() == "postgresql" else sqlite.insert
        statement: Any = insert(OUTBOX).values(**values)  # dialect-specific, then ON CONFLICT ... RETURNING
        # A second enqueue of a key (even from another process at the same moment) neither fails the
        # flow's transaction nor stores a second message. Only a message its flow cancelled before
        # it went out comes back (a reminder switched off and on again): still at most one is sent.
        revive = {name: statement.excluded[name] for name in values if name not in ("idempotency_key", "created_at")}
        statement = statement.on_conflict_do_update(
            index_elements=["idempotency_key"], set_={**revive, "lease_until": None, "last_error": None},
            where=and_(C.status == OutboxStatus.DROPPED.value, C.last_error == CANCELLED),
        ).returning(C.id)
        stored = (await self._session.execute(statement)).first() is not None
        if stored and message.due_at <= now:
            self.due_now.add(message.recipient.channel)
        return stored

    async def get(self, idempotency_key: str) -> OutboxMessage | None:
        row = (await self._session.execute(select(OUTBOX).where(C.idempotency_key == idempotency_key))).first()
        return _message(row) if row else None

    async def cancel(self, idempotency_keys: Iterable[str]) -> int:
        keys = list(idempotency_keys)
        if not keys:
            return 0
        result = await self._session.execute(
            update(OUTBOX).where(C.idempotency_key.in_(keys), C.status == OutboxStatus.PENDING.value)
            .values(status=OutboxStatus.DROPPED.value, last_error=CANCELLED, updated_at=self._clock.now()))
        return int(result.rowcount or 0)

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float, channel: str,
                        chat_id: int | None = None) -> list[OutboxMessage]:
        where = [C.channel == channel,
                 or_(and_(C.status == OutboxStatus.PENDING.value, C.due_at <= now),
                     and_(C.status == OutboxStatus.SENDING.value, C.lease_until <= now))]
        if chat_id is not None:
            where.append(C.chat_id == chat_id)
        due = (select(C.id).where(*where).order_by(C.due_at, C.id).limit(limit)
               .with_for_update(skip_locked=True)
               .cte("due").prefix_with("MATERIALIZED", dialect="postgresql"))
        statement = (
            update(OUTBOX).where(C.id.in_(select(due.c.id)))
            .values(status=OutboxStatus.SENDING.value, lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=C.attempts + 1, updated_at=now)
            .returning(*C)
        )
        rows = (await self._session.execute(statement)).all()
        return sorted((_message(r) for r in rows), key=lambda m: (m.due_at, m.id or 0))  # RETURNING has no order

    async def _settle(self, message: OutboxMessage, **values: Any) -> None:
        # Only while the message is still in this claim: same attempt, still sending.
        await self._session.execute(
            update(OUTBOX)
            .where(C.id == message.id, C.status == OutboxStatus.SENDING.value, C.attempts == message.attempts)
            .values(lease_until=None, updated_at=self._clock.now(), **values))

    async def mark_sent(self, message: OutboxMessage) -> None:
        await self._settle(message, status=OutboxStatus.SENT.value, last_error=None)

    async def mark_retry(self, message: OutboxMessage, next_due: datetime, error: str) -> None:
        await self._settle(message, status=OutboxStatus.PENDING.value, due_at=next_due,
                           last_error=short_error(error))

    async def mark_failed(self, message: OutboxMessage, error: str) -> None:
        await self._settle(message, status=OutboxStatus.FAILED.value, last_error=short_error(error))

    async def mark_dropped(self, message: OutboxMessage, reason: str) -> None:
        await self._settle(message, status=OutboxStatus.DROPPED.value, last_error=short_error(reason))

    async def defer(self, message: OutboxMessage, until: datetime) -> None:
        await self._settle(message, status=OutboxStatus.PENDING.value, due_at=until,
                           attempts=C.attempts - 1)

    async def drop_pending_for(self, channel: str, chat_id: int, reason: str = "dropped") -> int:
        result = await self._session.execute(
            update(OUTBOX).where(C.channel == channel, C.chat_id == chat_id, C.status.in_(OPEN))
            .values(status=OutboxStatus.DROPPED.value, lease_until=None, last_error=short_error(reason),
                    updated_at=self._clock.now()))
        return int(result.rowcount or 0)

    async def purge_finished_before(self, cutoff: datetime) -> int:
        result = await self._session.execute(
            delete(OUTBOX).where(C.status.in_(FINISHED), C.updated_at < cutoff))
        return int(result.rowcount or 0)

    async def delete_for(self, channel: str, chat_id: int) -> int:
        """Everything ever queued for that chat (the user asked to be erased)."""
        result = await self._session.execute(delete(OUTBOX).where(C.channel == channel, C.chat_id == chat_id))
        return int(result.rowcount or 0)

    async def list_for(self, channel: str, chat_id: int) -> Sequence[OutboxMessage]:
        rows = await self._session.execute(
            select(OUTBOX).where(C.channel == channel, C.chat_id == chat_id).order_by(C.due_at, C.id))
        return [_message(r) for r in rows.all()]
