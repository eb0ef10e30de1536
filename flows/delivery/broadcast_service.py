"""What cluster agents do with announcements, for every front end (the Telegram wizard
flows/conversations/broadcasts.py, `lotse broadcast`, later a web cockpit): compose, count, check,
schedule, approve, pause, resume, cancel, test-send, list with results.

    create (draft) ──edit*──> schedule (a time in the future, or now)
        ──more than `approval_minors` minors──> awaiting_approval ──a second agent approves──> scheduled
        ──> scheduled ──(the sending job starts it when due)──> running ⇄ paused ──> done
    edit while draft / awaiting approval / scheduled: it becomes a draft again (to be scheduled, and
    approved, again: nobody approves a text other than the one they read); cancel until it is done.

Rights: only agents (a configured id) act, and only on their own cluster's announcements: another
cluster's is "not found" (nothing of it is shown or changed). Every action is recorded in the
announcement's history with who ("telegram:<chat id>", "cli") and when. Nothing here commits: the
caller's unit of work does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows.core.model import Profile, Reply
from flows.core.ports import UnitOfWork
from flows.delivery.broadcast_sending import announcement_reply, cancel_pending, pause_pending
from flows.delivery.outbox import OutboxMessage
from flows.domain.broadcast import (
    CAPTION_LIMIT,
    DEFAULT_WEEKLY_CAP,
    TEXT_LIMIT,
    AnnouncementButton,
    Audience,
    AudienceCount,
    Broadcast,
    BroadcastResults,
    BroadcastStatus,
    ButtonKind,
    Recipient,
    Topic,
    eta_seconds,
)
from flows.domain.contact_details import MAX_NAME

ZONE = ZoneInfo("Europe/Berlin")  # agents type and read times in German local time
SEND_RATE = 30.0  # messages per second the bot may send (Telegram's limit); the ETA's upper bound
VARIABLES = {"vorname": "W" * MAX_NAME, "km": "999 km"}  # {name} -> its longest plausible value
SAMPLE_FIRST_NAME, SAMPLE_KM = "Alex", 12  # what the preview and the test send fill in
VARIABLE_RE = re.compile(r"\{([A-Za-z_]+)\}")
FORMAL_ROLES = ("parent", "company", "other")  # addressed with "Sie"
MAX_BUTTONS = 4
CLI = "cli"


class Refused(Exception):
    """An action that is not allowed (the reason is a short code the front end words)."""

    def __init__(self, reason: str, **values: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class Actor:
    """Who acts: `by` as recorded in the history; `agent`: a configured agent id; `cluster`: the
    cluster in their profile; `anywhere`: the operator on the server (`lotse broadcast`)."""

    by: str
    agent: bool
    cluster: str | None
    anywhere: bool = False

    @classmethod
    def of(cls, profile: Profile, agent: bool) -> Actor:
        return cls(by=f"{profile.channel}:{profile.chat_id}", agent=agent, cluster=profile.cluster)

    @classmethod
    def cli(cls) -> Actor:
        return cls(by=CLI, agent=True, cluster=None, anywhere=True)

    def may(self, broadcast: Broadcast) -> bool:
        return self.agent and (self.anywhere or (self.cluster is not None and self.cluster == broadcast.cluster))


@dataclass(frozen=True)
class Problem:
    """Something that keeps an announcement from being scheduled: `reason` and where (du / sie)."""

    reason: str  # missing, too_long, unknown_variable, no_event
    form: str = ""  # du, sie ("" for the whole announcement)
    length: int = 0
    limit: int = 0
    name: str = ""  # an unknown variable


@dataclass(frozen=True)
class Progress:
    """One announcement in an agent's list: its results and, while it runs, about how long the rest takes."""

    broadcast: Broadcast
    results: BroadcastResults
    eta_seconds: int | None  # None unless running


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


def filled_longest(text: str) -> str:
    """The text with every variable at its longest plausible value (what the limit must allow)."""
    return VARIABLE_RE.sub(lambda m: VARIABLES.get(m.group(1), m.group(0)), text)


def needs_du(audience: Audience) -> bool:
    """Young people ("du") can be in the audience."""
    return not audience.roles or "teen" in audience.roles


def needs_sie(audience: Audience) -> bool:
    """Parents (or other adults, "Sie") can be in the audience. An age band keeps parents out (they
    have none)."""
    formal = not audience.roles or any(role in FORMAL_ROLES for role in audience.roles)
    return formal and not audience.age_bands


