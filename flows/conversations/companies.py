"""Betriebe: the companies of a cluster, nearest to home first, and a page for each of them.

    list (5 a page, "Weitere") ──> company page: what it does, how to get there by bus and train (commute.line),
        the professions it trains, its current offers and events ──"Interessiert mich"──> flows/conversations/leads

Buttons: COMPANIES in flows/core/payloads.py (a page of a cluster's or an event's companies, a
company's page). Offer cards and event pages link here. "Zurück zur Liste" returns to the list page the company was
opened from (kept in the conversation state); opened from an offer card it is "Zurück zum Angebot"
(that card again); else the first page of its cluster.
"""
from __future__ import annotations

from flows.conversations.events import audience_fits, pupils_may_see, when
from flows.conversations.vacancies import VacanciesContext, offers_viewed
from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ClusterInfo, ConversationState, FlowContext, Reply, Turn
from flows.core.payloads import COMPANIES, EVENTS, LEADS, MENU, VACANCIES
from flows.domain.commute_view import commutes_to, shown
from flows.domain.content import CompanyInfo, EventInfo, VacancyCard
from flows.domain.labels import example_marked, short_label
from flows.domain.matching import STARTED_GRACE_DAYS
from flows.domain.places import located, nearest_first

NAME = "companies"
PAGE_SIZE = 5
MAX_OFFERS = 4  # offers with a button on a company page: the keyboard stays short
MAX_EVENTS = 2


class CompaniesContext(FlowContext):
    """The list page the user came from: a company page's "zurück" returns there."""

    FLOW = NAME
    back: str | None = None  # the list page's button payload


