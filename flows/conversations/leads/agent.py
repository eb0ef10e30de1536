"""What cluster agents see and do: their cluster's leads (/leads, filters, CSV without contact
details) and invitations for company contacts (/einladung). Agents act only within their own
cluster; an agent without a cluster is told how to set one."""
from __future__ import annotations

import csv
import io

from flows.conversations.leads.company import INVITE_VALID, create_invite
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import ConversationState, Document, Turn
from flows.core.payloads import LEADS
from flows.domain.content import CompanyInfo
from flows.domain.lead import OPEN, Lead

AGENT_LIST_MAX = 30  # the list in the chat; the CSV has everything
FILTERS = ("open", "delivered", "all")


def _refusal(ctx: StepContext, command: str) -> Turn | None:
    """Agents act only within their own cluster: none for others, nothing without a cluster."""
    if not ctx.admin:
        return ctx.turn(reply("fallback.unknown_command", command=command), main_menu(ctx.profile))
    if ctx.profile.cluster is None:
        return ctx.turn(reply("leads.agent_no_cluster"))
    return None


class AgentViews:
    async def leads(self, ctx: StepContext, which: str = "open") -> Turn | None:
        """/leads for cluster agents: their cluster's leads with status and age, filterable, CSV."""
        if which not in FILTERS:
            return None
        if refused := _refusal(ctx, "leads"):
            return refused
        now = ctx.clock.now()
        items = [{"id": lead.id, "company": company.name, "first_name": lead.shared.get("first_name"),
                  "status": lead.status.value, "days": (now - lead.created_at).days}
                 for lead, company in await self._cluster_leads(ctx, which)]
        rows = [[button("btn.leads.filter", LEADS.pack("af", f), filter=f, chosen=f == which) for f in FILTERS],
                [button("btn.leads.csv", LEADS.pack("csv", which))]]
        return ctx.turn(reply("leads.agent_list", rows, items=items[:AGENT_LIST_MAX], count=len(items),
                              filter=which), state=ConversationState())

    async def csv(self, ctx: StepContext, which: str) -> Turn | None:
        if which not in FILTERS:
            return None
        if refused := _refusal(ctx, "leads"):
            return refused
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["id", "company", "status", "created_at", "delivered_at", "status_at", "first_name", "place", "interest"])
        for lead, company in await self._cluster_leads(ctx, which):
            writer.writerow([lead.id, company.name, lead.status.value, lead.created_at.isoformat(),
                             lead.delivered_at.isoformat() if lead.delivered_at else "", lead.status_at.isoformat(),
                             lead.shared.get("first_name"), lead.shared.get("place"), lead.shared.get("title")])
        document = Document(filename=f"leads-{which}-{ctx.clock.now():%Y-%m-%d}.csv",
                            content=out.getvalue().encode("utf-8-sig"), mime_type="text/csv")
        return ctx.turn(reply("leads.agent_csv").model_copy(update={"document": document}))

    async def invite(self, ctx: StepContext) -> Turn:
        """/einladung <company-slug>, for cluster agents only, for a company of their own cluster: a
        single-use link for a new company contact. (`lotse company invite` on the server is not limited.)"""
        if refused := _refusal(ctx, "einladung"):
            return refused
        slug = (ctx.event.payload or "").strip().lower()
        company = await ctx.uow.content.company(slug) if slug else None
        if company is not None and company.cluster != ctx.profile.cluster:
            return ctx.turn(reply("leads.invite_other_cluster", company=slug[:48]))  # nothing of the other cluster
        payload = await create_invite(ctx.uow, slug, ctx.clock.now()) if company is not None else None
        if company is None or payload is None:
            return ctx.turn(reply("leads.invite_unknown_company", company=slug[:48]))
        return ctx.turn(reply("leads.invite_created", company=company.name, payload=payload, days=INVITE_VALID.days))

    @staticmethod
    async def _cluster_leads(ctx: StepContext, which: str) -> list[tuple[Lead, CompanyInfo]]:
        companies = {c.slug: c for c in await ctx.uow.content.companies() if c.cluster == ctx.profile.cluster}
        leads = await ctx.uow.leads.for_companies(list(companies))
        chosen = [lead for lead in leads if which == "all" or (which == "open" and lead.status in OPEN)
                  or lead.status.value == which]
        return [(lead, companies[lead.company]) for lead in chosen]
