"""Announcements ("Impuls Cottbus next Saturday, 12 of our companies are there"): what cluster
agents send to the people who said yes to them, and the rules of their life.

    opt-in per topic (a consent record "announcements:<topic>"; under 16 confirmed by a parent)
    agent composes ──> draft ──schedule──> scheduled ──(more than N minors: a second agent approves)
        ──due──> running: the audience is resolved once, one recipient row per person ──> outbox
        ──> done;  paused / resumed while running; cancelled any time before it is done

Each recipient row keeps what happened to that person's message; a person's opt-in, block and
weekly cap are checked again right before their message goes out.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

TEXT_LIMIT = 4096  # Telegram's limit for a message text
CAPTION_LIMIT = 1024  # and for a picture's caption
CONSENT_PREFIX = "announcements:"  # consent purpose of an opt-in: "announcements:<topic>"
CONSENT_VERSION = "announcements-2026-12"  # the opt-in text people saw
OPT_IN_REQUEST = "announcements"  # ParentRequest.purpose of an under-16's opt-in a parent confirms
KmBetween = Callable[[float, float, float, float], float]
WEEK = timedelta(days=7)
DEFAULT_WEEKLY_CAP = 2
OPT_OUT_WINDOW = timedelta(hours=48)  # "opted out within 48 h" in the results
FOLLOW_UP_WINDOW = timedelta(days=7)  # RSVPs and leads that "followed" an announcement


class Topic(StrEnum):
    EVENTS = "events"  # fairs and events near me
    OFFERS = "offers"  # new offers
    NEWS = "news"  # news of my cluster


def consent_purpose(topic: Topic) -> str:
    return CONSENT_PREFIX + topic.value


def needs_parent(role: str | None, age_band: str | None) -> bool:
    """Under 16, or a young person who has not said how old: only a parent's opt-in counts.
    (storage/broadcasts.py says the same in SQL.)"""
    return age_band == "u16" or (role == "teen" and age_band is None)


def topic_of(purpose: str) -> Topic | None:
    """The topic of an opt-in's consent purpose; None for any other consent."""
    if not purpose.startswith(CONSENT_PREFIX):
        return None
    try:
        return Topic(purpose.removeprefix(CONSENT_PREFIX))
    except ValueError:
        return None


class Audience(BaseModel):
    """Who an announcement is for, within the agent's cluster and among those opted in to its topic.
    Empty lists mean "any"."""

    roles: list[str] = Field(default_factory=lambda: ["teen", "parent"])  # teen, parent
    age_bands: list[str] = Field(default_factory=list)  # u16, 16_17, 18plus
    near_plz: str | None = None  # around a postcode ...
    near_event: str | None = None  # ... or around an event's place
    radius_km: int | None = None  # with one of the two; None: the whole cluster
    fields: list[str] = Field(default_factory=list)  # interest fields (from the quiz result or saved searches)
    professions: list[str] = Field(default_factory=list)  # profession slugs (quiz top 3, saved searches)
    school_statuses: list[str] = Field(default_factory=list)
    school_classes: list[int] = Field(default_factory=list)
    rsvp_event: str | None = None  # with rsvp_going: only those who did (True) or did not (False) RSVP
    rsvp_going: bool | None = None
    active_within_days: int | None = None  # wrote to the bot in the last N days
    exclude_recipients_of: list[int] = Field(default_factory=list)  # not who got these broadcasts


class AudienceCount(BaseModel):
    """The live count while composing: "erreicht 1.284 Personen, davon 310 unter 16 mit Zustimmung
    der Eltern"."""

    total: int = 0
    minors: int = 0  # under 18
    under_16: int = 0  # all with a parent's confirmation (no one else is counted)
    capped: int = 0  # reached this week's cap: would not get it now


class ButtonKind(StrEnum):
    EVENT = "event"  # "Ich komme": RSVP with reminders
    OFFER = "offer"
    PROFESSION = "profession"
    LINK = "link"  # an https address


class AnnouncementButton(BaseModel):
    kind: ButtonKind
    ref: str  # slug, or the https address of a link
    label: str | None = None  # a link's label as the agent wrote it


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class BroadcastAction(BaseModel):
    """Who did what when: every change of an announcement is recorded."""

    action: str  # created, edited, scheduled, approved, started, paused, resumed, cancelled, done, test_sent
    by: str  # "telegram:<chat id>", "console:<id>", "cli", "system"
    at: datetime


