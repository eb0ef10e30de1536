"""A lead reaches its company, or is called back: the rules shared by the hand-over, the parent's
confirmation and the erasure of a profile (privacy). Everything goes out through the outbox."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flows.core.context import button, reply
from flows.core.model import ConsentRecord, Profile
from flows.core.payloads import LEADS
from flows.core.ports import UnitOfWork
from flows.delivery.company_delivery import notify_company
from flows.domain import lead_report
from flows.domain.content import CompanyInfo
from flows.domain.lead import COMPANY_REPORTS, CONSENT_PURPOSE, Lead, LeadStatus, interest_fields, shared_fields


async def deliver(uow: UnitOfWork, lead: Lead, consent: ConsentRecord, now: datetime) -> None:
    """Hand one lead over: to every linked contact in Telegram, and by e-mail / webhook where set."""
    assert lead.id is not None
    await uow.leads.set_status(lead.id, LeadStatus.DELIVERED, now, consent_id=consent.id)
    company = next((c for c in await uow.content.companies() if c.slug == lead.company), None)
    if company is None:
        return
    values = company_values(lead, company, await uow.content.cluster(company.cluster),
                            await uow.content.profession(lead.shared["profession"]) if lead.shared.get("profession") else None)
    values.update(consent_given_by=consent.given_by, consent_version=consent.text_version,
                  consent_at=consent.given_at.isoformat())
    status_buttons = [[button(f"btn.leads.status.{s.value}", LEADS.pack("cs", lead.id, s.value))] for s in COMPANY_REPORTS
                      if s is not LeadStatus.HIRED]
    values["report_links"] = await lead_report.report_links(uow, lead.id)
    message = reply("leads.company_new", status_buttons, **values)
    await notify_company(uow, company, message, now, f"lead:{lead.id}:{{target}}:new")


def company_values(lead: Lead, company: CompanyInfo, cluster: Any, profession: Any) -> dict[str, Any]:
    """What a company gets of a lead (e-mail, webhook JSON and Telegram alike): the consented data only,
    exactly the fields the consent screen showed (SHARED_FIELDS) and what this company's lead is about."""
    interest = interest_fields(lead.shared, lead.target)
    if interest["profession_name"] is None and profession is not None:  # leads stored before it was kept
        interest["profession_name"] = profession.name
    return {"lead_id": lead.id, "company_name": company.name, "cluster_name": cluster.name if cluster else None,
            **shared_fields(lead.shared), **interest}


async def withdraw(uow: UnitOfWork, profile: Profile, leads: list[Lead], now: datetime) -> None:
    """Stop hand-overs and tell every company that got the data to stop using it."""
    companies = {c.slug: c for c in await uow.content.companies()}
    for lead in leads:
        if not lead.is_open or lead.id is None:
            continue
        reached = lead.reached_company
        await uow.leads.set_status(lead.id, LeadStatus.WITHDRAWN, now)
        company = companies.get(lead.company)
        if not reached or company is None:
            continue
        message = reply("leads.company_withdrawn", lead_id=lead.id, company_name=company.name,
                        first_name=lead.shared.get("first_name"))
        await notify_company(uow, company, message, now, f"lead:{lead.id}:{{target}}:withdrawn")
    if profile.id is not None:
        # A consent ends with the last open request it covers: withdrawing one request keeps the others'.
        still_covered = {lead.consent_id for lead in await uow.leads.for_user(profile.id) if lead.is_open}
        for consent in await uow.consents.list_for_user(profile.id):
            if consent.purpose == CONSENT_PURPOSE and consent.withdrawn_at is None and consent.id is not None \
                    and consent.id not in still_covered:
                await uow.consents.withdraw(consent.id, now)
