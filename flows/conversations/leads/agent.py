"""What cluster agents see and do: their cluster's leads (/leads, filters, one lead's history, CSV
without contact details) and invitations for company contacts (/einladung). Agents act only within
their own cluster; an agent without a cluster is told how to set one.

    /leads ──filter──> list ──"Nr. 12 · Tom"──> the lead: company, interest, status, history ──> list
    /einladung ──> the cluster's companies ──one──> a single-use link for its contact person
"""
from __future__ import annotations

from datetime import datetime

from flows.conversations.leads.company import INVITE_VALID, create_invite
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import ConsentRecord, ConversationState, Table, Turn
from flows.core.payloads import LEADS, MENU
from flows.domain.content import CompanyInfo
from flows.domain.lead import OPEN, Lead, LeadStatus
from flows.domain.lead_pipeline import consent_covers

AGENT_LIST_MAX = 30  # the list in the chat; the CSV has everything
FILTERS = ("open", "delivered", "all")


def _refusal(ctx: StepContext, command: str) -> Turn | None:
    """Agents act only within their own cluster: none for others, nothing without a cluster."""
    if not ctx.admin:
        return ctx.turn(reply("fallback.unknown_command", command=command), main_menu(ctx.profile))
    if ctx.profile.cluster is None:
        return ctx.turn(reply("leads.agent_no_cluster"))
    return None


class Shown:
    """What an agent may see of a lead's person (first name, place): only where the hand-over consent
    covers it (flows/domain/lead_pipeline.consent_covers, the cockpit's rule too). Consents are read
    once per person."""

    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx
        self._consents: dict[int, list[ConsentRecord]] = {}

    async def person(self, lead: Lead, field: str) -> str | None:
        if lead.consent_id is None:
            return None
        if lead.user_id not in self._consents:
            self._consents[lead.user_id] = await self._ctx.uow.consents.list_for_user(lead.user_id)
        consent = next((c for c in self._consents[lead.user_id] if c.id == lead.consent_id), None)
        covered = consent_covers(lead.status, lead.company, consent)
        value = lead.shared.get(field) if covered else None
        return value if isinstance(value, str) else None


