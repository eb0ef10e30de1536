"""The web cockpit of cluster agents: sign-in links, sessions, the audit log of changes, and the
tracked links (QR codes) whose source the funnel counts. Secrets are stored as SHA-256 hashes only."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class CockpitSignInRow(SQLModel, table=True):
    """A single-use sign-in link from /cockpit, bound to the agent who asked for it."""

    __tablename__ = "cockpit_sign_ins"

    token_hash: str = Field(max_length=64, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime | None = _ts(nullable=False)
    expires_at: datetime | None = _ts(nullable=False)
    used_at: datetime | None = _ts()


class CockpitSessionRow(SQLModel, table=True):
    """A signed-in browser: the cookie holds the secret, this row its hash and the CSRF token."""

    __tablename__ = "cockpit_sessions"

    id_hash: str = Field(max_length=64, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    csrf_token: str = Field(max_length=64)
    created_at: datetime | None = _ts(nullable=False)
    last_seen_at: datetime | None = _ts(nullable=False)
    expires_at: datetime | None = _ts(nullable=False)
    ended_at: datetime | None = _ts()


class AuditRow(SQLModel, table=True):
    """Who changed what and when, in the cockpit (announcements keep their own history too)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_cluster_at", "cluster", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = _ts(nullable=False)
    actor: str = Field(max_length=64)  # "telegram:<chat id>"
    cluster: str = Field(max_length=48)
    action: str = Field(max_length=32)
    subject: str = Field(max_length=96)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)


class TrackedLinkRow(SQLModel, table=True):
    """A deep link with its source (a poster, a fair stand, a school): /start <cluster>_<source>."""

    __tablename__ = "tracked_links"
    __table_args__ = (UniqueConstraint("cluster", "source", name="uq_tracked_links_cluster_source"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster: str = Field(max_length=48, index=True)
    source: str = Field(max_length=48)
    kind: str = Field(max_length=16)  # event, stand, poster, school, other
    label: str = Field(max_length=120)
    target: str | None = Field(default=None, max_length=64)  # e.g. "event:<slug>"
    created_by: str = Field(max_length=64)
    created_at: datetime | None = _ts(nullable=False)
    archived_at: datetime | None = _ts()
