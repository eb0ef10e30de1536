"""The leads pipeline of a cluster as its agents see it in the cockpit: every lead of the cluster's
companies with its status, age and history, the companies that keep silent first, grouped by the
steps of the funnel and by age. Pure: storage/pipeline.py reads the rows, cockpit/exports.py writes
the CSV and XLSX files.

Silent: a lead that arrived at its company (status "delivered" with an arrival time) on which the
company has not reported for `SILENT_AFTER_WORKING_DAYS` working days (Monday to Friday without the
public holidays of Germany and of the company's federal state). It is the moment the follow-up job
(flows/jobs/lead_followup.py) alerts the cluster's agents; `is_silent` is that rule.

Contact details (first name, phone, e-mail, place) go into an agent's export only where the young
person's consent covers it (`contact_allowed`). The consent screen (prompts leads.consent and, for a
parent, leads.parent_review, text version lead-handover-2026-12) names the companies that get the
data, the fields and the purpose: "damit sich der Betrieb ... bei dir meldet", revocable at any
time, and says that the team of the training cluster sees the request with these details to follow
up (/datenschutz says so too, and names the clusters as the controller). So an agent
may see a contact detail for exactly that purpose (making the contact happen: asking a silent
company, helping the young person) only while all of this holds:

- the lead has a hand-over consent (given by the young person, or by a parent's approval), that
  consent is not withdrawn and it names this lead's company among its recipients;
- the lead reached the company (delivered, contacted, interview, hired, no place) – not while it
  waits for a parent, never after the young person withdrew it or a parent declined;
- the field was shared with the company (it is in the lead's stored `shared`; nothing else of the
  person is ever shown);
- the consent was given on a text that mentions the cluster's team (CLUSTER_TEAM_VERSIONS): the
  earlier text (lead-handover-2026-11) named the companies alone.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from flows.core.model import ConsentRecord
from flows.domain.lead import CLUSTER_TEAM_VERSIONS, CONSENT_PURPOSE, OPEN, LeadStatus, interest_fields
from flows.domain.working_days import ZONE, add_working_days, working_days_in

# The follow-up job alerts the cluster's agents after this many working days without a report.
SILENT_AFTER_WORKING_DAYS = 5

# The steps of the funnel, in the order the cockpit shows them (ends last: won, lost, stopped).
FUNNEL = (LeadStatus.WAITING_PARENT, LeadStatus.DELIVERED, LeadStatus.CONTACTED, LeadStatus.INTERVIEW,
          LeadStatus.HIRED, LeadStatus.NO_PLACE, LeadStatus.WITHDRAWN, LeadStatus.DECLINED)
# The statuses in which the company has the data (Lead.reached_company without the withdrawn ones).
HANDED_OVER = frozenset({LeadStatus.DELIVERED, LeadStatus.CONTACTED, LeadStatus.INTERVIEW, LeadStatus.HIRED,
                         LeadStatus.NO_PLACE})
# What an agent's export may add of a person: a subset of SHARED_FIELDS.
CONTACT_FIELDS = ("first_name", "phone", "email", "place")


class AgeBucket(StrEnum):
    """How long ago a lead was asked for, in whole days."""

    UNDER_7 = "under_7"  # 0–6 days
    DAYS_7_14 = "7_14"
    DAYS_15_30 = "15_30"
    OVER_30 = "over_30"  # 31 days and more


# (first day after the bucket, bucket); the last bucket takes everything older.
_BUCKET_ENDS = ((7, AgeBucket.UNDER_7), (15, AgeBucket.DAYS_7_14), (31, AgeBucket.DAYS_15_30))


class HistoryEntry(BaseModel):
    """One step of a lead's life. `status` as people see it: "on_the_way" when it was handed to the
    delivery, "delivered" when it arrived; `by` who moved it, where the history recorded it."""

    model_config = ConfigDict(frozen=True)

    status: str
    at: datetime
    by: str | None = None


class LeadConsent(BaseModel):
    """The consent record a lead's hand-over rests on."""

    model_config = ConfigDict(frozen=True)

    id: int
    purpose: str
    given_by: str  # self | parent
    text_version: str
    given_at: datetime
    withdrawn_at: datetime | None = None
    recipients: tuple[str, ...] = ()  # company slugs


