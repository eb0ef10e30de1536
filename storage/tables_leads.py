"""Leads, parents' confirmation links, company contacts and their invitations."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.tables import user_id_field
from storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class LeadRow(SQLModel, table=True):
    __tablename__ = "leads"
    # One lead per (young person, company, offer), however often a button is pressed.
    __table_args__ = (UniqueConstraint("user_id", "company", "target", name="uq_leads_once"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    company: str = Field(max_length=48, index=True)
    target: str = Field(max_length=64)
    status: str = Field(max_length=16, index=True)
    shared: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    consent_id: int | None = None
    created_at: datetime | None = _ts(nullable=False)
    delivered_at: datetime | None = _ts()
    status_at: datetime | None = _ts(nullable=False)
    history: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON, nullable=False)
    # Secret of the status links in the company's e-mail (t.me deep links); goes with the lead.
    report_token: str | None = Field(default=None, max_length=40, unique=True)


class ParentRequestRow(SQLModel, table=True):
    __tablename__ = "parent_requests"

    token: str = Field(max_length=40, primary_key=True)
    user_id: int = user_id_field()
    lead_ids: list[int] = Field(default_factory=list, sa_type=JSON, nullable=False)
    # What it asks for: a hand-over of leads ("lead") or announcements ("announcements", with the topics).
    purpose: str = Field(default="lead", sa_column=Column(String(16), nullable=False, server_default="lead"))
    topics: list[str] = Field(default_factory=list,
                              sa_column=Column(JSON, nullable=False, server_default=text("'[]'")))
    created_at: datetime | None = _ts(nullable=False)
    expires_at: datetime | None = _ts(nullable=False)
    decided_at: datetime | None = _ts()
    decision: str | None = Field(default=None, max_length=16)
    # Who decided (the consent must stay demonstrable): the confirming account and its declared relation.
    relation: str | None = Field(default=None, max_length=16)
    decided_by_channel: str | None = Field(default=None, max_length=16)
    decided_by_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    consent_id: int | None = None


class CompanyContactRow(SQLModel, table=True):
    __tablename__ = "company_contacts"
    __table_args__ = (UniqueConstraint("company", "channel", "chat_id", name="uq_company_contacts"),)

    id: int | None = Field(default=None, primary_key=True)
    company: str = Field(max_length=48, index=True)
    channel: str = Field(max_length=16)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime | None = _ts(nullable=False)


class CompanyInviteRow(SQLModel, table=True):
    __tablename__ = "company_invites"

    token: str = Field(max_length=40, primary_key=True)
    company: str = Field(max_length=48)
    created_at: datetime | None = _ts(nullable=False)
    expires_at: datetime | None = _ts(nullable=False)
    used_at: datetime | None = _ts()