class AgentViews:
    async def leads(self, ctx: StepContext, which: str = "open") -> Turn | None:
        """/leads for cluster agents: their cluster's leads with status and age, filterable, CSV."""
        if which not in FILTERS:
            return None
        if refused := _refusal(ctx, "leads"):
            return refused
        now = ctx.clock.now()
        chosen = await self._cluster_leads(ctx, which)
        shown = Shown(ctx)
        names = {lead.id: await shown.person(lead, "first_name") for lead, _ in chosen[:AGENT_LIST_MAX]}
        items = [{"id": lead.id, "company": company.name, "first_name": names.get(lead.id) or "–",
                  "status": lead.stage, "days": (now - lead.created_at).days} for lead, company in chosen]
        rows = [[button("btn.leads.agent_lead", LEADS.pack("ad", lead.id, which), id=lead.id,
                        first_name=names.get(lead.id) or "–", company=company.name)]
                for lead, company in chosen[:AGENT_LIST_MAX] if lead.id is not None]
        rows += [[button("btn.leads.filter", LEADS.pack("af", f), filter=f, chosen=f == which) for f in FILTERS],
                 [button("btn.leads.csv", LEADS.pack("csv", which))], [button("btn.menu.back", MENU.pack("open"))]]
        cluster = await ctx.uow.content.cluster(ctx.profile.cluster) if ctx.profile.cluster else None
        return ctx.turn(reply("leads.agent_list", rows, items=items[:AGENT_LIST_MAX], count=len(items),
                              filter=which, cluster=cluster.name if cluster else ctx.profile.cluster),
                        state=ConversationState())

    async def detail(self, ctx: StepContext, lead_id: str, which: str) -> Turn | None:
        """One lead of the agent's cluster: what it is about, where it stands, and its history."""
        if refused := _refusal(ctx, "leads"):
            return refused
        lead = await ctx.uow.leads.get(int(lead_id)) if lead_id.isdigit() else None
        company = await ctx.uow.content.company(lead.company) if lead else None
        if lead is None or company is None or company.cluster != ctx.profile.cluster:
            return None  # another cluster's lead, or a forged id: nothing of it is shown
        back = which if which in FILTERS else "open"
        shown = Shown(ctx)
        rows = [[button("btn.leads.agent_back", LEADS.pack("af", back))], [button("btn.menu.back", MENU.pack("open"))]]
        history = [{"status": "on_the_way" if h["status"] == "delivered" else h["status"], "at": h["at"]}
                   for h in lead.history]
        if lead.delivered_at is not None:
            history.append({"status": "delivered", "at": lead.delivered_at.isoformat()})
            history.sort(key=lambda h: h["at"])
        return ctx.turn(reply("leads.agent_detail", rows, id=lead.id, company=company.name,
                              first_name=await shown.person(lead, "first_name"),
                              place=await shown.person(lead, "place"),
                              title=lead.shared.get("title"), status=lead.stage, history=history,
                              created_at=lead.created_at.isoformat(), parent=lead.status is LeadStatus.WAITING_PARENT),
                        state=ConversationState())

    async def csv(self, ctx: StepContext, which: str) -> Turn | None:
        if which not in FILTERS:
            return None
        if refused := _refusal(ctx, "leads"):
            return refused
        columns = ["id", "company", "status", "created_at", "delivered_at", "status_at", "first_name", "place",
                   "interest"]
        shown = Shown(ctx)
        rows: list[list[str | int | datetime | None]] = [
            [lead.id, company.name, lead.stage, lead.created_at, lead.delivered_at, lead.status_at,
             await shown.person(lead, "first_name"), await shown.person(lead, "place"), lead.shared.get("title")]
            for lead, company in await self._cluster_leads(ctx, which)]
        table = Table(filename=f"leads-{which}-{ctx.clock.now():%Y-%m-%d}.csv",
                      columns=[f"label.csv.{c}" for c in columns], rows=rows, labels={2: "label.lead_status."})
        return ctx.turn(reply("leads.agent_csv").model_copy(update={"table": table}))

    async def invite(self, ctx: StepContext) -> Turn:
        """/einladung [<company-slug>], for cluster agents only, for a company of their own cluster: a
        single-use link for a new company contact. Without a slug: the cluster's companies to choose
        from. (`lotse company invite` on the server is not limited.)"""
        if refused := _refusal(ctx, "einladung"):
            return refused
        slug = (ctx.event.payload or "").strip().lower()
        if not slug:
            return await self._companies_to_invite(ctx)
        return await self.invite_company(ctx, slug)

    async def invite_company(self, ctx: StepContext, slug: str) -> Turn:
        if refused := _refusal(ctx, "einladung"):
            return refused
        company = await ctx.uow.content.company(slug) if slug else None
        if company is not None and company.cluster != ctx.profile.cluster:
            return ctx.turn(reply("leads.invite_other_cluster", company=slug[:48]))  # nothing of the other cluster
        payload = await create_invite(ctx.uow, slug, ctx.clock.now()) if company is not None else None
        if company is None or payload is None:
            return ctx.turn(reply("leads.invite_unknown_company", company=slug[:48]))
        return ctx.turn(reply("leads.invite_created", company=company.name, payload=payload, days=INVITE_VALID.days))

    async def _companies_to_invite(self, ctx: StepContext) -> Turn:
        companies = sorted((c for c in await ctx.uow.content.companies() if c.cluster == ctx.profile.cluster),
                           key=lambda c: c.name.casefold())
        rows = [[button("btn.raw", LEADS.pack("inv", c.slug), label=c.name)] for c in companies]
        rows.append([button("btn.menu.back", MENU.pack("open"))])
        return ctx.turn(reply("leads.invite_choose", rows, count=len(companies)), state=ConversationState())

    @staticmethod
    async def _cluster_leads(ctx: StepContext, which: str) -> list[tuple[Lead, CompanyInfo]]:
        companies = {c.slug: c for c in await ctx.uow.content.companies() if c.cluster == ctx.profile.cluster}
        leads = await ctx.uow.leads.for_companies(list(companies))
        chosen = [lead for lead in leads if which == "all" or (which == "open" and lead.status in OPEN)
                  or lead.status.value == which]
        return [(lead, companies[lead.company]) for lead in chosen]