class LeadContact(BaseModel):
    """The contact details a lead shared with its company (empty fields: not shared, or not loaded)."""

    model_config = ConfigDict(frozen=True)

    first_name: str | None = None
    phone: str | None = None
    email: str | None = None
    place: str | None = None


class PipelineLead(BaseModel):
    """One lead as the cockpit shows it. No contact details unless they were asked for and allowed."""

    model_config = ConfigDict(frozen=True)

    id: int
    company: str  # slug
    company_name: str
    company_archived: bool = False
    kind: str | None = None  # offer | profession | event | company
    title: str | None = None  # what it is about
    asker: str = "teen"  # teen | parent (a parent asked with their own name and contact)
    status: LeadStatus
    stage: str  # the status as people see it: "on_the_way" until a delivered lead arrived
    created_at: datetime
    delivered_at: datetime | None = None
    status_at: datetime
    age_days: int
    silent: bool = False
    silent_days: int = 0  # working days since it arrived without a report (0 unless it waits for one)
    history: tuple[HistoryEntry, ...] = ()
    consent: LeadConsent | None = None
    contact: LeadContact = LeadContact()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def age_bucket(self) -> AgeBucket:
        return age_bucket(self.age_days)


# ---- the silent rule (shared with the follow-up job) ---------------------------------------------
def is_silent(status: LeadStatus, delivered_at: datetime | None, now: datetime, state: str | None = None) -> bool:
    """The company has had the lead for SILENT_AFTER_WORKING_DAYS working days and not reported:
    the moment the follow-up job alerts the agents. `state`: the company's federal state (German name)."""
    return (status is LeadStatus.DELIVERED and delivered_at is not None
            and now >= add_working_days(delivered_at, SILENT_AFTER_WORKING_DAYS, state))


def silent_working_days(status: LeadStatus, delivered_at: datetime | None, now: datetime,
                        state: str | None = None) -> int:
    """How many working days the company has had the lead without reporting: the largest n with
    add_working_days(delivered_at, n) <= now (so `is_silent` ⇔ this reaches SILENT_AFTER_WORKING_DAYS)."""
    if status is not LeadStatus.DELIVERED or delivered_at is None or now < delivered_at:
        return 0
    local = delivered_at.astimezone(ZONE)
    steps = (now.astimezone(ZONE).date() - local.date()).days  # the days whose same wall time may have come
    if steps > 0 and local + timedelta(days=steps) > now:  # today's moment (as add_working_days counts) not yet
        steps -= 1
    return working_days_in(local.date() + timedelta(days=1), local.date() + timedelta(days=steps), state)


