"""Sends due outbox messages: claim a batch, keep quiet hours and rate limits, record each outcome.

One tick claims due messages of its channel in batches and serves every chat in its own task, one
message after the other (in due order); different chats run in parallel, as fast as the shared
limiter lets them. The outcome of each send is recorded right after it, in its own transaction,
so a crash can repeat at most the message that was in flight.

A claim is a lease. A message is only sent while enough of its lease is left to send and record
it (`send_margin`); otherwise it goes back to pending. So a dispatcher that stalls never sends a
message another dispatcher has claimed since.

Hooks (SendHook) let a kind of message take part: a check right before its send (the message may
be dropped, e.g. an announcement to someone who opted out) and the result after it, recorded in
the transaction that settles the outbox row (a lead's arrival, an announcement's recipient). A
hook may declare its messages "at most once": a send whose outcome is unknown (a timeout after
the request went out) is then never repeated; other messages are retried as before.

Outbox sends take the limiter's bulk slots: an answer to a user always goes first.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from flows.core.ports import Clock, OutboxRepository, Sender, UnitOfWork, UnitOfWorkFactory
from flows.core.rerun import Rerun
from flows.delivery.broadcast_sending import BroadcastChecks
from flows.delivery.lead_arrival import LeadArrival
from flows.delivery.limiter import RateLimiter
from flows.delivery.outbox import OutboxMessage, SendKind, SendResult, short_error
from flows.delivery.quiet_hours import QuietHours

log = logging.getLogger(__name__)


class SendHook(Protocol):
    """A kind of outbox message with its own check before and result after the send."""

    def applies(self, message: OutboxMessage) -> bool: ...

    def at_most_once(self, message: OutboxMessage) -> bool:
        """True: a send with an unknown outcome (timeout) is never repeated (the row fails)."""
        ...

    async def before_send(self, uow: UnitOfWork, message: OutboxMessage, now: datetime) -> str | None:
        """None: send it; else the reason it is dropped (in the same transaction)."""
        ...

    async def after_send(self, uow: UnitOfWork, message: OutboxMessage, result: SendResult, at: datetime) -> None:
        """The final outcome (sent, blocked, failed, unknown), in the transaction that records it."""
        ...


def default_hooks(weekly_cap: int | None = None) -> tuple[SendHook, ...]:
    checks = BroadcastChecks() if weekly_cap is None else BroadcastChecks(weekly_cap)
    return (LeadArrival(), checks)


@dataclass(frozen=True)
class DispatchPolicy:
    batch_size: int = 100  # rows per claim
    lease_seconds: float = 60.0
    max_attempts: int = 5  # transient errors: then failed
    backoff_base: float = 15.0  # seconds before the 2nd attempt; doubles each time
    backoff_max: float = 900.0
    max_rows_per_tick: int = 5000  # a tick ends after this many rows; the next one goes on
    busy_chats: int = 64  # claim more while fewer chats than this are being served
    max_retry_after_rounds: int = 5  # 429s in a row for one message before it waits outside the tick

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_attempts < 1 or self.max_rows_per_tick < 1 or self.busy_chats < 1:
            raise ValueError("batch_size, max_attempts, max_rows_per_tick and busy_chats must be positive")
        if self.lease_seconds < 3:
            raise ValueError("lease_seconds must be at least 3")

    @property
    def send_margin(self) -> float:
        """Lease time a send must have left when it starts (timeout plus recording)."""
        return self.lease_seconds / 3

    @property
    def send_timeout(self) -> float:
        return min(15.0, self.lease_seconds / 4)

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.backoff_max, self.backoff_base * 2 ** max(0, attempts - 1)))


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0  # transient error, tried again later
    failed: int = 0
    dropped: int = 0  # blocked, expired, refused by a hook's check
    unknown: int = 0  # timed out, never repeated (announcements)
    deferred: int = 0  # quiet hours
    released: int = 0  # lease running out, long retry_after, stopping: back to pending
    flood_waits: int = 0  # 429s answered

    def __bool__(self) -> bool:
        return any(vars(self).values())


@dataclass
class _Claim:
    message: OutboxMessage
    deadline: float  # limiter (monotonic) time after which the send must not start


@dataclass
class _Chat:
    queue: deque[_Claim] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class OutboxDispatcher:
    def __init__(self, uow_factory: UnitOfWorkFactory, sender: Sender, limiter: RateLimiter, clock: Clock,
                 quiet_hours: QuietHours, policy: DispatchPolicy | None = None, chat_id: int | None = None,
                 hooks: Sequence[SendHook] | None = None) -> None:
        self._uow_factory = uow_factory
        self._sender = sender
        self._limiter = limiter
        self._clock = clock
        self._quiet = quiet_hours
        self.policy = policy or DispatchPolicy()
        self._chat_id = chat_id  # only this chat (a terminal session); None: the whole channel
        self._hooks = tuple(default_hooks() if hooks is None else hooks)
        self._stopping = False
        self._runner = Rerun(self._logged_tick, f"outbox-{sender.channel}")

    @property
    def channel(self) -> str:
        return self._sender.channel

    # ------------------------------------------------------------------ running

    def kick(self) -> None:
        """Start a tick in the background; during one, ask for another right after it (a message
        stored after the running tick's last claim would otherwise wait for the next kick)."""
        if not self._stopping:
            self._runner.kick()

    async def _logged_tick(self) -> None:
        try:
            report = await self.tick()
        except Exception:
            log.exception("outbox tick failed")
            return
        if report:
            log.info("outbox %s: %s", self.channel, report)

    async def close(self, timeout: float = 5.0) -> None:
        """Stop claiming, give unsent messages back, wait for the running tick (bounded)."""
        self._stopping = True
        await self._runner.close(timeout)

    async def tick(self) -> DispatchReport:
        """Send what is due now; returns when nothing is due or max_rows_per_tick were claimed."""
        report = DispatchReport()
        chats: dict[int, _Chat] = {}
        policy = self.policy
        claimed, exhausted = 0, False
        try:
            for _ in range(2 * policy.max_rows_per_tick + 2):  # each round ends a worker or claims
                while (not exhausted and not self._stopping and claimed < policy.max_rows_per_tick
                       and sum(1 for c in chats.values() if c.task is not None) < policy.busy_chats):
                    limit = min(policy.batch_size, policy.max_rows_per_tick - claimed)
                    batch, taken = await self._claim(limit, report)
                    claimed += taken
                    exhausted = taken < limit
                    for claim in batch:
                        self._queue(chats, claim, report)
                running = {c.task for c in chats.values() if c.task is not None}
                if not running:
                    break
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for chat_id in [k for k, c in chats.items() if c.task is not None and c.task.done()]:
                    self._reap(chats.pop(chat_id))
        finally:
            leftovers = [c.task for c in chats.values() if c.task is not None and not c.task.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                await asyncio.gather(*leftovers, return_exceptions=True)
        return report

    def _queue(self, chats: dict[int, _Chat], claim: _Claim, report: DispatchReport) -> None:
        chat_id = claim.message.recipient.chat_id
        chat = chats.setdefault(chat_id, _Chat())
        chat.queue.append(claim)
        if chat.task is None or chat.task.done():
            if chat.task is not None:
                self._reap(chat)
            chat.task = asyncio.create_task(self._serve(chat_id, chat.queue, report))

    @staticmethod
    def _reap(chat: _Chat) -> None:
        task = chat.task
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            log.error("outbox worker failed", exc_info=task.exception())

    # ------------------------------------------------------------------ claiming

    async def _claim(self, limit: int, report: DispatchReport) -> tuple[list[_Claim], int]:
        """Claim due rows; settle the expired, the worn out and those in quiet hours at once."""
        policy = self.policy
        deadline = self._limiter.now() + policy.lease_seconds - policy.send_margin
        now = self._clock.now()
        ready: list[OutboxMessage] = []
        async with self._uow_factory() as uow:
            rows = await uow.outbox.claim_due(now, limit, policy.lease_seconds, self.channel, self._chat_id)
            for message in rows:
                quiet_until = self._quiet.next_allowed(now, message.minor)
                if _expired(message, now) or (quiet_until and _expired(message, quiet_until)):
                    await uow.outbox.mark_dropped(message, "expired")
                    report.dropped += 1
                elif message.attempts > policy.max_attempts:  # claimed again and again: it crashes us
                    await uow.outbox.mark_failed(message, f"gave up after {policy.max_attempts} attempts")
                    report.failed += 1
                elif quiet_until is not None:
                    await uow.outbox.defer(message, quiet_until)
                    report.deferred += 1
                else:
                    ready.append(message)
            await uow.commit()
        return [_Claim(m, deadline) for m in ready], len(rows)

    # ------------------------------------------------------------------ sending

    async def _serve(self, chat_id: int, queue: deque[_Claim], report: DispatchReport) -> None:
        """One chat: its messages one after the other, so they arrive in order."""
        for _ in range(self.policy.max_rows_per_tick):
            if not queue:
                return
            claim = queue.popleft()
            try:
                if self._stopping:
                    await self._record(_deferral(claim.message, claim.message.due_at))
                    report.released += 1
                    continue
                if await self._deliver(claim, report) is SendKind.BLOCKED:
                    report.dropped += len(queue)  # drop_pending_for dropped them in the database
                    queue.clear()
            except Exception:  # the row stays claimed and comes back after its lease
                log.exception("outbox message %s could not be handled", claim.message.id)

    def _hook(self, message: OutboxMessage) -> SendHook | None:
        return next((hook for hook in self._hooks if hook.applies(message)), None)

    async def _allowed(self, message: OutboxMessage, hook: SendHook) -> bool:
        """The hook's check right before the send; False: dropped (and recorded) instead."""
        now, verdict = self._clock.now(), None

        async def check(uow: UnitOfWork) -> None:
            nonlocal verdict
            verdict = await hook.before_send(uow, message, now)
            if verdict is not None:
                await uow.outbox.mark_dropped(message, verdict)
        await self._record_uow(check)
        return verdict is None

    async def _deliver(self, claim: _Claim, report: DispatchReport) -> SendKind | None:
        message, limiter = claim.message, self._limiter
        chat_id = message.recipient.chat_id
        result = SendResult.ok()
        hook = self._hook(message)
        for round_ in range(self.policy.max_retry_after_rounds):
            if _expired(message, self._clock.now()):
                await self._record(lambda o: o.mark_dropped(message, "expired"))
                report.dropped += 1
                return None
            if round_ == 0 and hook is not None and not await self._allowed(message, hook):
                report.dropped += 1
                return None
            if not await limiter.acquire(chat_id, deadline=claim.deadline, bulk=True):
                # Not enough lease left (busy, or a long retry_after): pending again, after the hold.
                until = max(message.due_at, self._clock.now() + timedelta(seconds=limiter.held_for(chat_id)))
                await self._record(_deferral(message, until))
                report.released += 1
                return None
            try:
                result = await self._send(message)
            finally:
                limiter.release(chat_id)
            if result.kind is not SendKind.RETRY_AFTER:
                break
            # Flood control: nothing to this chat (or anyone) before retry_after; not a failure.
            limiter.hold(result.retry_after, None if result.whole_bot else chat_id)
            report.flood_waits += 1
        else:
            until = self._clock.now() + timedelta(seconds=limiter.held_for(chat_id))
            await self._record(_deferral(message, until))
            report.released += 1
            return result.kind
        await self._settle(message, result, report, hook)
        return result.kind

    async def _send(self, message: OutboxMessage) -> SendResult:
        try:
            return await asyncio.wait_for(
                self._sender.send(message.recipient, message.reply, message.locale, message.formal),
                timeout=self.policy.send_timeout)
        except TimeoutError:  # the request may have reached the channel
            return SendResult.unknown("timeout")
        except Exception as error:  # a sender should not raise; if it does, try again later
            log.warning("sender raised %s for outbox message %s", type(error).__name__, message.id)
            return SendResult.transient(type(error).__name__)

    async def _settle(self, message: OutboxMessage, result: SendResult, report: DispatchReport,
                      hook: SendHook | None = None) -> None:
        error = short_error(result.error or result.kind.value)
        at = self._clock.now()
        kind = result.kind
        if kind is SendKind.UNKNOWN and not (hook is not None and hook.at_most_once(message)):
            kind = SendKind.TRANSIENT  # may be sent twice: as before, tried again
        if kind is SendKind.TRANSIENT and message.attempts < self.policy.max_attempts:
            next_due = at + self.policy.backoff(message.attempts)
            await self._record(lambda o: o.mark_retry(message, next_due, error))
            report.retried += 1
            return

        async def settle(uow: UnitOfWork) -> None:
            if kind is SendKind.OK:
                await uow.outbox.mark_sent(message)
            elif kind is SendKind.BLOCKED:
                recipient = message.recipient
                await uow.users.mark_inactive(recipient.channel, recipient.chat_id)
                await uow.outbox.drop_pending_for(recipient.channel, recipient.chat_id, error)
            elif kind is SendKind.UNKNOWN:
                await uow.outbox.mark_failed(message, short_error(f"{SendKind.UNKNOWN.value}: {error}"))
            else:  # permanent, or transient once too often
                await uow.outbox.mark_failed(message, error)
            if hook is not None:
                await hook.after_send(uow, message, result, at)
        await self._record_uow(settle)
        if kind is SendKind.OK:
            report.sent += 1
        elif kind is SendKind.BLOCKED:
            report.dropped += 1
        elif kind is SendKind.UNKNOWN:
            report.unknown += 1
            log.warning("outbox message %s: outcome unknown (%s), not sent again", message.id, error)
        else:
            report.failed += 1
            log.warning("outbox message %s failed: %s", message.id, error)

    async def _record(self, change: Callable[[OutboxRepository], Awaitable[object]]) -> None:
        async def apply(uow: UnitOfWork) -> None:
            await change(uow.outbox)
        await self._record_uow(apply)

    async def _record_uow(self, change: Callable[[UnitOfWork], Awaitable[None]]) -> None:
        async with self._uow_factory() as uow:
            await change(uow)
            await uow.commit()


def _expired(message: OutboxMessage, at: datetime) -> bool:
    return message.expires_at is not None and at >= message.expires_at


def _deferral(message: OutboxMessage, until: datetime) -> Callable[[OutboxRepository], Awaitable[None]]:
    """The change "back to pending, due at `until`" (bound now: a loop must not change it later)."""
    async def defer(outbox: OutboxRepository) -> None:
        await outbox.defer(message, until)
    return defer
