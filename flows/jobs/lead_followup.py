"""Follow-up until the young person has heard back: company reminder after 2 working days, agent
alert after 5, and "Hat sich der Betrieb gemeldet?" after 7 days (a "nein" alerts the agent too).
A periodic tick (bot/scheduler.py) calls `follow_up`; every message goes through the outbox with an
idempotency key, so running the tick again never sends anything twice."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flows.core.context import button, reply
from flows.core.payloads import LEADS
from flows.core.ports import PlaceDirectory, UnitOfWork, UnitOfWorkFactory
from flows.delivery.agents import agents_for  # moved to delivery (team questions use it too)
from flows.delivery.company_delivery import notify_company
from flows.delivery.outbox import OutboxMessage
from flows.domain import lead_report
from flows.domain.lead import Lead, LeadStatus
from flows.domain.lead_pipeline import is_silent
from flows.domain.places import located
from flows.domain.working_days import add_working_days

COMPANY_REMINDER_WORKING_DAYS = 2
ASK_YOUNG_PERSON_AFTER = timedelta(days=7)

log = logging.getLogger(__name__)


async def alert_agents(uow: UnitOfWork, admins: frozenset[tuple[str, int]], lead: Lead, why: str, now: datetime) -> None:
    company = next((c for c in await uow.content.companies() if c.slug == lead.company), None)
    if company is None:
        return
    message = reply(f"leads.agent_{why}", company=company.name, lead_id=lead.id, first_name=lead.shared.get("first_name"),
                    title=lead.shared.get("title"))
    for agent in await agents_for(uow, admins, company.cluster):
        await uow.outbox.enqueue(OutboxMessage.to(agent, message, now, f"lead-agent:{lead.id}:{why}:{agent.chat_id}"))


async def follow_up(uow_factory: UnitOfWorkFactory, now: datetime, admins: frozenset[tuple[str, int]],
                    places: PlaceDirectory | None = None) -> int:
    """Plan every follow-up message that is due; returns how many leads needed one. `places` finds
    each company's federal state, whose holidays are no working days (without: nationwide ones)."""
    acted = 0
    async with uow_factory() as uow:
        companies = {c.slug: c for c in await uow.content.companies()}
        states = {slug: place.state for slug, c in companies.items()
                  if places is not None and (place := located(places, c)) is not None}
        for lead in await uow.leads.delivered_before(now - timedelta(days=1)):
            if lead.status is not LeadStatus.DELIVERED or lead.delivered_at is None or lead.id is None:
                continue
            if now >= add_working_days(lead.delivered_at, COMPANY_REMINDER_WORKING_DAYS, states.get(lead.company)):
                company = companies.get(lead.company)
                if company is not None:
                    message = reply("leads.company_reminder", lead_id=lead.id, company_name=company.name,
                                    first_name=lead.shared.get("first_name"), days=COMPANY_REMINDER_WORKING_DAYS,
                                    report_links=await lead_report.report_links(uow, lead.id))
                    await notify_company(uow, company, message, now, f"lead-reminder:{lead.id}:{{target}}")
                acted += 1
            if is_silent(lead.status, lead.delivered_at, now, states.get(lead.company)):  # the cockpit's rule too
                await alert_agents(uow, admins, lead, "silent", now)
            if now >= lead.delivered_at + ASK_YOUNG_PERSON_AFTER:
                young = await uow.users.by_id(lead.user_id)
                if young is not None:
                    buttons = [[button("btn.yes", LEADS.pack("fy", lead.id)), button("btn.no", LEADS.pack("fn", lead.id))]]
                    question = reply("leads.followup", buttons, title=lead.shared.get("title"))
                    await uow.outbox.enqueue(OutboxMessage.to(young, question, now, f"lead-followup:{lead.id}"))
        await uow.commit()
    return acted
