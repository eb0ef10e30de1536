"""The young person's own requests (/anfragen): what went to whom and its status, withdrawal per
request after a confirmation, and the answer to "Hat sich der Betrieb gemeldet?".

    /anfragen ──"Zurückziehen: 2 · <Betrieb>"──> "Wirklich zurückziehen?" ──ja──> withdrawn, company told
                                                                        └─nein──> /anfragen again

Requests are numbered in the list and on the buttons: two requests to one company stay apart.
"""
from __future__ import annotations

from flows.conversations.leads.common import company_names
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import ConversationState, Turn
from flows.core.payloads import LEADS, MENU
from flows.delivery.lead_delivery import withdraw
from flows.domain.lead import Lead, LeadStatus
from flows.jobs.lead_followup import alert_agents


class MyRequests:
    async def overview(self, ctx: StepContext) -> Turn:
        leads = await ctx.uow.leads.for_user(ctx.profile.id) if ctx.profile.id else []
        names = await company_names(ctx, [lead.company for lead in leads])
        rows = [[button("btn.leads.withdraw", LEADS.pack("w", lead.id), number=number,
                        company=names.get(lead.company, lead.company))]
                for number, lead in enumerate(leads, start=1) if lead.is_open and lead.id is not None]
        rows.append([button("btn.menu.back", MENU.pack("open"))])
        items = [{"number": number, "company": names.get(lead.company, lead.company), "title": lead.shared.get("title"),
                  "status": lead.stage} for number, lead in enumerate(leads, start=1)]
        return ctx.turn(reply("leads.mine", rows, items=items), state=ConversationState())

    async def heard_back(self, ctx: StepContext, lead_id: str, heard: bool) -> Turn | None:
        lead = await self._own(ctx, lead_id)
        if lead is None:
            return None
        if heard:
            if lead.status is LeadStatus.DELIVERED:
                await ctx.uow.leads.set_status(int(lead_id), LeadStatus.CONTACTED, ctx.clock.now())
            return ctx.turn(reply("leads.followup_yes"), main_menu(ctx.profile), state=ConversationState())
        await alert_agents(ctx.uow, ctx.admins, lead, "no_contact", ctx.clock.now())
        return ctx.turn(reply("leads.followup_no"), main_menu(ctx.profile), state=ConversationState())

    async def confirm_withdrawal(self, ctx: StepContext, lead_id: str) -> Turn | None:
        """"Zurückziehen" asks first: the company is told to delete the data, which cannot be undone."""
        lead = await self._own(ctx, lead_id)
        if lead is None or not lead.is_open or lead.id is None:
            return None
        names = await company_names(ctx, [lead.company])
        rows = [[button("btn.leads.withdraw_yes", LEADS.pack("wy", lead.id))],
                [button("btn.leads.withdraw_no", LEADS.pack("mine"))]]
        return ctx.turn(reply("leads.withdraw_confirm", rows, company=names.get(lead.company, lead.company),
                              title=lead.shared.get("title"), reached=lead.reached_company),
                        state=ConversationState())

    async def withdraw_one(self, ctx: StepContext, lead_id: str) -> Turn | None:
        lead = await self._own(ctx, lead_id)
        if lead is None or not lead.is_open:
            return None
        await withdraw(ctx.uow, ctx.profile, [lead], ctx.clock.now())
        names = await company_names(ctx, [lead.company])
        return ctx.turn(reply("leads.withdrawn", company=names.get(lead.company, lead.company)), main_menu(ctx.profile),
                        state=ConversationState())

    @staticmethod
    async def _own(ctx: StepContext, lead_id: str) -> Lead | None:
        """The user's own lead with this id; None for anyone else's (or a forged id)."""
        lead = await ctx.uow.leads.get(int(lead_id)) if lead_id.isdigit() else None
        if lead is None or ctx.profile.id is None or lead.user_id != ctx.profile.id:
            return None
        return lead
