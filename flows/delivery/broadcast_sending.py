"""Sending an announcement: from a due broadcast to one message per person, through the outbox.

    scheduled ──due──> start(): running; the audience is resolved ONCE into recipient rows (planned)
    running ──every tick──> feed(): the next planned go to the outbox (queued), a batch at a time,
        so the outbox stays small and a pause or cancel acts within a batch; over the weekly cap:
        capped; nothing planned or queued any more: done
    dispatcher, right before a send (BroadcastChecks.before_send): still opted in, active, under the
        weekly cap, broadcast still running? else dropped (opted_out / blocked / capped / back to
        planned when paused / cancelled)
    dispatcher, after the send (BroadcastChecks.after_send, same transaction as the outbox row):
        sent / blocked / failed / unknown (a timeout: Telegram may have it; never sent again)

Outbox keys are `broadcast:<id>:<user_id>`: at most one message per person and announcement. A
pause cancels the pending ones (a cancelled key may be enqueued again: the resume reuses it).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.core.model import Button, Reply, UserRef
from flows.core.payloads import ANNOUNCEMENTS
from flows.core.ports import UnitOfWork
from flows.delivery.outbox import OutboxMessage, OutboxStatus, SendKind, SendResult
from flows.domain.broadcast import (
    DEFAULT_WEEKLY_CAP,
    WEEK,
    AnnouncementButton,
    Broadcast,
    BroadcastStatus,
    ButtonKind,
    Recipient,
    RecipientStatus,
    consent_purpose,
    needs_parent,
)

log = logging.getLogger(__name__)

MESSAGE_KEY = "broadcast.message"
KEY_PREFIX = "broadcast:"
SYSTEM = "system"  # who starts and finishes announcements in their history
FEED_BATCH = 200  # at most this many recipients of one announcement in the outbox at a time
RECONCILE_AFTER = timedelta(minutes=2)  # a queued recipient whose outbox row ended without us hearing of it
CANCELLED = "cancelled"  # outbox reason of a withdrawn message: its key may be enqueued again
BUTTON_KEYS = {ButtonKind.EVENT: "btn.broadcast.event", ButtonKind.OFFER: "btn.broadcast.offer",
               ButtonKind.PROFESSION: "btn.broadcast.profession"}
_VORNAME, _KM = "{vorname}", "{km}"


# ---------------------------------------------------------------------------------------- the message

def outbox_key(broadcast_id: int, user_id: int) -> str:
    return f"{KEY_PREFIX}{broadcast_id}:{user_id}"


def parse_key(key: str) -> tuple[int, int] | None:
    """(broadcast id, user id) of an announcement's outbox key; None for any other message."""
    if not key.startswith(KEY_PREFIX):
        return None
    parts = key.removeprefix(KEY_PREFIX).split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _fill(text: str, name: str, value: str) -> str:
    """Put `value` where the agent wrote `name`; when it is empty, leave no odd spaces or commas
    ("Hallo {vorname}, ..." -> "Hallo, ...", "{vorname}, schau mal" -> "Schau mal")."""
    if value:
        return text.replace(name, value)
    token = re.escape(name)

    def line_start(match: re.Match[str]) -> str:  # the rest of the line starts the sentence
        return match.group(1) + match.group(2).upper()
    text = re.sub(rf"(^|\n)[ \t]*{token}[ \t]*[,:;!]?[ \t]*(\S?)", line_start, text)
    text = re.sub(rf"[ \t]+{token}", "", text)
    text = text.replace(name, "")
    return re.sub(r"[ \t]{2,}", " ", text)


def personal_text(text: str, first_name: str | None, km: int | None) -> str:
    """The agent's text for one person: {vorname} (first name or nothing), {km} ("23 km" or nothing)."""
    text = _fill(text, _VORNAME, (first_name or "").strip())
    return _fill(text, _KM, f"{km} km" if km is not None else "").strip()