# ---- building one lead ---------------------------------------------------------------------------
def _moment(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def history_of(history: Iterable[Mapping[str, Any]], delivered_at: datetime | None) -> tuple[HistoryEntry, ...]:
    """A lead's stored history as people see it (like /leads in the chat): "delivered" there means
    handed to the delivery ("on_the_way"); the arrival at the company is its own step."""
    entries = [HistoryEntry(status="on_the_way" if h["status"] == LeadStatus.DELIVERED.value else str(h["status"]),
                            at=_moment(str(h["at"])), by=str(h["by"]) if h.get("by") else None)
               for h in history if h.get("status") and h.get("at")]
    if delivered_at is not None:
        entries.append(HistoryEntry(status=LeadStatus.DELIVERED.value, at=delivered_at))
    return tuple(sorted(entries, key=lambda e: e.at))


def contact_of(shared: Mapping[str, Any]) -> LeadContact:
    """The contact details a lead's `shared` holds: only fields that were really shared (not empty)."""
    return LeadContact(**{field: value for field in CONTACT_FIELDS
                          if isinstance(value := shared.get(field), str) and value.strip()})


def pipeline_lead(*, id: int, company: str, company_name: str, target: str, status: LeadStatus,
                  shared: Mapping[str, Any], created_at: datetime, delivered_at: datetime | None,
                  status_at: datetime, history: Iterable[Mapping[str, Any]], now: datetime,
                  state: str | None = None, consent: LeadConsent | None = None, company_archived: bool = False,
                  with_contact: bool = False) -> PipelineLead:
    """A stored lead as the pipeline shows it at `now`; its contact details only `with_contact` and
    where `contact_allowed`."""
    interest = interest_fields(dict(shared), target)
    lead = PipelineLead(
        id=id, company=company, company_name=company_name, company_archived=company_archived,
        kind=interest["kind"], title=interest["title"] or interest["profession_name"],
        asker=shared.get("asker") or "teen", status=status,
        stage="on_the_way" if status is LeadStatus.DELIVERED and delivered_at is None else status.value,
        created_at=created_at, delivered_at=delivered_at, status_at=status_at,
        age_days=max((now - created_at).days, 0), silent=is_silent(status, delivered_at, now, state),
        silent_days=silent_working_days(status, delivered_at, now, state),
        history=history_of(history, delivered_at), consent=consent)
    if with_contact and contact_allowed(lead):
        return lead.model_copy(update={"contact": contact_of(shared)})
    return lead


# ---- consent -------------------------------------------------------------------------------------
def consent_covers(status: LeadStatus, company: str, consent: LeadConsent | ConsentRecord | None,
                   versions: Collection[str] | None = CLUSTER_TEAM_VERSIONS) -> bool:
    """May an agent see the contact details of a lead in `status` to `company` with this consent? Only
    while the hand-over consent covers it (see the module docstring): a live lead consent naming the
    company, the company has the data, the lead is neither withdrawn nor declined, and the consent
    text told them the cluster's team sees it (`versions`, default CLUSTER_TEAM_VERSIONS; None: every
    version). The cockpit and the chat's /leads both ask this."""
    return (consent is not None and consent.purpose == CONSENT_PURPOSE and consent.withdrawn_at is None
            and company in consent.recipients and status in HANDED_OVER
            and (versions is None or consent.text_version in versions))


def contact_allowed(lead: PipelineLead, versions: Collection[str] | None = CLUSTER_TEAM_VERSIONS) -> bool:
    """`consent_covers` for a lead of the cockpit's pipeline."""
    return consent_covers(lead.status, lead.company, lead.consent, versions)


def visible_contact(lead: PipelineLead, versions: Collection[str] | None = CLUSTER_TEAM_VERSIONS) -> LeadContact:
    """The contact details an agent may see of this lead: what was shared, if the consent covers it."""
    return lead.contact if contact_allowed(lead, versions) else LeadContact()


# ---- ordering and grouping -----------------------------------------------------------------------
def order(leads: Iterable[PipelineLead]) -> list[PipelineLead]:
    """Silent ones first (the companies to chase), then the open ones, then the closed ones; within
    each, oldest first."""
    return sorted(leads, key=lambda lead: (not lead.silent, not lead.is_open, lead.created_at, lead.id))


def by_status(leads: Iterable[PipelineLead]) -> dict[LeadStatus, list[PipelineLead]]:
    """Every step of the funnel in its order (empty ones too), each in `order`."""
    groups: dict[LeadStatus, list[PipelineLead]] = {status: [] for status in FUNNEL}
    for lead in order(leads):
        groups[lead.status].append(lead)
    return groups


def age_bucket(days: int) -> AgeBucket:
    return next((bucket for end, bucket in _BUCKET_ENDS if days < end), AgeBucket.OVER_30)


def by_age(leads: Iterable[PipelineLead]) -> dict[AgeBucket, list[PipelineLead]]:
    """Every age bucket, youngest first (empty ones too), each in `order`."""
    groups: dict[AgeBucket, list[PipelineLead]] = {bucket: [] for bucket in AgeBucket}
    for lead in order(leads):
        groups[lead.age_bucket].append(lead)
    return groups


def status_by_age(leads: Iterable[PipelineLead]) -> dict[LeadStatus, dict[AgeBucket, int]]:
    """How many leads per step of the funnel and age bucket: the pipeline's table."""
    table = {status: dict.fromkeys(AgeBucket, 0) for status in FUNNEL}
    for lead in leads:
        table[lead.status][lead.age_bucket] += 1
    return table


class SilentCompany(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    company_name: str
    leads: int
    longest_days: int  # working days the oldest of them waits


def silent_companies(leads: Sequence[PipelineLead]) -> list[SilentCompany]:
    """The companies with silent leads, the longest waiting first."""
    found: dict[str, list[PipelineLead]] = {}
    for lead in leads:
        if lead.silent:
            found.setdefault(lead.company, []).append(lead)
    companies = [SilentCompany(company=slug, company_name=group[0].company_name, leads=len(group),
                               longest_days=max(lead.silent_days for lead in group)) for slug, group in found.items()]
    return sorted(companies, key=lambda c: (-c.longest_days, c.company_name.casefold()))