def problems(broadcast: Broadcast) -> list[Problem]:
    """What must be fixed before it can be scheduled: the texts its audience needs (du for young
    people, Sie for parents), within Telegram's limits once the variables are filled, with known
    variables only."""
    found: list[Problem] = []
    limit = CAPTION_LIMIT if broadcast.picture else TEXT_LIMIT
    for form, needed, text in (("du", needs_du(broadcast.audience), broadcast.text_du),
                               ("sie", needs_sie(broadcast.audience), broadcast.text_sie)):
        if not needed:
            continue
        if not text.strip():
            found.append(Problem("missing", form))
            continue
        unknown = [m.group(1) for m in VARIABLE_RE.finditer(text) if m.group(1) not in VARIABLES]
        if unknown:
            found.append(Problem("unknown_variable", form, name=unknown[0]))
        length = telegram_length(filled_longest(text))
        if length > limit:
            found.append(Problem("too_long", form, length=length, limit=limit))
    if not needs_du(broadcast.audience) and not needs_sie(broadcast.audience):
        found.append(Problem("no_audience"))
    return found


def parse_local(text: str, now: datetime, zone: ZoneInfo = ZONE) -> datetime | None:
    """ "13.03. 09:00", "13.03.2027 9:00", "13.3. 9 Uhr" in local time -> aware UTC; without a year the
    next such day (this year, or next year once it has passed). None if it is no such moment (also a
    wall time skipped by the change to summer time)."""
    match = re.fullmatch(r"\s*(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})?,?\s+(?:um\s+)?(\d{1,2})(?:[:.](\d{2}))?\s*(?:uhr)?\s*",
                         text.lower())
    if match is None:
        return None
    day, month, year, hour, minute = match.groups()
    local_now = now.astimezone(zone)
    years = [int(year) + (2000 if len(year) == 2 else 0)] if year else [local_now.year, local_now.year + 1]
    for candidate in years:
        try:
            naive = datetime(candidate, int(month), int(day), int(hour), int(minute or 0))
        except ValueError:
            return None
        aware = naive.replace(tzinfo=zone)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            return None  # 02:30 on the night the clocks go forward does not exist
        if year or aware >= local_now:
            return aware.astimezone(UTC)
    return None


def sample_recipient(broadcast: Broadcast, profile: Profile, formal: bool) -> Recipient:
    """The agent as a recipient of the du or Sie form, with example values for the variables."""
    return Recipient(broadcast_id=broadcast.id or 0, user_id=profile.id or 0, channel=profile.channel,
                     chat_id=profile.chat_id, formal=formal, minor=False, locale=profile.locale,
                     first_name=SAMPLE_FIRST_NAME, km=SAMPLE_KM)


def forms(broadcast: Broadcast) -> list[str]:
    """The forms its audience gets: du, sie or both."""
    return [form for form, needed in (("du", needs_du(broadcast.audience)), ("sie", needs_sie(broadcast.audience)))
            if needed]