def _button(broadcast: Broadcast, index: int, button: AnnouncementButton) -> Button:
    if button.kind is ButtonKind.LINK:
        if button.label:
            return Button(key="btn.broadcast.link", data="", url=button.ref, values={"label": button.label})
        return Button(key="btn.broadcast.link_default", data="", url=button.ref)
    assert broadcast.id is not None
    return Button(key=BUTTON_KEYS[button.kind], data=ANNOUNCEMENTS.pack("go", broadcast.id, index))


def announcement_reply(broadcast: Broadcast, recipient: Recipient) -> Reply:
    """The message exactly as this person gets it (also the agent's preview and test send): "du" for
    young people, "Sie" for parents; the announcement's buttons, then "Keine solchen Nachrichten mehr"."""
    text = personal_text(broadcast.text_for(recipient.formal), recipient.first_name, recipient.km)
    rows = [[_button(broadcast, index, button)] for index, button in enumerate(broadcast.buttons)]
    rows.append([Button(key="btn.broadcast.stop", data=ANNOUNCEMENTS.pack("stop", broadcast.topic.value))])
    return Reply(key=MESSAGE_KEY, values={"text": text}, buttons=rows, photo_file_id=broadcast.picture)


def outbox_message(broadcast: Broadcast, recipient: Recipient, due_at: datetime) -> OutboxMessage:
    return OutboxMessage(recipient=UserRef(channel=recipient.channel, chat_id=recipient.chat_id),
                         reply=announcement_reply(broadcast, recipient), locale=recipient.locale,
                         formal=recipient.formal, minor=recipient.minor, due_at=due_at,
                         idempotency_key=outbox_key(recipient.broadcast_id, recipient.user_id))


# ---------------------------------------------------------------------------------------- its life

async def start(uow: UnitOfWork, broadcast: Broadcast, now: datetime,
                approval_minors: int | None = None) -> int | None:
    """A due announcement starts: running, its audience resolved once into recipient rows, in the
    caller's transaction. Returns how many people it reaches; None if it was not due (started
    already, paused, cancelled: nothing happens) or if it now reaches more minors than
    `approval_minors` without a second agent's approval (more opted in since it was scheduled): it
    then waits for that approval instead."""
    assert broadcast.id is not None
    current = await uow.broadcasts.get(broadcast.id)  # as stored now: another worker may have started it
    if current is None or not current.is_due(now):
        return None
    people = await uow.broadcasts.audience(current, now)
    minors = sum(1 for person in people if person.minor)
    if approval_minors is not None and current.approved_by is None and minors > approval_minors:
        current.status = BroadcastStatus.AWAITING_APPROVAL
        current.record("needs_approval", SYSTEM, now)
        await uow.broadcasts.save(current)
        log.info("announcement %s waits for approval: %d minors now", current.id, minors)
        return None
    await uow.broadcasts.add_recipients([p.model_copy(update={"broadcast_id": current.id,
                                                              "status": RecipientStatus.PLANNED,
                                                              "status_at": now}) for p in people])
    current.status, current.started_at = BroadcastStatus.RUNNING, now
    current.record("started", SYSTEM, now)
    await uow.broadcasts.save(current)
    log.info("announcement %s started: %d recipients", current.id, len(people))
    return len(people)


@dataclass
class FeedReport:
    queued: int = 0
    capped: int = 0
    settled: int = 0  # queued recipients whose outbox message ended without a result (reconciled)
    done: bool = False


