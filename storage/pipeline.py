"""The cockpit's leads pipeline on SQL: a cluster's leads (only those of its own companies) with
their consent, age, silence and history, in three queries at most (leads with their companies, the
consents, and the parents' approvals of leads stored without a consent id). Reporting reads for the
cockpit, not part of the UnitOfWork protocol (see notes on issue 12)."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.core.ports import PlaceDirectory
from flows.domain.lead import LeadStatus
from flows.domain.lead_pipeline import HANDED_OVER, LeadConsent, PipelineLead, order, pipeline_lead
from flows.domain.places import located
from storage.content_views import company_info
from storage.tables import CompanyRow, ConsentRow
from storage.tables_leads import LeadRow, ParentRequestRow


async def cluster_leads(session: AsyncSession, cluster: str, now: datetime, *,
                        places: PlaceDirectory | None = None, with_contacts: bool = False,
                        statuses: Collection[LeadStatus] | None = None) -> list[PipelineLead]:
    """Every lead of the cluster's companies (archived companies included: their leads are still the
    cluster's), in `order`: silent ones first, then oldest first. `places` finds each company's federal
    state for its holidays (as the follow-up job does; without: the nationwide ones). `with_contacts`:
    the shared contact details of the leads whose consent covers it (`contact_allowed`), else none.
    `statuses`: only leads in these."""
    return order(await _leads(session, cluster, now, places, with_contacts, statuses=statuses))


async def lead_detail(session: AsyncSession, cluster: str, lead_id: int, now: datetime, *,
                      places: PlaceDirectory | None = None, with_contacts: bool = False) -> PipelineLead | None:
    """One lead of the cluster with its history; None for another cluster's lead or an unknown id."""
    found = await _leads(session, cluster, now, places, with_contacts, lead_id=lead_id)
    return found[0] if found else None


async def _leads(session: AsyncSession, cluster: str, now: datetime, places: PlaceDirectory | None,
                 with_contacts: bool, lead_id: int | None = None,
                 statuses: Collection[LeadStatus] | None = None) -> list[PipelineLead]:
    statement = (select(LeadRow, CompanyRow.id, CompanyRow.data, CompanyRow.archived)
                 .join(CompanyRow, CompanyRow.slug == LeadRow.company)
                 .where(CompanyRow.cluster == cluster))  # the cluster's own companies, and only those
    if lead_id is not None:
        statement = statement.where(LeadRow.id == lead_id)
    if statuses is not None:
        statement = statement.where(col(LeadRow.status).in_([s.value for s in statuses]))
    rows: Sequence[Any] = (await session.execute(statement.order_by(LeadRow.id))).tuples().all()
    if not rows:
        return []
    consents = await _consents(session, [lead for lead, *_ in rows])
    states: dict[str, str | None] = {}
    leads = []
    for row, company_id, data, archived in rows:
        if row.company not in states:
            place = located(places, company_info(company_id, data)) if places is not None else None
            states[row.company] = place.state if place is not None else None
        assert row.id is not None and row.created_at is not None and row.status_at is not None
        leads.append(pipeline_lead(
            id=row.id, company=row.company, company_name=str(data.get("name") or row.company), target=row.target,
            status=LeadStatus(row.status), shared=row.shared, created_at=row.created_at,
            delivered_at=row.delivered_at, status_at=row.status_at, history=row.history, now=now,
            state=states[row.company], consent=consents.get(row.id), company_archived=bool(archived),
            with_contact=with_contacts))
    return leads


async def _consents(session: AsyncSession, rows: Sequence[LeadRow]) -> dict[int, LeadConsent]:
    """Each lead's hand-over consent: its own consent id, else the consent of a parent's approval
    that named it (leads approved before the consent id was kept on the lead)."""
    consent_ids = {row.id: row.consent_id for row in rows if row.id is not None and row.consent_id is not None}
    unlinked = {row.id for row in rows if row.id is not None and row.consent_id is None
                and LeadStatus(row.status) in HANDED_OVER}
    if unlinked:
        approvals = await session.execute(select(ParentRequestRow.lead_ids, ParentRequestRow.consent_id).where(
            col(ParentRequestRow.user_id).in_({row.user_id for row in rows if row.id in unlinked}),
            ParentRequestRow.purpose == "lead", ParentRequestRow.decision == "approved",
            col(ParentRequestRow.consent_id).is_not(None)))
        for lead_ids, consent_id in approvals.tuples().all():
            consent_ids.update({lead: consent_id for lead in lead_ids if lead in unlinked})
    if not consent_ids:
        return {}
    records = await session.execute(select(ConsentRow).where(col(ConsentRow.id).in_(set(consent_ids.values()))))
    by_id = {r.id: LeadConsent(id=r.id, purpose=r.purpose, given_by=r.given_by, text_version=r.text_version,
                               given_at=r.given_at, withdrawn_at=r.withdrawn_at, recipients=tuple(r.recipients))
             for r in records.scalars().all() if r.id is not None and r.given_at is not None}
    return {lead: by_id[consent] for lead, consent in consent_ids.items() if consent in by_id}