class CompaniesFlow:
    name = NAME
    payloads = COMPANIES

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        cluster = await ctx.uow.content.cluster(ctx.profile.cluster) if ctx.profile.cluster else None
        if cluster is None:
            return await self._clusters(ctx)
        return await self._cluster_list(ctx, cluster, 0)

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(COMPANIES)
        if press is None:
            return None
        action, arg, extra = press.action, press.arg(0), press.arg(1)
        if action == "open":
            return await self.start(ctx, "companies")
        if action == "k":
            return await self._clusters(ctx)
        if action == "s":
            return await self._page(ctx, arg)
        if extra and not extra.isdigit():
            return None
        offset = int(extra or 0)
        if action == "l":
            cluster = await ctx.uow.content.cluster(arg) if arg else None
            return await self._cluster_list(ctx, cluster, offset) if cluster else None
        if action == "e":
            event = await ctx.uow.events.get(arg) if arg else None
            return await self._event_list(ctx, event, offset) if event else None
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return (await self.start(ctx, "companies")).replies

    # ---- lists ---------------------------------------------------------------------------
    async def _clusters(self, ctx: StepContext) -> Turn:
        clusters = await ctx.uow.content.clusters()
        clusters.sort(key=lambda c: c.slug != ctx.profile.cluster)  # the user's own cluster first
        rows = [[button("btn.raw", COMPANIES.pack("l", c.slug, 0), label=short_label(c.name))] for c in clusters]
        rows.append([button("btn.menu.back", MENU.pack("open"))])
        return ctx.turn(reply("companies.choose_cluster", rows), state=ConversationState(flow=NAME, step="clusters"))

    async def _cluster_list(self, ctx: StepContext, cluster: ClusterInfo, offset: int) -> Turn:
        companies = [c for c in await ctx.uow.content.companies() if c.cluster == cluster.slug]
        heading = reply("companies.list", cluster=cluster.name)
        return self._list(ctx, companies, heading, ("l", cluster.slug), offset,
                          [button("btn.companies.other_cluster", COMPANIES.pack("k"))])

    async def _event_list(self, ctx: StepContext, event: EventInfo, offset: int) -> Turn:
        companies = [c for c in await ctx.uow.content.companies() if c.slug in event.company_slugs]
        heading = reply("companies.list_event", title=event.title)
        return self._list(ctx, companies, heading, ("e", event.slug), offset,
                          [button("btn.events.back_to_event", EVENTS.pack("s", event.slug))])

    def _list(self, ctx: StepContext, companies: list[CompanyInfo], heading: Reply,
              listing: tuple[str, str], offset: int, extra: list[Button]) -> Turn:
        """One page of a list; `listing` is the (action, cluster or event) of its page buttons."""
        def page_at(start: int) -> str:
            return COMPANIES.pack(*listing, start)

        ranked = nearest_first(ctx.places, ctx.home, companies)
        offset = min(offset, (max(0, len(ranked) - 1) // PAGE_SIZE) * PAGE_SIZE)  # a page of a longer, older list
        page = ranked[offset:offset + PAGE_SIZE]
        rows = [[button("btn.companies.item", COMPANIES.pack("s", c.slug), name=short_label(c.name), place=c.place, km=km)]
                for c, km in page]
        paging: list[Button] = []
        if offset:
            paging.append(button("btn.companies.previous", page_at(max(0, offset - PAGE_SIZE))))
        if offset + PAGE_SIZE < len(ranked):
            paging.append(button("btn.companies.more", page_at(offset + PAGE_SIZE)))
        rows += [row for row in (paging, extra, [button("btn.menu.back", MENU.pack("open"))]) if row]
        home = ctx.home
        values = {**heading.values, "count": len(ranked), "first": offset + 1, "last": offset + len(page),
                  "home": home.name if home else None}
        state = CompaniesContext(back=page_at(offset)).at("list")
        return ctx.turn(heading.model_copy(update={"buttons": rows, "values": values}), state=state)

    # ---- a company's page ----------------------------------------------------------------
    async def _page(self, ctx: StepContext, slug: str) -> Turn:
        company = await ctx.uow.content.company(slug) if slug else None
        if company is None:  # removed from the content pack, or a forged button
            rows = [[button("btn.companies.list", COMPANIES.pack("open"))], [button("btn.menu.back", MENU.pack("open"))]]
            return ctx.turn(reply("companies.gone", rows), state=ConversationState())
        listed = CompaniesContext.of(ctx.state)
        back = (listed.back if listed else None) or COMPANIES.pack("l", company.cluster, 0)
        offer = VacanciesContext.of(ctx.state)
        if offer is not None:  # opened from an offer card: back to that card
            back = VACANCIES.pack("o", offer.opened) if offer.opened else VACANCIES.pack("n", offer.pos)
        back_key = "btn.companies.back_to_offer" if back.startswith(VACANCIES.prefix + ":") else "btn.companies.back"
        offers = await self._offers(ctx, company)
        if offers:
            offers_viewed(ctx)  # the company page lists its offers: the funnel's "offers viewed" step
        events = await self._events(ctx, company)
        rows = [[button("btn.companies.offer", LEADS.pack("v", o.slug), title=short_label(o.title))] for o in offers[:MAX_OFFERS]]
        rows += [[button("btn.companies.event", EVENTS.pack("s", e.slug), title=short_label(e.title), **when(e))] for e in events]
        rows += [[button("btn.companies.interested", LEADS.pack("c", company.slug))],
                 [button(back_key, back), button("btn.menu.back", MENU.pack("open"))]]
        professions = [p.name for p in [await ctx.uow.content.profession(s) for s in company.professions] if p]
        home = ctx.home
        site = located(ctx.places, company)
        [commute] = await commutes_to(ctx.uow.commutes, home, [(site.lat, site.lon) if site else None])
        page = reply("companies.page", rows, name=company.name, place=company.place,
                     km=commute.km if commute else None, commute=shown(commute), home=home.name if home else None,
                     description=company.description, size=company.size, website=company.website,
                     professions=professions, more_offers=max(0, len(offers) - MAX_OFFERS),
                     example=example_marked(company.name, company.example),
                     offers=[{"title": o.title, "kind": o.kind, "start": o.start.strftime("%d.%m.%Y") if o.start_known else None,
                              "place": o.place if o.place != company.place else None}
                             for o in offers[:MAX_OFFERS]],
                     events=[{"title": e.title, "place": e.place, **when(e)} for e in events])
        return ctx.turn(page, state=CompaniesContext(back=back).at("page"))

    async def _offers(self, ctx: StepContext, company: CompanyInfo) -> list[VacancyCard]:
        """Current offers: like the search, offers that started more than a month ago are gone."""
        today = ctx.clock.now().date()
        return [o for o in await ctx.uow.vacancies.for_company(company.slug)
                if (today - o.start).days <= STARTED_GRACE_DAYS]

    async def _events(self, ctx: StepContext, company: CompanyInfo) -> list[EventInfo]:
        upcoming = await ctx.uow.events.upcoming(ctx.clock.now())
        return [e for e in upcoming if company.slug in e.company_slugs and not e.cancelled
                and audience_fits(e, ctx.profile) and pupils_may_see(e, ctx.profile)][:MAX_EVENTS]
