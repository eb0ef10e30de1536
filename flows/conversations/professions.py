"""Berufe entdecken: browse by cluster or field; a page for young people and one for parents.

Buttons: PROFESSIONS in flows/core/payloads.py; `show` opens the page for the user's role
(parents see the parent page first), `teen` / `parent` switch it.
"""
from __future__ import annotations

from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConversationState, Reply, Turn
from flows.core.payloads import EVENTS, LEADS, MENU, PROFESSIONS, VACANCIES
from flows.domain.commute_view import CommuteView, commutes_to, shown
from flows.domain.content import ProfessionInfo
from flows.domain.labels import short_label

NAME = "professions"
FIELDS = ("mechatronik", "metall-elektro", "bau-handwerk", "pflege-hauswirtschaft")
FAR_SCHOOL_KM = 50  # the nearest Berufsschule farther than this: say how people manage the distance


class ProfessionsFlow:
    name = NAME
    payloads = PROFESSIONS

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        clusters = await ctx.uow.content.clusters()
        clusters.sort(key=lambda c: c.slug != ctx.profile.cluster)  # the user's own cluster first
        rows = [[button("btn.raw", PROFESSIONS.pack("c", c.slug), label=short_label(c.name))] for c in clusters]
        rows += [[button(f"btn.field.{f}", PROFESSIONS.pack("f", f))] for f in FIELDS]
        rows.append([button("btn.menu.back", MENU.pack("open"))])
        return ctx.turn(reply("professions.choose", rows), state=ConversationState(flow=NAME, step="browse"))

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(PROFESSIONS)
        if press is None:
            return None
        action, arg = press.action, press.arg()
        if action == "open":
            return await self.start(ctx, "professions")
        professions = await ctx.uow.content.professions()
        if action == "c":
            cluster = await ctx.uow.content.cluster(arg)
            if cluster is None:
                return None
            chosen = [p for p in professions if arg in p.clusters]
            return self._list(ctx, chosen, reply("professions.list_cluster", cluster=cluster.name))
        if action == "f" and arg in FIELDS:
            chosen = [p for p in professions if p.field == arg]
            return self._list(ctx, chosen, reply("professions.list_field", field=arg))
        if action in ("show", "teen", "parent"):
            profession = next((p for p in professions if p.slug == arg), None)
            if profession is None:
                return None
            parent_view = action == "parent" or (action == "show" and ctx.profile.role == "parent")
            return ctx.turn(await self._page(ctx, profession, parent_view),
                            state=ConversationState(flow=NAME, step="page"))
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return (await self.start(ctx, "professions")).replies

    def _list(self, ctx: StepContext, professions: list[ProfessionInfo], heading: Reply) -> Turn:
        rows = [[button("btn.raw", PROFESSIONS.pack("show", p.slug), label=short_label(p.name))]
                for p in sorted(professions, key=lambda p: p.name)]
        rows.append([button("btn.back", PROFESSIONS.pack("open")), button("btn.menu.back", MENU.pack("open"))])
        heading = heading.model_copy(update={"buttons": rows, "values": {**heading.values, "count": len(professions)}})
        return ctx.turn(heading, state=ConversationState(flow=NAME, step="list"))

    async def _schools(self, ctx: StepContext, profession: ProfessionInfo) -> list[dict[str, object]]:
        """Berufsschule towns with the way there from the user's home (commute.line), where known: the quickest
        by bus and train (or on foot) first, then the nearest."""
        places = [ctx.places.find(town.plz, town.name) for town in profession.berufsschule]
        views = await commutes_to(ctx.uow.commutes, ctx.home, [(p.lat, p.lon) if p else None for p in places])

        def order(item: tuple[str, CommuteView | None]) -> tuple[bool, int, bool, int]:
            view = item[1]
            minutes, km = (view.known_minutes, view.km) if view else (None, None)
            return minutes is None, minutes or 0, km is None, km or 0

        towns = sorted(zip((town.name for town in profession.berufsschule), views), key=order)
        return [{"name": name, "km": view.km if view else None, "commute": shown(view)} for name, view in towns]

    async def _page(self, ctx: StepContext, p: ProfessionInfo, parent_view: bool) -> Reply:
        switch: Button = button("btn.professions.parent_view", PROFESSIONS.pack("parent", p.slug)) if not parent_view \
            else button("btn.professions.teen_view", PROFESSIONS.pack("teen", p.slug))
        rows = [[button("btn.menu.vacancies", VACANCIES.pack("prof", p.slug)), button("btn.menu.events", EVENTS.pack("open"))],
                [button("btn.vacancies.interested", LEADS.pack("p", p.slug))],
                [switch], [button("btn.back", PROFESSIONS.pack("open")), button("btn.menu.back", MENU.pack("open"))]]
        texts = p.parent if parent_view else p.teen
        schools = await self._schools(ctx, p)
        distances = [s["km"] for s in schools if isinstance(s["km"], int)]
        return reply("professions.parent_page" if parent_view else "professions.teen_page", rows,
                     name=p.name, years=p.duration_months / 12, school_expectation=p.school_expectation,
                     legal_requirement=p.legal_requirement, pay=p.pay_monthly_eur, pay_note=p.pay_note,
                     tarif=p.pay_basis == "tarif", schools=schools, far=bool(distances) and min(distances) > FAR_SCHOOL_KM,
                     home=ctx.profile.place, texts=texts)
