"""Prometheus metrics of `lotse run` (served as /metrics by bot/ops.py).

Counted where things happen, at the edge: updates and reply latency in the Telegram channel,
sends in a wrapper around each outbox Sender (and a request middleware for answers), drops by a
hook's check in a wrapper around the dispatcher's hooks. flows/ knows nothing of this.
What lives in the database (outbox depth, leads, announcements) is read right before each scrape
(`refresh`), never inside a collector.

No label ever carries personal data or a chat id: channel, kind, outcome, status, and the number
of an announcement.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from flows.core.model import Reply, UserRef
from flows.core.ports import Sender, UnitOfWork
from flows.delivery.dispatcher import SendHook
from flows.delivery.outbox import OutboxMessage, OutboxStatus, SendKind, SendResult
from flows.domain.broadcast import BroadcastStatus, RecipientStatus
from flows.domain.lead import LeadStatus
from storage.tables import OutboxRow
from storage.tables_broadcasts import BroadcastRecipientRow, BroadcastRow
from storage.tables_leads import LeadRow

log = logging.getLogger(__name__)

KINDS = ("message", "button", "member")
UPDATE_OUTCOMES = ("handled", "duplicate", "failed")
SEND_OUTCOMES = ("sent", "retry", "rate_limited", "failed", "dropped")
SEND_SOURCES = ("reply", "outbox")
# From a quick answer to a reply that waited out Telegram's flood control.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
UNFINISHED_BROADCASTS = (BroadcastStatus.RUNNING.value, BroadcastStatus.PAUSED.value)
SEND_OUTCOME_OF = {
    SendKind.OK: "sent",
    SendKind.RETRY_AFTER: "rate_limited",  # Telegram's 429
    SendKind.TRANSIENT: "retry",  # tried again later (failed once too often)
    SendKind.UNKNOWN: "retry",  # timed out: repeated, or failed for announcements (never sent twice)
    SendKind.PERMANENT: "failed",
    SendKind.BLOCKED: "dropped",  # the person blocked the bot: their messages are dropped
}


class Metrics:
    """The metrics of one process, in their own registry (tests run several apps in one process)."""

    def __init__(self, channels: Sequence[str] = ("telegram",)) -> None:
        self.registry = registry = CollectorRegistry()
        self.channels = tuple(channels)  # always shown in the outbox gauges, 0 when empty
        self.updates = Counter("lotse_updates", "Updates handled, by channel, kind and outcome",
                               ["channel", "kind", "outcome"], registry=registry)
        self.reply_latency = Histogram(
            "lotse_reply_latency_seconds", "From an update's arrival at the channel until its replies were sent",
            ["channel", "kind"], buckets=LATENCY_BUCKETS, registry=registry)
        self.sends = Counter("lotse_sends", "Send attempts by outcome (rate_limited: Telegram's 429); source: "
                             "reply (answers to updates) or outbox (messages the bot starts itself)",
                             ["channel", "source", "outcome"], registry=registry)
        self.outbox_depth = Gauge("lotse_outbox_depth", "Outbox messages due now or being sent",
                                  ["channel"], registry=registry)
        self.outbox_oldest_age = Gauge("lotse_outbox_oldest_due_age_seconds",
                                       "How long the oldest message due now has been waiting (0: none)",
                                       ["channel"], registry=registry)
        self.outbox_scheduled = Gauge("lotse_outbox_scheduled", "Outbox messages due later (reminders, quiet hours)",
                                      ["channel"], registry=registry)
        self.leads = Gauge("lotse_leads", "Leads by status", ["status"], registry=registry)
        self.broadcasts = Gauge("lotse_broadcasts", "Announcements by status", ["status"], registry=registry)
        self.broadcast_recipients = Gauge(
            "lotse_broadcast_recipients", "Recipients of running or paused announcements by status",
            ["broadcast", "status"], registry=registry)
        self.database_up = Gauge("lotse_database_up", "1 if the database answered the last scrape's queries",
                                 registry=registry)
        for channel in self.channels:  # known series start at 0, so rate() sees their first increase
            for kind in KINDS:
                for outcome in UPDATE_OUTCOMES:
                    self.updates.labels(channel, kind, outcome)
            for source in SEND_SOURCES:
                for outcome in SEND_OUTCOMES:
                    self.sends.labels(channel, source, outcome)

    def add_channels(self, channels: Iterable[str]) -> None:
        """Outbox channels shown in the gauges even while empty (the process's dispatchers)."""
        self.channels = tuple(dict.fromkeys([*self.channels, *channels]))

    # ------------------------------------------------------------------ counting at the edge

    @contextmanager
    def update(self, channel: str, kind: str) -> Iterator[UpdateMeter]:
        """Around one update's handling: failed if it raises, else handled or duplicate."""
        meter = UpdateMeter(self, channel, kind)
        try:
            yield meter
        except Exception:  # a cancelled update (shutdown) is not counted: Telegram sends it again
            self.updates.labels(channel, kind, "failed").inc()
            raise
        self.updates.labels(channel, kind, "duplicate" if meter.duplicate else "handled").inc()

    def sent(self, channel: str, source: str, outcome: str) -> None:
        self.sends.labels(channel, source, outcome).inc()

    def metered_sender(self, sender: Sender) -> Sender:
        return MeteredSender(sender, self)

    def metered_hooks(self, hooks: Iterable[SendHook], channel: str) -> tuple[SendHook, ...]:
        return tuple(MeteredHook(hook, self, channel) for hook in hooks)

    # ------------------------------------------------------------------ read from the database

    async def refresh(self, db: AsyncEngine, now: datetime) -> bool:
        """Sets the gauges from the database (call it right before generating the text); False and
        lotse_database_up 0 if the database failed (the gauges are then left out, not stale)."""
        try:
            async with db.connect() as connection:
                outbox = (await connection.execute(_outbox_counts(now))).all()
                oldest = (await connection.execute(_outbox_oldest(now))).all()
                leads = (await connection.execute(_by_status(LeadRow))).all()
                broadcasts = (await connection.execute(_by_status(BroadcastRow))).all()
                recipients = (await connection.execute(_recipients())).all()
        except Exception as error:
            log.warning("metrics: database not readable (%s)", type(error).__name__)
            for gauge in (self.outbox_depth, self.outbox_oldest_age, self.outbox_scheduled, self.leads,
                          self.broadcasts, self.broadcast_recipients):
                gauge.clear()
            self.database_up.set(0)
            return False
        self._set_outbox(outbox, oldest, now)
        _set_by_status(self.leads, leads, [s.value for s in LeadStatus])
        _set_by_status(self.broadcasts, broadcasts, [s.value for s in BroadcastStatus])
        self.broadcast_recipients.clear()
        by_broadcast: dict[str, dict[str, int]] = {}
        for broadcast_id, status, count in recipients:
            by_broadcast.setdefault(str(broadcast_id), {})[str(status)] = int(count)
        for broadcast, counts in by_broadcast.items():
            for status in RecipientStatus:
                self.broadcast_recipients.labels(broadcast, status.value).set(counts.get(status.value, 0))
        self.database_up.set(1)
        return True

    def _set_outbox(self, counts: Sequence[Any], oldest: Sequence[Any], now: datetime) -> None:
        channels = {*self.channels, *(str(row[0]) for row in counts)}
        due = {str(c): int(n or 0) for c, n, _ in counts}
        later = {str(c): int(n or 0) for c, _, n in counts}
        ages = {str(c): max(0.0, (now - at).total_seconds()) for c, at in oldest if at is not None}
        for gauge in (self.outbox_depth, self.outbox_oldest_age, self.outbox_scheduled):
            gauge.clear()
        for channel in sorted(channels):
            self.outbox_depth.labels(channel).set(due.get(channel, 0))
            self.outbox_scheduled.labels(channel).set(later.get(channel, 0))
            self.outbox_oldest_age.labels(channel).set(ages.get(channel, 0.0))


class UpdateMeter:
    """One update: the channel marks it duplicate, and reports when its replies went out."""

    def __init__(self, metrics: Metrics, channel: str, kind: str) -> None:
        self._metrics = metrics
        self._channel = channel
        self._kind = kind
        self._arrived = time.monotonic()
        self.duplicate = False

    def replied(self) -> None:
        self._metrics.reply_latency.labels(self._channel, self._kind).observe(time.monotonic() - self._arrived)


class MeteredSender:
    """An outbox Sender that counts what each send attempt came to."""

    def __init__(self, inner: Sender, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self.channel = inner.channel

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        try:
            result = await self._inner.send(recipient, reply, locale, formal)
        except Exception:  # the dispatcher retries it (a sender should not raise)
            self._metrics.sent(self.channel, "outbox", "retry")
            raise
        self._metrics.sent(self.channel, "outbox", SEND_OUTCOME_OF.get(result.kind, "failed"))
        return result


class MeteredHook:
    """A dispatcher hook that counts the messages its check drops (opted out, weekly cap, cancelled)."""

    def __init__(self, inner: SendHook, metrics: Metrics, channel: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._channel = channel

    def applies(self, message: OutboxMessage) -> bool:
        return self._inner.applies(message)

    def at_most_once(self, message: OutboxMessage) -> bool:
        return self._inner.at_most_once(message)

    async def before_send(self, uow: UnitOfWork, message: OutboxMessage, now: datetime) -> str | None:
        verdict = await self._inner.before_send(uow, message, now)
        if verdict is not None:
            self._metrics.sent(self._channel, "outbox", "dropped")
        return verdict

    async def after_send(self, uow: UnitOfWork, message: OutboxMessage, result: SendResult, at: datetime) -> None:
        await self._inner.after_send(uow, message, result, at)


# ---------------------------------------------------------------------- queries (read only)

_O = OutboxRow.__table__.c  # type: ignore[attr-defined]


def _due(now: datetime) -> Any:
    return or_(and_(_O.status == OutboxStatus.PENDING.value, _O.due_at <= now), _O.status == OutboxStatus.SENDING.value)


def _outbox_counts(now: datetime) -> Any:
    """Per channel: due now or being sent, and due later."""
    waiting = _O.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value])
    due_now = func.sum(case((_due(now), 1), else_=0))
    later = func.sum(case((and_(_O.status == OutboxStatus.PENDING.value, _O.due_at > now), 1), else_=0))
    return select(_O.channel, due_now, later).where(waiting).group_by(_O.channel)


def _outbox_oldest(now: datetime) -> Any:
    return select(_O.channel, func.min(_O.due_at)).where(_due(now)).group_by(_O.channel)


def _by_status(table: Any) -> Any:
    column = table.__table__.c.status
    return select(column, func.count()).group_by(column)


def _recipients() -> Any:
    r, b = BroadcastRecipientRow.__table__.c, BroadcastRow.__table__.c  # type: ignore[attr-defined]
    return (select(r.broadcast_id, r.status, func.count())
            .where(r.broadcast_id.in_(select(b.id).where(b.status.in_(UNFINISHED_BROADCASTS))))
            .group_by(r.broadcast_id, r.status))


def _set_by_status(gauge: Gauge, rows: Sequence[Any], known: Iterable[str]) -> None:
    counts = {str(status): int(count) for status, count in rows}
    gauge.clear()
    for status in sorted({*known, *counts}):
        gauge.labels(status).set(counts.get(status, 0))