class Broadcast(BaseModel):
    id: int | None = None
    cluster: str
    topic: Topic
    text_du: str  # for young people
    text_sie: str  # for parents
    picture: str | None = None  # a Telegram file_id; the text is then its caption
    buttons: list[AnnouncementButton] = Field(default_factory=list)
    audience: Audience = Field(default_factory=Audience)
    status: BroadcastStatus = BroadcastStatus.DRAFT
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    created_by: str
    approved_by: str | None = None
    created_at: datetime
    history: list[BroadcastAction] = Field(default_factory=list)

    # The rules of its life: what may happen to it in which state.
    @property
    def editable(self) -> bool:
        return self.status in (BroadcastStatus.DRAFT, BroadcastStatus.AWAITING_APPROVAL, BroadcastStatus.SCHEDULED)

    @property
    def cancellable(self) -> bool:
        return self.status not in (BroadcastStatus.CANCELLED, BroadcastStatus.DONE)

    @property
    def pausable(self) -> bool:
        return self.status is BroadcastStatus.RUNNING

    @property
    def resumable(self) -> bool:
        return self.status is BroadcastStatus.PAUSED

    def is_due(self, now: datetime) -> bool:
        return self.status is BroadcastStatus.SCHEDULED and self.scheduled_at is not None and self.scheduled_at <= now

    def record(self, action: str, by: str, at: datetime) -> None:
        self.history.append(BroadcastAction(action=action, by=by, at=at))

    def text_for(self, formal: bool) -> str:
        return self.text_sie if formal else self.text_du

    def text_limit(self) -> int:
        return CAPTION_LIMIT if self.picture else TEXT_LIMIT


class RecipientStatus(StrEnum):
    PLANNED = "planned"  # resolved into the audience, not yet handed to the outbox
    QUEUED = "queued"  # in the outbox
    SENT = "sent"
    BLOCKED = "blocked"  # the person blocked the bot
    FAILED = "failed"
    UNKNOWN = "unknown"  # a send timed out: Telegram may or may not have it; never sent again blindly
    OPTED_OUT = "opted_out"  # withdrew the opt-in before their message went out
    CAPPED = "capped"  # had this week's announcements already
    CANCELLED = "cancelled"  # the broadcast was cancelled before their message went out


NOT_DELIVERED = (RecipientStatus.BLOCKED, RecipientStatus.FAILED, RecipientStatus.UNKNOWN)


class Recipient(BaseModel):
    """One person of an announcement's audience, with what the message needs for them."""

    broadcast_id: int
    user_id: int
    channel: str
    chat_id: int
    formal: bool  # parents: "Sie"
    minor: bool  # quiet hours for minors
    locale: str = "de"
    first_name: str | None = None
    km: int | None = None  # to the event of the announcement, if any
    status: RecipientStatus = RecipientStatus.PLANNED
    status_at: datetime | None = None
    tapped_at: datetime | None = None


class BroadcastResults(BaseModel):
    """What an agent sees of an announcement: progress while it runs, results after."""

    total: int = 0
    planned: int = 0  # not yet handed to the outbox
    queued: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0  # opted out, capped or cancelled before their message went out
    opted_out_48h: int = 0  # withdrew the opt-in within 48 h after their message
    taps: int = 0
    rsvps_7d: int = 0  # RSVPs to the announced event within 7 days after the message
    leads_7d: int = 0  # "Interessiert mich" within 7 days after the message

    @property
    def remaining(self) -> int:
        return self.planned + self.queued

    @property
    def not_delivered(self) -> int:
        return self.blocked + self.failed + self.unknown


def eta_seconds(remaining: int, per_second: float) -> int:
    """About how long the rest takes at the bot's sending rate."""
    return round(remaining / per_second) if per_second > 0 else 0


class Candidate(BaseModel):
    """What the audience rules read of a person (storage gathers it; SQL does the same in bulk)."""

    user_id: int
    role: str | None
    age_band: str | None
    cluster: str | None
    school_status: str | None = None
    school_class: int | None = None
    lat: float | None = None  # home
    lon: float | None = None
    last_seen_at: datetime | None = None
    fields: set[str] = Field(default_factory=set)  # of the professions in their quiz result and saved searches
    professions: set[str] = Field(default_factory=set)
    rsvps: set[str] = Field(default_factory=set)  # event slugs
    got_broadcasts: set[int] = Field(default_factory=set)


def audience_fits(audience: Audience, person: Candidate, cluster: str, now: datetime,
                  center: tuple[float, float] | None, km_between: KmBetween) -> bool:
    """Whether a person opted in to the topic belongs to an announcement's audience. `center` is the
    place of `near_plz` / `near_event` (None: no radius)."""
    if person.cluster != cluster or (audience.roles and person.role not in audience.roles):
        return False
    if audience.age_bands and person.age_band not in audience.age_bands:
        return False
    if audience.school_statuses and person.school_status not in audience.school_statuses:
        return False
    if audience.school_classes and person.school_class not in audience.school_classes:
        return False
    if center is not None and audience.radius_km is not None:
        if person.lat is None or person.lon is None:
            return False
        if km_between(center[0], center[1], person.lat, person.lon) > audience.radius_km:
            return False
    if audience.fields and not (person.fields & set(audience.fields)):
        return False
    if audience.professions and not (person.professions & set(audience.professions)):
        return False
    if audience.rsvp_event is not None and audience.rsvp_going is not None \
            and (audience.rsvp_event in person.rsvps) is not audience.rsvp_going:
        return False
    if audience.active_within_days is not None and (
            person.last_seen_at is None or person.last_seen_at < now - timedelta(days=audience.active_within_days)):
        return False
    return not (person.got_broadcasts & set(audience.exclude_recipients_of))