async def feed(uow: UnitOfWork, broadcast: Broadcast, now: datetime, batch: int = FEED_BATCH,
               weekly_cap: int = DEFAULT_WEEKLY_CAP) -> FeedReport:
    """While running: top the outbox up to `batch` messages of this announcement; done when nobody is
    planned or queued any more."""
    assert broadcast.id is not None
    report = FeedReport()
    current = await uow.broadcasts.get(broadcast.id)
    if current is None or current.status is not BroadcastStatus.RUNNING:
        return report
    queued = await uow.broadcasts.recipients(current.id or 0, RecipientStatus.QUEUED, batch)
    report.settled = await _reconcile(uow, [r for r in queued if r.status_at is None
                                            or r.status_at <= now - RECONCILE_AFTER], now)
    # Messages held back by quiet hours (minors in the evening) do not take the room of those who may
    # get theirs now: the adults behind them are not kept waiting until the morning.
    held = sum([await _held_back(uow, person, now) for person in queued])
    room = batch - (len(queued) - report.settled - held)
    if room > 0:
        for person in await uow.broadcasts.recipients(current.id or 0, RecipientStatus.PLANNED, room):
            if await uow.broadcasts.sent_since(person.user_id, now - WEEK) >= weekly_cap:
                await uow.broadcasts.set_recipient_status(person.broadcast_id, person.user_id,
                                                          RecipientStatus.CAPPED, now)
                report.capped += 1
                continue
            await uow.outbox.enqueue(outbox_message(current, person, now))
            await uow.broadcasts.set_recipient_status(person.broadcast_id, person.user_id,
                                                      RecipientStatus.QUEUED, now)
            report.queued += 1
    if report.queued == 0 and report.capped == 0:
        left = (await uow.broadcasts.recipients(current.id or 0, RecipientStatus.PLANNED, 1)
                or await uow.broadcasts.recipients(current.id or 0, RecipientStatus.QUEUED, 1))
        if not left:
            current.status, current.finished_at = BroadcastStatus.DONE, now
            current.record("done", SYSTEM, now)
            await uow.broadcasts.save(current)
            report.done = True
            log.info("announcement %s done", current.id)
    return report


async def _held_back(uow: UnitOfWork, person: Recipient, now: datetime) -> bool:
    """Their message waits in the outbox for a later time (quiet hours), not for a sending slot."""
    message = await uow.outbox.get(outbox_key(person.broadcast_id, person.user_id))
    return message is not None and message.status is OutboxStatus.PENDING and message.due_at > now


async def _reconcile(uow: UnitOfWork, queued: list[Recipient], now: datetime) -> int:
    """Queued recipients whose outbox message ended where no hook saw it (dropped when the person
    blocked the bot, expired, withdrawn by a pause): their status from the outbox row."""
    settled = 0
    for person in queued:
        message = await uow.outbox.get(outbox_key(person.broadcast_id, person.user_id))
        status = _status_of(message)
        if status is not None:
            await uow.broadcasts.set_recipient_status(person.broadcast_id, person.user_id, status, now)
            settled += 1
    return settled


def _status_of(message: OutboxMessage | None) -> RecipientStatus | None:
    if message is None:  # purged: its outcome is not known any more
        return RecipientStatus.UNKNOWN
    if message.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
        return None
    if message.status is OutboxStatus.SENT:
        return RecipientStatus.SENT
    error = message.last_error or ""
    if message.status is OutboxStatus.FAILED:
        return RecipientStatus.UNKNOWN if error.startswith(SendKind.UNKNOWN.value) else RecipientStatus.FAILED
    if error == CANCELLED:
        return RecipientStatus.PLANNED  # withdrawn by a pause: sent after the resume
    return RecipientStatus.FAILED if error == "expired" else RecipientStatus.BLOCKED


async def _withdraw_queued(uow: UnitOfWork, broadcast_id: int, now: datetime, batch: int) -> int:
    """Cancel the pending outbox messages of this announcement; their recipients planned again.
    A message being sent right now cannot be recalled: its recipient stays queued (the dispatcher's
    check right before the send puts it back, or the result after it counts)."""
    back = 0
    for _ in range(10_000):  # bounded: each round handles up to `batch` queued recipients
        queued = await uow.broadcasts.recipients(broadcast_id, RecipientStatus.QUEUED, batch)
        keys = [outbox_key(r.broadcast_id, r.user_id) for r in queued]
        await uow.outbox.cancel(keys)
        moved = 0
        for person, key in zip(queued, keys):
            message = await uow.outbox.get(key)
            if message is None or (message.status is OutboxStatus.DROPPED and message.last_error == CANCELLED):
                await uow.broadcasts.set_recipient_status(broadcast_id, person.user_id, RecipientStatus.PLANNED,
                                                          now)
                moved += 1
        back += moved
        if moved == 0 or len(queued) < batch:
            break
    return back


