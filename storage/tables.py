"""The tables. Content tables keep the validated pack entry in `data` and index what is queried."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(nullable: bool = True, index: bool = False) -> Any:
    # sa_type (not sa_column): a Column object cannot be shared by the tables of a mixin.
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def user_id_field() -> Any:
    """The owner of a personal-data row: goes when the user goes (cascade as a second line of defence)."""
    return Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True))


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_users_channel_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    role: str | None = Field(default=None, max_length=16)
    locale: str = Field(default="de", max_length=8)
    age_band: str | None = Field(default=None, max_length=8)
    plz: str | None = Field(default=None, max_length=5)
    place: str | None = Field(default=None, max_length=80)
    school_status: str | None = Field(default=None, max_length=24)
    school_class: int | None = None
    cluster: str | None = Field(default=None, max_length=48)
    source: str | None = Field(default=None, max_length=48)
    onboarded: bool = False
    offers_viewed_at: datetime | None = _ts()  # first list of offers shown: the cockpit's funnel
    active: bool = True
    created_at: datetime | None = _ts(nullable=False)
    last_seen_at: datetime | None = _ts(index=True)


class ConversationRow(SQLModel, table=True):
    __tablename__ = "conversations"

    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"),
                                          primary_key=True))
    flow: str | None = Field(default=None, max_length=32)
    step: str | None = Field(default=None, max_length=32)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 0
    updated_at: datetime | None = _ts()


class ConsentRow(SQLModel, table=True):
    __tablename__ = "consents"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    purpose: str = Field(max_length=32)
    text_version: str = Field(max_length=32)
    given_by: str = Field(max_length=16)
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    given_at: datetime | None = _ts(nullable=False)
    withdrawn_at: datetime | None = _ts()


class ProcessedUpdateRow(SQLModel, table=True):
    """An update handled once. Replies are kept only until they were sent (no personal data after)."""

    __tablename__ = "processed_updates"
    # A chat's open updates (claimed or unsent), looked up before each update to keep the chat's order.
    __table_args__ = (Index("ix_processed_updates_open", "channel", "chat_id", "update_id",
                            sqlite_where=text("answered_at IS NULL"), postgresql_where=text("answered_at IS NULL")),)

    channel: str = Field(max_length=16, primary_key=True)
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # to resend unsent replies
    processed_at: datetime | None = _ts(nullable=False, index=True)
    answered_at: datetime | None = _ts()
    locale: str = Field(default="de", max_length=8)
    formal: bool = False
    # SQL NULL while claimed or after sending (none_as_null; not JSON 'null'): "not handled yet" is a query
    replies: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))


class ContentColumns(SQLModel):
    """Shared by every content table: stable slug, the pack entry, archived instead of deleted."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=48, unique=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    archived: bool = False  # no index: almost every row is live, an index would only mislead the planner
    updated_at: datetime | None = _ts()


class CockpitColumns(SQLModel):
    """Content the web cockpit can edit: who created the row, which pack fields the cockpit changed
    (field -> value as in `data`; "archived": true if archived there). See flows/domain/content_edit.py."""

    origin: str = Field(default="pack", max_length=16, sa_column_kwargs={"server_default": "pack"})
    overrides: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False,
                                      sa_column_kwargs={"server_default": text("'{}'")})


class ClusterRow(ContentColumns, table=True):
    __tablename__ = "clusters"

    name: str = Field(max_length=120)
    region_name: str = Field(max_length=200)


class FaqRow(ContentColumns, CockpitColumns, table=True):
    """A question and its answer from the pack's faq.yaml (issue 13), or made in the cockpit from a cluster
    team's answer (origin "cockpit": a content load keeps it)."""

    __tablename__ = "faq"

    question: str = Field(max_length=300)
    audience: str = Field(max_length=16)  # teens | parents | both


class SearchDocRow(SQLModel, table=True):
    """One searchable page of the bot's knowledge (a FAQ entry, a profession, a cluster, a company, an
    event, an offer): its words as shown and, in `terms`, as the search analyses them (lower case,
    compounds split, stemmed; flows/domain/search_text.py). SQLite indexes `terms` with FTS5
    (search_fts), PostgreSQL with a GIN index over to_tsvector('simple', terms)."""

    __tablename__ = "search_docs"
    __table_args__ = (UniqueConstraint("kind", "ref", name="uq_search_docs_kind_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # faq, profession, cluster, company, event, offer
    ref: str = Field(max_length=64)  # the slug of what it is about
    cluster: str | None = Field(default=None, max_length=48, index=True)
    audience: str | None = Field(default=None, max_length=16)
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    terms: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = _ts()


class ProfessionRow(ContentColumns, table=True):
    __tablename__ = "professions"

    name: str = Field(max_length=160)
    field: str = Field(max_length=48, index=True)
    duration_months: int


class CompanyRow(ContentColumns, CockpitColumns, table=True):
    __tablename__ = "companies"

    name: str = Field(max_length=160)
    cluster: str = Field(max_length=48, index=True)
    plz: str = Field(max_length=5)
    example: bool = False


class VacancyRow(ContentColumns, CockpitColumns, table=True):
    __tablename__ = "vacancies"
    __table_args__ = (
        Index("ix_vacancies_profession_kind", "profession", "kind"),
        # Covers the ranking query: a lat band is scanned in the index alone, no table lookups.
        Index("ix_vacancies_near", "lat", "lon", "archived", "start", "published", "kind", "profession",
              "school_level", "slug"),
    )

    company: str = Field(max_length=48, index=True)
    profession: str = Field(max_length=48)
    kind: str = Field(max_length=16)
    title: str = Field(max_length=200)
    plz: str = Field(max_length=5, index=True)
    start: date | None = None
    published: date | None = None
    # Where the offer is (from its PLZ at load time): candidates are pre-filtered by a lat/lon box.
    lat: float = 0.0
    lon: float = 0.0
    school_level: str | None = Field(default=None, max_length=16)
    # Imported offers (origin "ba", `lotse offers import ba`): the cluster whose region search found it last,
    # and when an import last saw it listed (not seen by a complete search: archived). NULL for the pack's.
    region: str | None = Field(default=None, max_length=48)
    seen_at: datetime | None = _ts()
    imported_at: datetime | None = _ts()  # first listed (again, after an archive): new for saved searches


class EventRow(ContentColumns, CockpitColumns, table=True):
    __tablename__ = "events"

    cluster: str = Field(max_length=48, index=True)
    title: str = Field(max_length=200)
    format: str = Field(max_length=48)
    plz: str = Field(max_length=5)
    audience: str = Field(max_length=16)
    cancelled: bool = False
    starts_at: datetime | None = _ts(nullable=False, index=True)
    ends_at: datetime | None = _ts()
    lat: float = 0.0
    lon: float = 0.0
    sequence: int = 0  # grows when time, place or status change: calendar apps need it to update


class OutboxRow(SQLModel, table=True):
    """A proactive message waiting to go out, going out, or gone (see flows/delivery/outbox.py)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due_at", "status", "due_at"),  # what claim_due looks for
        Index("ix_outbox_channel_chat", "channel", "chat_id"),  # drop_pending_for, user deletion
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True, index=True)
    channel: str = Field(max_length=16)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    reply: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    locale: str = Field(default="de", max_length=8)
    formal: bool = False
    minor: bool = False
    due_at: datetime | None = _ts(nullable=False)
    expires_at: datetime | None = _ts()
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    lease_until: datetime | None = _ts()
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime | None = _ts(nullable=False)
    updated_at: datetime | None = _ts(nullable=False)