class BroadcastService:
    """One unit of work's view of the announcements, at one moment."""

    def __init__(self, uow: UnitOfWork, now: datetime, approval_minors: int | None = None,
                 weekly_cap: int = DEFAULT_WEEKLY_CAP, send_rate: float = SEND_RATE) -> None:
        """approval_minors: more minors than this need a second agent's approval (None: never)."""
        self.uow = uow
        self.now = now
        self.approval_minors = approval_minors
        self.weekly_cap = weekly_cap
        self.send_rate = send_rate

    # ---- reading --------------------------------------------------------------------------------
    async def get(self, actor: Actor, broadcast_id: int) -> Broadcast:
        """The announcement, if the actor may see it; another cluster's is "not found" like a wrong id."""
        broadcast = await self.uow.broadcasts.get(broadcast_id)
        if broadcast is None or not actor.may(broadcast):
            raise Refused("not_found", id=broadcast_id)
        return broadcast

    async def overview(self, actor: Actor, cluster: str | None = None) -> list[Progress]:
        """The cluster's announcements, newest first, with results (an operator: any `cluster`, or all)."""
        if not actor.agent:
            raise Refused("not_agent")
        if actor.anywhere:
            clusters = [cluster] if cluster else [c.slug for c in await self.uow.content.clusters()]
        elif actor.cluster is None:
            raise Refused("no_cluster")
        else:
            clusters = [actor.cluster]
        found = [b for slug in clusters for b in await self.uow.broadcasts.for_cluster(slug)]
        found.sort(key=lambda b: -(b.id or 0))
        return [await self._progress(b) for b in found]

    async def progress(self, actor: Actor, broadcast_id: int) -> Progress:
        return await self._progress(await self.get(actor, broadcast_id))

    async def _progress(self, broadcast: Broadcast) -> Progress:
        assert broadcast.id is not None
        results = await self.uow.broadcasts.results(broadcast.id)
        eta = None
        if broadcast.status is BroadcastStatus.RUNNING:
            rate = self.send_rate
            done = results.total - results.remaining
            elapsed = (self.now - broadcast.started_at).total_seconds() if broadcast.started_at else 0.0
            if done > 0 and elapsed > 0:
                rate = min(rate, done / elapsed)  # slower than the limit (quiet hours, answers first): say so
            eta = eta_seconds(results.remaining, rate)
        return Progress(broadcast, results, eta)

    async def count(self, broadcast: Broadcast) -> AudienceCount:
        """Who it would reach now (the live count while composing)."""
        return await self.uow.broadcasts.count(broadcast, self.now, self.weekly_cap)

    # ---- composing ------------------------------------------------------------------------------
    async def create(self, actor: Actor, topic: Topic) -> Broadcast:
        if not actor.agent:
            raise Refused("not_agent")
        if actor.cluster is None:
            raise Refused("no_cluster")
        draft = Broadcast(cluster=actor.cluster, topic=topic, text_du="", text_sie="", created_by=actor.by,
                          created_at=self.now)
        draft.record("created", actor.by, self.now)
        return await self.uow.broadcasts.add(draft)

    async def edit(self, actor: Actor, broadcast_id: int, *, topic: Topic | None = None, text_du: str | None = None,
                   text_sie: str | None = None, picture: str | None = None, remove_picture: bool = False,
                   buttons: list[AnnouncementButton] | None = None, audience: Audience | None = None) -> Broadcast:
        """Change what is given. Until it starts; a scheduled or waiting one becomes a draft again."""
        broadcast = await self.get(actor, broadcast_id)
        if not broadcast.editable:
            raise Refused("not_editable", status=broadcast.status.value)
        if buttons is not None:
            await self._check_buttons(broadcast.cluster, buttons)
        if audience is not None:
            await self._check_audience(broadcast.cluster, audience)
        changes: dict[str, Any] = {k: v for k, v in (("topic", topic), ("text_du", text_du), ("text_sie", text_sie),
                                                      ("picture", picture), ("buttons", buttons),
                                                      ("audience", audience)) if v is not None}
        if remove_picture:
            changes["picture"] = None
        for name, value in changes.items():
            setattr(broadcast, name, value)
        if broadcast.status is not BroadcastStatus.DRAFT:
            broadcast.status, broadcast.scheduled_at, broadcast.approved_by = BroadcastStatus.DRAFT, None, None
        broadcast.record("edited", actor.by, self.now)
        await self.uow.broadcasts.save(broadcast)
        return broadcast

    async def _check_buttons(self, cluster: str, buttons: list[AnnouncementButton]) -> None:
        if len(buttons) > MAX_BUTTONS:
            raise Refused("too_many_buttons", count=MAX_BUTTONS)
        for b in buttons:
            if b.kind is ButtonKind.LINK:
                if not re.fullmatch(r"https://[^\s<>\"]{3,500}", b.ref):
                    raise Refused("bad_link")
            elif b.kind is ButtonKind.EVENT:
                event = await self.uow.events.get(b.ref)
                if event is None or event.cluster != cluster or event.cancelled or event.ends <= self.now:
                    raise Refused("unknown_target", kind=b.kind.value)
            elif b.kind is ButtonKind.OFFER:
                card = await self.uow.vacancies.card(b.ref)
                if card is None:
                    raise Refused("unknown_target", kind=b.kind.value)
            elif await self.uow.content.profession(b.ref) is None:
                raise Refused("unknown_target", kind=b.kind.value)

    async def _check_audience(self, cluster: str, audience: Audience) -> None:
        for slug in (audience.near_event, audience.rsvp_event):
            event = await self.uow.events.get(slug) if slug else None
            if slug and (event is None or event.cluster != cluster):
                raise Refused("unknown_target", kind="event")
        if (audience.near_event or audience.near_plz) and audience.radius_km is not None \
                and not 1 <= audience.radius_km <= 300:
            raise Refused("bad_radius")

    # ---- scheduling and its approval ------------------------------------------------------------
    async def schedule(self, actor: Actor, broadcast_id: int, at: datetime | None = None) -> Broadcast:
        """Plan it for `at` (aware; None: now). Texts are checked first; more minors than the
        threshold: it waits for a second agent's approval."""
        broadcast = await self.get(actor, broadcast_id)
        if not broadcast.editable:
            raise Refused("not_editable", status=broadcast.status.value)
        when = self.now if at is None else at
        if when.tzinfo is None:
            raise ValueError("a schedule time must be timezone-aware")
        if when < self.now:
            raise Refused("in_past")
        found = problems(broadcast)
        if found:
            raise Refused("texts", problems=found)
        count = await self.count(broadcast)
        waits = self.approval_minors is not None and count.minors > self.approval_minors
        broadcast.status = BroadcastStatus.AWAITING_APPROVAL if waits else BroadcastStatus.SCHEDULED
        broadcast.scheduled_at, broadcast.approved_by = when.astimezone(UTC), None
        broadcast.record("scheduled", actor.by, self.now)
        await self.uow.broadcasts.save(broadcast)
        return broadcast

    def needs_approval(self, count: AudienceCount) -> bool:
        return self.approval_minors is not None and count.minors > self.approval_minors

    @staticmethod
    def authors(broadcast: Broadcast) -> set[str]:
        """Who wrote, changed or scheduled it: none of them may approve it."""
        return {broadcast.created_by} | {a.by for a in broadcast.history if a.action in ("created", "edited", "scheduled")}

    def may_approve(self, actor: Actor, broadcast: Broadcast) -> bool:
        return actor.may(broadcast) and broadcast.status is BroadcastStatus.AWAITING_APPROVAL \
            and actor.by not in self.authors(broadcast)

    async def approve(self, actor: Actor, broadcast_id: int) -> Broadcast:
        """A second agent of the cluster approves it; it goes out at its time (at once if that has passed)."""
        broadcast = await self.get(actor, broadcast_id)
        if broadcast.status is not BroadcastStatus.AWAITING_APPROVAL:
            raise Refused("not_waiting", status=broadcast.status.value)
        if actor.by in self.authors(broadcast):
            raise Refused("own_broadcast")
        broadcast.status, broadcast.approved_by = BroadcastStatus.SCHEDULED, actor.by
        broadcast.record("approved", actor.by, self.now)
        await self.uow.broadcasts.save(broadcast)
        return broadcast

    # ---- while it runs --------------------------------------------------------------------------
    async def pause(self, actor: Actor, broadcast_id: int) -> Broadcast:
        broadcast = await self.get(actor, broadcast_id)
        if not broadcast.pausable:
            raise Refused("not_running", status=broadcast.status.value)
        broadcast = await self._set(broadcast, BroadcastStatus.PAUSED, "paused", actor)
        await pause_pending(self.uow, broadcast, self.now)  # what waits in the outbox is withdrawn
        return broadcast

    async def resume(self, actor: Actor, broadcast_id: int) -> Broadcast:
        broadcast = await self.get(actor, broadcast_id)
        if not broadcast.resumable:
            raise Refused("not_paused", status=broadcast.status.value)
        return await self._set(broadcast, BroadcastStatus.RUNNING, "resumed", actor)

    async def cancel(self, actor: Actor, broadcast_id: int) -> Broadcast:
        """Before it starts, or while it runs: what has not gone out yet never goes."""
        broadcast = await self.get(actor, broadcast_id)
        if not broadcast.cancellable:
            raise Refused("not_cancellable", status=broadcast.status.value)
        broadcast = await self._set(broadcast, BroadcastStatus.CANCELLED, "cancelled", actor)
        await cancel_pending(self.uow, broadcast, self.now)
        return broadcast

    async def _set(self, broadcast: Broadcast, status: BroadcastStatus, action: str, actor: Actor) -> Broadcast:
        broadcast.status = status
        broadcast.record(action, actor.by, self.now)
        await self.uow.broadcasts.save(broadcast)
        return broadcast

    # ---- what recipients see --------------------------------------------------------------------
    def previews(self, broadcast: Broadcast, agent: Profile) -> list[tuple[str, Reply]]:
        """The announcement exactly as recipients see it, per form its audience gets, with example values."""
        return [(form, announcement_reply(broadcast, sample_recipient(broadcast, agent, form == "sie")))
                for form in forms(broadcast)]

    async def test_send(self, actor: Actor, broadcast_id: int, agent: Profile, note: Reply) -> int:
        """Each form its audience gets, to the agent's own chat through the outbox, after a `note` that
        says it is a test. Returns how many announcements were queued."""
        broadcast = await self.get(actor, broadcast_id)
        if agent.id is None:
            raise Refused("not_agent")
        assert broadcast.id is not None
        n = sum(1 for a in broadcast.history if a.action == "test_sent")
        key = f"broadcast-test:{broadcast.id}:{n}"
        sent = 0
        messages = [OutboxMessage.to(agent, note, self.now, f"{key}:note")]
        for form, reply in self.previews(broadcast, agent):
            messages.append(OutboxMessage.to(agent, reply, self.now + timedelta(microseconds=len(messages)),
                                             f"{key}:{form}").model_copy(update={"formal": form == "sie",
                                                                                 "minor": False}))
            sent += 1
        for message in messages:
            await self.uow.outbox.enqueue(message)
        broadcast.record("test_sent", actor.by, self.now)
        await self.uow.broadcasts.save(broadcast)
        return sent
