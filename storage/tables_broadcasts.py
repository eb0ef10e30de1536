"""Announcements of cluster agents and their recipients: one row per (broadcast, person), ever."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class BroadcastRow(SQLModel, table=True):
    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_scheduled_at", "status", "scheduled_at"),)  # what due() reads

    id: int | None = Field(default=None, primary_key=True)
    cluster: str = Field(max_length=48, index=True)
    topic: str = Field(max_length=16)
    text_du: str = Field(sa_column=Column(Text, nullable=False))
    text_sie: str = Field(sa_column=Column(Text, nullable=False))
    picture: str | None = Field(default=None, max_length=255)  # a Telegram file_id
    buttons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)
    audience: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    status: str = Field(max_length=24)
    scheduled_at: datetime | None = _ts()
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    created_by: str = Field(max_length=64)
    approved_by: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = _ts(nullable=False)
    history: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)


class BroadcastRecipientRow(SQLModel, table=True):
    """What happened to one person's message. Personal data: erased with the user."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id", name="uq_broadcast_recipients"),
        # The feeder's "next N planned, in order" and the progress counts: read in the index alone.
        Index("ix_broadcast_recipients_broadcast_status", "broadcast_id", "status", "user_id"),
        Index("ix_broadcast_recipients_user_status_at", "user_id", "status", "status_at"),  # the weekly cap
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(sa_column=Column(Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"),
                                               nullable=False))
    # No single-column index: the (user_id, status, status_at) index serves lookups by user as well.
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    channel: str = Field(max_length=16)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    formal: bool = False
    minor: bool = False
    locale: str = Field(default="de", max_length=8)
    first_name: str | None = Field(default=None, max_length=80)
    km: int | None = None
    status: str = Field(max_length=16)
    status_at: datetime | None = _ts()
    tapped_at: datetime | None = _ts()