async def pause_pending(uow: UnitOfWork, broadcast: Broadcast, now: datetime, batch: int = FEED_BATCH) -> int:
    """After a pause (status paused, set by the service): what waits in the outbox is withdrawn and
    planned again, so nothing more goes out; resume() feeds them again. Returns how many."""
    assert broadcast.id is not None
    return await _withdraw_queued(uow, broadcast.id, now, batch)


async def cancel_pending(uow: UnitOfWork, broadcast: Broadcast, now: datetime) -> int:
    """After a cancel (status cancelled, set by the service): everyone still planned or queued is
    cancelled, their pending outbox messages too. Returns how many recipients were cancelled."""
    assert broadcast.id is not None
    await _withdraw_queued(uow, broadcast.id, now, FEED_BATCH)
    return await uow.broadcasts.set_planned_status(broadcast.id, RecipientStatus.CANCELLED, now)


# ---------------------------------------------------------------------------------------- dispatcher hook

@dataclass(frozen=True)
class BroadcastChecks:
    """The dispatcher's hook for announcements: the person's check right before the send, and the
    result after it (both in the transaction that settles the outbox row)."""

    weekly_cap: int = DEFAULT_WEEKLY_CAP

    def applies(self, message: OutboxMessage) -> bool:
        return parse_key(message.idempotency_key) is not None

    def at_most_once(self, message: OutboxMessage) -> bool:
        """A send that may have reached Telegram (timeout) is never repeated: better one missing
        announcement than two."""
        return True

    async def before_send(self, uow: UnitOfWork, message: OutboxMessage, now: datetime) -> str | None:
        """None: send it. Else why not (the outbox row is dropped for that reason)."""
        ids = parse_key(message.idempotency_key)
        assert ids is not None
        broadcast_id, user_id = ids
        broadcast = await uow.broadcasts.get(broadcast_id)
        verdict = await self._verdict(uow, broadcast, user_id, now)
        if verdict is not None:
            status, reason = verdict
            await uow.broadcasts.set_recipient_status(broadcast_id, user_id, status, now)
            return reason
        return None

    async def _verdict(self, uow: UnitOfWork, broadcast: Broadcast | None, user_id: int,
                       now: datetime) -> tuple[RecipientStatus, str] | None:
        if broadcast is None or broadcast.status is BroadcastStatus.CANCELLED:
            return RecipientStatus.CANCELLED, "broadcast cancelled"
        if broadcast.status is BroadcastStatus.PAUSED:
            return RecipientStatus.PLANNED, CANCELLED  # the same key goes out after the resume
        profile = await uow.users.by_id(user_id)
        if profile is None:
            return RecipientStatus.OPTED_OUT, "user gone"
        if not profile.active:
            return RecipientStatus.BLOCKED, "user inactive"
        purpose = consent_purpose(broadcast.topic)
        consents = [c for c in await uow.consents.list_for_user(user_id)
                    if c.purpose == purpose and c.withdrawn_at is None]
        if needs_parent(profile.role, profile.age_band):
            consents = [c for c in consents if c.given_by == "parent"]
        if not consents:
            return RecipientStatus.OPTED_OUT, "opted out"
        if await uow.broadcasts.sent_since(user_id, now - WEEK) >= self.weekly_cap:
            return RecipientStatus.CAPPED, "weekly cap"
        return None

    async def after_send(self, uow: UnitOfWork, message: OutboxMessage, result: SendResult, at: datetime) -> None:
        """The final result of the send (not called for a send that will be tried again)."""
        ids = parse_key(message.idempotency_key)
        assert ids is not None
        status = {SendKind.OK: RecipientStatus.SENT, SendKind.BLOCKED: RecipientStatus.BLOCKED,
                  SendKind.UNKNOWN: RecipientStatus.UNKNOWN}.get(result.kind, RecipientStatus.FAILED)
        await uow.broadcasts.set_recipient_status(ids[0], ids[1], status, at)


__all__ = [
    "FEED_BATCH", "MESSAGE_KEY", "BroadcastChecks", "FeedReport", "announcement_reply", "cancel_pending", "feed",
    "outbox_key", "parse_key", "pause_pending", "personal_text", "start",
]
