"""Proactive messages: a flow enqueues an OutboxMessage in its own transaction; the dispatcher
(flows/delivery/dispatcher.py) sends it later through a Sender, within the channel's limits.

One idempotency key gives at most one message, ever: enqueueing the same key again is a no-op, so
a flow may plan its messages as often as it likes (retried update, replanned event).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field, field_validator

from flows.core.model import Profile, Reply, UserRef

IDEMPOTENCY_KEY_MAX = 200
ERROR_MAX = 500  # last_error is for operators; keep it short (and free of message text)


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for due_at
    SENDING = "sending"  # claimed by a dispatcher until lease_until; back to pending if it died
    SENT = "sent"
    FAILED = "failed"  # permanent error, or transient errors up to the attempt limit
    DROPPED = "dropped"  # user blocked the bot, cancelled by its flow, or expired


class OutboxMessage(BaseModel):
    """One proactive message. `id`, `attempts`, `status`, `lease_until` and `last_error` belong
    to the outbox; a flow sets the rest."""

    id: int | None = None
    recipient: UserRef
    reply: Reply
    locale: str = "de"
    formal: bool = False
    minor: bool = False  # quiet hours for minors apply
    due_at: datetime
    expires_at: datetime | None = None  # never sent at or after this instant (dropped instead)
    idempotency_key: str = Field(min_length=1, max_length=IDEMPOTENCY_KEY_MAX)
    attempts: int = 0  # send attempts so far; a deferral (quiet hours, 429) does not count
    status: OutboxStatus = OutboxStatus.PENDING
    lease_until: datetime | None = None
    last_error: str | None = None

    @field_validator("due_at", "expires_at", "lease_until")
    @classmethod
    def _aware_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must be timezone-aware")
        return value.astimezone(UTC)

    @field_validator("recipient")
    @classmethod
    def _plain_recipient(cls, value: UserRef) -> UserRef:
        return UserRef(channel=value.channel, chat_id=value.chat_id)  # the language lives in `locale`

    @classmethod
    def to(cls, profile: Profile, reply: Reply, due_at: datetime, idempotency_key: str,
           expires_at: datetime | None = None) -> OutboxMessage:
        """A message to a stored user, in their language and form of address."""
        return cls(recipient=UserRef(channel=profile.channel, chat_id=profile.chat_id), reply=reply,
                   locale=profile.locale, formal=profile.formal, minor=is_minor(profile), due_at=due_at,
                   expires_at=expires_at, idempotency_key=idempotency_key)


def is_minor(profile: Profile) -> bool:
    """Whether the stricter quiet hours apply: unless we know the user is an adult (18+, a parent,
    a company), they may be a minor (minors first)."""
    if profile.age_band in ("u16", "16_17"):
        return True
    return not (profile.age_band == "18plus" or profile.role in ("parent", "company"))


def short_error(error: str) -> str:
    return error if len(error) <= ERROR_MAX else error[: ERROR_MAX - 1] + "…"


class SendKind(StrEnum):
    OK = "ok"
    RETRY_AFTER = "retry_after"  # flood control (429): wait, then send again; not a failure
    BLOCKED = "blocked"  # the user blocked the bot (403): never again
    TRANSIENT = "transient"  # 5xx, timeout, network: retry with backoff
    PERMANENT = "permanent"  # the channel refused this message (400): retrying cannot help


@dataclass(frozen=True)
class SendResult:
    kind: SendKind
    retry_after: float = 0.0
    whole_bot: bool = False  # the 429 applies to every chat, not just this one
    error: str | None = None

    @classmethod
    def ok(cls) -> SendResult:
        return cls(SendKind.OK)

    @classmethod
    def wait(cls, seconds: float, whole_bot: bool = False) -> SendResult:
        return cls(SendKind.RETRY_AFTER, retry_after=max(0.0, seconds), whole_bot=whole_bot,
                   error=f"retry after {seconds:g} s")

    @classmethod
    def blocked(cls, error: str = "blocked by the user") -> SendResult:
        return cls(SendKind.BLOCKED, error=error)

    @classmethod
    def transient(cls, error: str) -> SendResult:
        return cls(SendKind.TRANSIENT, error=error)

    @classmethod
    def permanent(cls, error: str) -> SendResult:
        return cls(SendKind.PERMANENT, error=error)


class Sender(Protocol):
    """Sends one message through one channel (one API call, so the limiter can count it)."""

    channel: str

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult: ...


class OutboxRepository(Protocol):
    async def enqueue(self, message: OutboxMessage) -> bool:
        """Store the message; False (and nothing stored) if its idempotency key exists already."""
        ...

    async def get(self, idempotency_key: str) -> OutboxMessage | None: ...

    async def cancel(self, idempotency_keys: Iterable[str]) -> int:
        """Drop those messages that are still pending (a message being sent cannot be recalled)."""
        ...

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float, channel: str,
                        chat_id: int | None = None) -> list[OutboxMessage]:
        """Atomically take up to `limit` messages of `channel` that are due (or whose lease ran
        out): status sending, lease until now + lease_seconds, attempts + 1. Oldest first. Two
        dispatchers never get the same message while its lease runs."""
        ...

    # The outcome of a claim. Each applies only while the message is still in that claim
    # (status sending, same attempt), so a dispatcher that lost its lease changes nothing.
    async def mark_sent(self, message: OutboxMessage) -> None: ...
    async def mark_retry(self, message: OutboxMessage, next_due: datetime, error: str) -> None: ...
    async def mark_failed(self, message: OutboxMessage, error: str) -> None: ...
    async def mark_dropped(self, message: OutboxMessage, reason: str) -> None: ...

    async def defer(self, message: OutboxMessage, until: datetime) -> None:
        """Back to pending, due at `until`; the claim does not count as an attempt."""
        ...

    async def drop_pending_for(self, channel: str, chat_id: int, reason: str = "dropped") -> int:
        """Drop every pending or claimed message to that chat (e.g. the user blocked the bot)."""
        ...

    async def purge_finished_before(self, cutoff: datetime) -> int:
        """Delete sent, failed and dropped messages last changed before `cutoff`."""
        ...


__all__ = [
    "IDEMPOTENCY_KEY_MAX", "OutboxMessage", "OutboxRepository", "OutboxStatus", "SendKind", "SendResult",
    "Sender", "is_minor", "short_error",
]
