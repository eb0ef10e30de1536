"""Proactive messages: a flow enqueues an OutboxMessage in its own transaction; the dispatcher
(flows/delivery/dispatcher.py) sends it later through a Sender, within the channel's limits.

One idempotency key gives at most one message, ever: enqueueing the same key again is a no-op, so
a flow may plan its messages as often as it likes (retried update, replanned event).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

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
    # A timeout or a broken connection after the request went out: the channel may have it. Retried
    # like a transient error, except for messages that must never arrive twice (announcements).
    UNKNOWN = "unknown"


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

    @classmethod
    def unknown(cls, error: str) -> SendResult:
        return cls(SendKind.UNKNOWN, error=error)


__all__ = [
    "IDEMPOTENCY_KEY_MAX", "OutboxMessage", "OutboxStatus", "SendKind", "SendResult", "is_minor", "short_error",
]
