"""What the user did (Event), what the bot answers (Reply) and the stored conversation."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class EventKind(StrEnum):
    TEXT = "text"
    BUTTON = "button"
    COMMAND = "command"
    CONTACT = "contact"
    LOCATION = "location"
    MEDIA = "media"
    BLOCKED = "blocked"  # the user blocked the bot (Telegram: my_chat_member "kicked"): no replies
    UNBLOCKED = "unblocked"  # ... and unblocked it again ("member")


class UserRef(BaseModel):
    """Who acts: a channel ("telegram", "console") and the chat id there."""

    model_config = ConfigDict(frozen=True)

    channel: str
    chat_id: int
    language_code: str | None = None

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.chat_id}"


class Event(BaseModel):
    """One thing a user did, independent of the messenger."""

    user: UserRef
    kind: EventKind
    update_id: int | None = None  # None: not deduplicated (e.g. terminal chat without ids)
    text: str | None = None  # free text, or the command name without "/" for COMMAND
    data: str | None = None  # button payload
    payload: str | None = None  # deep-link payload of /start
    phone: str | None = None  # contact
    latitude: float | None = None
    longitude: float | None = None
    media_type: str | None = None  # sticker, photo, voice, video, document, ...
    file_id: str | None = None  # a photo's file_id at the messenger (an agent's picture for an announcement)

    @field_validator("text", "data", "payload", "phone")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # NUL is no character anyone types; PostgreSQL cannot store it in text (and refuses the whole write).
        return None if value is None else value.replace("\x00", "")


class Button(BaseModel):
    """A button: a text key to render and a short payload (fits 64 bytes, never user text), or a
    link that opens outside the bot (`url`, https only; `data` is then empty)."""

    key: str
    data: str
    values: dict[str, Any] = Field(default_factory=dict)
    url: str | None = None


class Document(BaseModel):
    """A file sent with a reply (e.g. the /meinedaten export)."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


class Reply(BaseModel):
    """One message: a text key with its values, buttons in rows, maybe a document."""

    key: str
    values: dict[str, Any] = Field(default_factory=dict)
    buttons: list[list[Button]] = Field(default_factory=list)
    document: Document | None = None
    chart: Chart | None = None
    table: Table | None = None  # sent as a CSV document (see bot/tables.py)
    contact_button: str | None = None  # text key of a "share my phone number" button (a reply keyboard)
    remove_keyboard: bool = False  # take such a reply keyboard away again
    photo_file_id: str | None = None  # a picture Telegram has already (file_id); the text is its caption


class ConversationState(BaseModel):
    """Where a user is in a flow. Small JSON-able context only."""

    flow: str | None = None
    step: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    version: int = 0


class FlowContext(BaseModel):
    """A flow's typed context between two steps, stored in `ConversationState.context` as JSON."""

    FLOW: ClassVar[str]  # the flow it belongs to

    @classmethod
    def of(cls, current: ConversationState) -> Self | None:
        """The context of the open step; None when another flow is open or the stored context does
        not fit (e.g. written by an older version)."""
        if current.flow != cls.FLOW:
            return None
        try:
            return cls.model_validate(current.context)
        except ValidationError:
            return None

    def at(self, step: str) -> ConversationState:
        """The conversation state at `step` with this context."""
        return ConversationState(flow=self.FLOW, step=step, context=self.model_dump(mode="json"))


class Profile(BaseModel):
    """The user's answers: what the flows read and change."""

    id: int | None = None
    channel: str
    chat_id: int
    role: str | None = None  # teen, parent, company, other
    locale: str = "de"
    age_band: str | None = None  # u16, 16_17, 18plus
    plz: str | None = None
    place: str | None = None
    school_status: str | None = None  # pupil, hauptschule, mittlere_reife, abitur, none
    school_class: int | None = None
    cluster: str | None = None
    source: str | None = None
    onboarded: bool = False
    offers_viewed_at: datetime | None = None  # when the bot first showed offers (the cockpit's funnel)
    active: bool = True
    created_at: datetime | None = None
    last_seen_at: datetime | None = None

    @property
    def formal(self) -> bool:
        """Parents, companies and other adults are addressed with "Sie"; young people with "du"."""
        return self.role in ("parent", "company", "other")


class ConsentRecord(BaseModel):
    id: int | None = None
    purpose: str
    text_version: str
    given_by: str  # self, parent
    recipients: list[str] = Field(default_factory=list)
    given_at: datetime
    withdrawn_at: datetime | None = None


class QuizAttempt(BaseModel):
    """One run through the Berufe-Check. Never shared with companies."""

    id: int | None = None
    answers: dict[str, int] = Field(default_factory=dict)  # question slug -> chosen option
    started_at: datetime
    finished_at: datetime | None = None
    scores: dict[str, float] | None = None  # RIASEC code -> 0..1
    top: list[str] = Field(default_factory=list)  # profession slugs, best first


class Table(BaseModel):
    """A table the channel sends as a CSV file: headers and label columns are text keys, so every
    word stays in prompts/; moments are shown in local time there."""

    filename: str
    columns: list[str]  # text keys of the headers, e.g. "label.csv.status"
    rows: list[list[str | int | datetime | None]]
    labels: dict[int, str] = Field(default_factory=dict)  # column -> text key prefix of its values


class Chart(BaseModel):
    """A picture the channel draws (Telegram: PNG; terminal: text bars)."""

    kind: str  # "riasec"
    values: dict[str, float]


class Turn(BaseModel):
    """The result of one event: replies to send and the new conversation state."""

    replies: list[Reply] = Field(default_factory=list)
    state: ConversationState = Field(default_factory=ConversationState)
    delete_user: bool = False  # erase everything stored about this user after replying


class UnansweredUpdate(BaseModel):
    """An update handled and stored whose replies never went out (the process died in between)."""

    update_id: int
    chat_id: int
    replies: list[Reply]
    locale: str = "de"
    formal: bool = False
    processed_at: datetime | None = None  # when it was stored (a live worker may still be sending)


class ClusterInfo(BaseModel):
    slug: str
    name: str
    region_name: str
    districts: list[str] = Field(default_factory=list)  # Landkreise / kreisfreie Städte of the region
    towns: list[tuple[str, str]] = Field(default_factory=list)  # (name, plz) reference points


__all__ = [
    "Button", "Chart", "ClusterInfo", "QuizAttempt", "ConsentRecord", "ConversationState", "Document", "Event", "EventKind",
    "Profile", "Reply", "Turn", "UnansweredUpdate", "UserRef",
]
