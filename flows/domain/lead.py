"""Leads: a young person's consented hand-over of their contact to one company."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class LeadStatus(StrEnum):
    WAITING_PARENT = "waiting_parent"  # under 16: nothing is handed over before a parent confirms
    DELIVERED = "delivered"  # handed to the delivery outbox
    CONTACTED = "contacted"
    INTERVIEW = "interview"
    HIRED = "hired"
    NO_PLACE = "no_place"
    WITHDRAWN = "withdrawn"  # by the young person (or their erasure)
    DECLINED = "declined"  # the parent said no


OPEN = (LeadStatus.WAITING_PARENT, LeadStatus.DELIVERED, LeadStatus.CONTACTED, LeadStatus.INTERVIEW)
COMPANY_REPORTS = (LeadStatus.CONTACTED, LeadStatus.INTERVIEW, LeadStatus.HIRED, LeadStatus.NO_PLACE)
CONSENT_PURPOSE = "lead"  # the consent records of hand-overs
CONSENT_VERSION = "lead-handover-2026-12"  # the consent text the young person (or parent) saw
# Consent texts that tell the young person (or parent) that the cluster's team sees the request: only
# these let an agent see contact details in the cockpit (the 2026-11 text named the companies alone).
CLUSTER_TEAM_VERSIONS = frozenset({CONSENT_VERSION})


# What a lead is about, by the kind of its target ("vacancy:<slug>" -> an offer).
INTEREST_KINDS = {"vacancy": "offer", "profession": "profession", "event": "event", "company": "company"}
# The fields a lead shares, in the order every view shows them: the consent screens (young person,
# parent), the company's Telegram message, its e-mail and its webhook JSON. `label.lead_fields` renders
# them for people; `shared_fields` reads them from a lead's stored `shared`. What it is about (the
# interest) is per company: INTEREST_FIELDS, from `interest_fields`.
SHARED_FIELDS = ("role", "first_name", "age_band", "place", "plz", "school_status", "school_class", "phone", "email",
                 "preferred_channel", "preferred_time", "message")
INTEREST_FIELDS = ("kind", "title", "offer_title", "profession_name")


def shared_fields(shared: dict[str, Any]) -> dict[str, Any]:
    """The shared fields of a stored `shared` (role: "parent" when a parent asked for their child)."""
    named = {"role": shared.get("asker") or "teen", "preferred_channel": shared.get("preference"),
             "preferred_time": shared.get("time")}
    return {field: named[field] if field in named else shared.get(field) for field in SHARED_FIELDS}


def interest_fields(shared: dict[str, Any], target: str) -> dict[str, Any]:
    """What one company's lead is about: its offer, the profession, an event or the company itself."""
    kind = shared.get("about") or INTEREST_KINDS.get(target.partition(":")[0])
    title = shared.get("title")
    return {"kind": kind, "title": title, "offer_title": title if kind == "offer" else None,
            "profession_name": shared.get("profession_name")}


class Lead(BaseModel):
    id: int | None = None
    user_id: int
    company: str  # company slug
    target: str  # what the interest is about: "vacancy:<slug>", "profession:<slug>", "event:<slug>", "company:<slug>"
    status: LeadStatus
    shared: dict[str, Any] = Field(default_factory=dict)  # exactly what the consent screen showed
    consent_id: int | None = None
    created_at: datetime
    delivered_at: datetime | None = None  # when the company really got it (flows/delivery/lead_arrival.py)
    status_at: datetime
    history: list[dict[str, str]] = Field(default_factory=list)  # [{status, at}]

    # The rules of its life: who may move it where.
    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def accepts_report(self, new: LeadStatus) -> bool:
        """A company may report on a lead it got (not one still waiting for a parent) while it is open."""
        return new in COMPANY_REPORTS and self.is_open and self.status is not LeadStatus.WAITING_PARENT

    @property
    def stage(self) -> str:
        """The status as people see it: handed to delivery is not yet arrived ("on_the_way")."""
        if self.status is LeadStatus.DELIVERED and self.delivered_at is None:
            return "on_the_way"
        return self.status.value

    @property
    def reached_company(self) -> bool:
        """The company got the data (so a withdrawal must tell it to delete them)."""
        return self.status is not LeadStatus.WAITING_PARENT and self.status is not LeadStatus.DECLINED


class ParentRequest(BaseModel):
    """A single-use, expiring link a young person forwards to a parent. No personal data in it.
    What it asks for: a hand-over (`lead_ids`) or announcements (`purpose` "announcements", `topics`)."""

    token: str
    user_id: int
    lead_ids: list[int] = Field(default_factory=list)
    purpose: str = "lead"  # lead | announcements
    topics: list[str] = Field(default_factory=list)  # the announcement topics asked for
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    decision: str | None = None  # approved | declined
    # Who decided, to keep the consent demonstrable: the account that confirmed and what it declared to be.
    relation: str | None = None  # parent | guardian
    decided_by_channel: str | None = None
    decided_by_chat_id: int | None = None
    consent_id: int | None = None  # the consent record an approval created


class ParentDecision(BaseModel):
    """A parent's decision on a request, with who made it: the consent must stay demonstrable."""

    decision: str  # approved | declined
    relation: str  # parent | guardian, as declared
    channel: str
    chat_id: int


class CompanyInvite(BaseModel):
    token: str
    company: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
