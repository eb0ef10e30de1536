"""Who comes to which event (with their reminder choice) and how they liked it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables import user_id_field
from storage.types import UTCDateTime


class EventRsvpRow(SQLModel, table=True):
    __tablename__ = "event_rsvps"
    __table_args__ = (UniqueConstraint("user_id", "event", name="uq_event_rsvps"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    event: str = Field(max_length=48, index=True)
    offsets: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)


class EventFeedbackRow(SQLModel, table=True):
    __tablename__ = "event_feedback"
    __table_args__ = (UniqueConstraint("user_id", "event", name="uq_event_feedback"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    event: str = Field(max_length=48)
    stars: int
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
