"""The company side: a contact joins by invitation and reports on its leads with one tap
("Kontakt aufgenommen", "Gespräch vereinbart", "Eingestellt", "Kein passender Platz"), in Telegram
or by the status links of its e-mails; the young person hears of it in friendly words.

    /anfragen (a contact) ──> the company's leads, newest first ──"Nr. 12 · Tom"──> the lead with its
        contact details (while it is open) and the status buttons ──> saved, the young person told
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flows.conversations.leads.common import INVITE_PREFIX, company_names, link_payload, new_token, profile_of
from flows.core.context import StepContext, button, reply
from flows.core.model import ConversationState, Turn
from flows.core.payloads import COMPANIES, LEADS, MENU
from flows.core.ports import UnitOfWork
from flows.delivery.outbox import OutboxMessage
from flows.domain import lead_report
from flows.domain.lead import COMPANY_REPORTS, CompanyInvite, Lead, LeadStatus

INVITE_VALID = timedelta(days=14)
COMPANY_LIST_MAX = 20  # leads listed in the chat, newest first


async def create_invite(uow: UnitOfWork, company: str, now: datetime) -> str | None:
    """A single-use deep-link payload for a new company contact, or None for an unknown company."""
    if not await uow.leads.company_exists(company):
        return None
    token = new_token()
    await uow.leads.add_invite(CompanyInvite(token=token, company=company, created_at=now, expires_at=now + INVITE_VALID))
    return link_payload(INVITE_PREFIX, token)


class CompanyReports:
    async def overview(self, ctx: StepContext) -> Turn | None:
        """/anfragen for a company contact: the leads of their companies; None if they are none's contact."""
        slugs = await ctx.uow.leads.companies_of(ctx.profile.channel, ctx.profile.chat_id)
        if not slugs:
            return None
        names = await company_names(ctx, slugs)
        # A lead waiting for a parent's yes is not the company's yet; a withdrawn one keeps no name.
        leads = sorted((lead for lead in await ctx.uow.leads.for_companies(slugs) if lead.reached_company),
                       key=lambda lead: lead.created_at, reverse=True)[:COMPANY_LIST_MAX]
        now = ctx.clock.now()
        items = [{"id": lead.id, "company": names.get(lead.company, lead.company), "status": lead.stage,
                  "first_name": lead.shared.get("first_name") if lead.is_open else None,
                  "title": lead.shared.get("title"), "days": (now - lead.created_at).days} for lead in leads]
        rows = [[button("btn.leads.company_lead", LEADS.pack("cd", lead.id), id=lead.id,
                        first_name=lead.shared.get("first_name") or "–")] for lead in leads
                if lead.is_open and lead.id is not None]
        rows += [[button("btn.leads.company_page", COMPANIES.pack("s", slug), name=names.get(slug, slug))]
                 for slug in slugs]
        rows.append([button("btn.menu.back", MENU.pack("open"))])
        return ctx.turn(reply("leads.company_overview", rows, items=items, count=len(items),
                              companies=[names.get(s, s) for s in slugs]), state=ConversationState())

    async def lead(self, ctx: StepContext, lead_id: str) -> Turn | None:
        """One lead of the contact's companies: what it is about, how to reach the young person (while
        the lead is open) and every status the company may report next."""
        lead = await ctx.uow.leads.get(int(lead_id)) if lead_id.isdigit() else None
        mine = await ctx.uow.leads.companies_of(ctx.profile.channel, ctx.profile.chat_id)
        if lead is None or lead.id is None or lead.company not in mine or not lead.reached_company:
            return None
        if not lead.is_open:
            return ctx.turn(reply("leads.status_closed"))
        names = await company_names(ctx, [lead.company])
        rows = [[button(f"btn.leads.status.{s.value}", LEADS.pack("cs", lead.id, s.value))]
                for s in COMPANY_REPORTS if s is not lead.status]
        rows.append([button("btn.leads.company_back", LEADS.pack("mine"))])
        shared = lead.shared
        return ctx.turn(reply("leads.company_lead", rows, id=lead.id, company=names.get(lead.company, lead.company),
                              first_name=shared.get("first_name"), title=shared.get("title"),
                              phone=shared.get("phone"), email=shared.get("email"), status=lead.stage,
                              preferred_channel=shared.get("preference"), preferred_time=shared.get("time")),
                        state=ConversationState())

    async def joined(self, ctx: StepContext, token: str) -> Turn:
        """An invitation link, opened: its opener becomes a contact of the company."""
        company = await ctx.uow.leads.use_invite(token, ctx.clock.now())
        if company is None:
            return ctx.turn(reply("leads.invite_invalid"), state=ConversationState())
        if ctx.profile.role is None:
            ctx.profile.role = "company"
        await ctx.uow.leads.add_contact(company, ctx.profile.channel, ctx.profile.chat_id, ctx.clock.now())
        names = await company_names(ctx, [company])
        return ctx.turn(reply("leads.contact_linked", company=names.get(company, company)), state=ConversationState())

    async def report_link(self, ctx: StepContext, payload: str) -> Turn:
        """A status link from a company e-mail, opened in Telegram: whoever has the e-mail may report."""
        parsed = lead_report.parse(payload)
        lead = await ctx.uow.leads.by_report_token(parsed[0]) if parsed else None
        if parsed is None or lead is None:
            return ctx.turn(reply("leads.report_link_invalid"), state=ConversationState())
        if ctx.profile.role is None:
            ctx.profile.role = "company"
        return await self._report(ctx, lead, parsed[1])

    async def status_pressed(self, ctx: StepContext, lead_id: str, status: str) -> Turn | None:
        """A status button of a lead message: only the company's own contacts may report."""
        lead = await ctx.uow.leads.get(int(lead_id)) if lead_id.isdigit() else None
        mine = await ctx.uow.leads.companies_of(ctx.profile.channel, ctx.profile.chat_id)
        if lead is None or lead.company not in mine:
            return None
        try:
            new = LeadStatus(status)
        except ValueError:
            return None
        return await self._report(ctx, lead, new)

    async def _report(self, ctx: StepContext, lead: Lead, new: LeadStatus) -> Turn:
        """A company's report on one of its leads; the young person hears of it in friendly words."""
        assert lead.id is not None
        lead_id = lead.id
        if not lead.accepts_report(new):
            return ctx.turn(reply("leads.status_closed"))
        now = ctx.clock.now()
        await ctx.uow.leads.set_status(lead_id, new, now)
        young = await profile_of(ctx.uow, lead.user_id)
        names = await company_names(ctx, [lead.company])
        if young is not None and new is not lead.status:
            await ctx.uow.outbox.enqueue(OutboxMessage.to(
                young, reply(f"leads.news_{new.value}", company=names.get(lead.company, lead.company),
                             title=lead.shared.get("title")), now, f"lead-news:{lead_id}:{new.value}"))
        rows = [[button("btn.leads.company_back", LEADS.pack("mine"))]]
        return ctx.turn(reply("leads.status_saved", rows, status=new.value, first_name=lead.shared.get("first_name")))
