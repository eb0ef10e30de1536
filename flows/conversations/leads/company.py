"""The company side: a contact joins by invitation and reports on its leads with one tap
("Kontakt aufgenommen", "Gespräch vereinbart", "Kein passender Platz"), in Telegram or by the
status links of its e-mails; the young person hears of it in friendly words."""
from __future__ import annotations

from datetime import datetime, timedelta

from flows.conversations.leads.common import INVITE_PREFIX, company_names, link_payload, new_token, profile_of
from flows.core.context import StepContext, reply
from flows.core.model import ConversationState, Turn
from flows.core.ports import UnitOfWork
from flows.delivery.outbox import OutboxMessage
from flows.domain import lead_report
from flows.domain.lead import CompanyInvite, Lead, LeadStatus

INVITE_VALID = timedelta(days=14)


async def create_invite(uow: UnitOfWork, company: str, now: datetime) -> str | None:
    """A single-use deep-link payload for a new company contact, or None for an unknown company."""
    if not await uow.leads.company_exists(company):
        return None
    token = new_token()
    await uow.leads.add_invite(CompanyInvite(token=token, company=company, created_at=now, expires_at=now + INVITE_VALID))
    return link_payload(INVITE_PREFIX, token)


class CompanyReports:
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
        return ctx.turn(reply("leads.status_saved", status=new.value, first_name=lead.shared.get("first_name")))
