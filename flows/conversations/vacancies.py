"""Stellen & Praktika: offers near home, ranked by interest fit, distance, school fit, start, freshness.

    start ──> (no home place? ask to set it) ──> header + card 1 ──"Nächste"──> card 2 ... ──> end
                 filters: radius 10/25/50/100 km, Ausbildung/Praktikum, profession
                 no result: say why and offer a wider radius; "Sag mir Bescheid": a saved search

Buttons: VACANCIES in flows/core/payloads.py; a card's "Interessiert mich" belongs to the leads
flow, "Zum Betrieb" to the companies flow.
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConversationState, FlowContext, Reply, Turn
from flows.core.payloads import COMPANIES, LEADS, MENU, ONBOARDING, VACANCIES
from flows.domain.content import SearchFilters, VacancyCard
from flows.domain.geo import Place, distance_km
from flows.domain.matching import RankSpec, expected_school_level, rank_spec

NAME = "vacancies"
RADII = (10, 25, 50, 100)
KINDS = ("ausbildung", "praktikum")


class VacanciesContext(FlowContext):
    """Where the user is in the list of offers: the filters and the card shown (0-based)."""

    FLOW = NAME
    filters: SearchFilters = Field(default_factory=SearchFilters)
    pos: int = 0


class VacanciesFlow:
    name = NAME
    payloads = VACANCIES

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        return await self._show(ctx, SearchFilters(), 0, header=True)

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(VACANCIES)
        if press is None:
            return None
        action, arg = press.action, press.arg()
        browsing = VacanciesContext.of(ctx.state)
        filters = browsing.filters if browsing else SearchFilters()
        if action == "open":
            return await self.start(ctx, "vacancies")
        if action == "prof":
            if await ctx.uow.content.profession(arg) is None:
                return None
            return await self._show(ctx, SearchFilters(profession=arg), 0, header=True)
        if action == "n" and arg.isdigit():
            return await self._show(ctx, filters, int(arg), header=int(arg) == 0)
        if action == "r" and arg.isdigit() and int(arg) in RADII:
            return await self._show(ctx, filters.model_copy(update={"radius_km": int(arg)}), 0, header=True)
        if action == "k" and (arg in KINDS or arg == "all"):
            kind = None if arg == "all" else arg
            return await self._show(ctx, filters.model_copy(update={"kind": kind}), 0, header=True)
        if action == "f":
            return ctx.turn(await self._filters(ctx, filters), state=self._state(filters, 0))
        if action == "p":
            return ctx.turn(await self._profession_choice(ctx), state=self._state(filters, 0))
        if action == "pp":
            if arg != "all" and await ctx.uow.content.profession(arg) is None:
                return None
            chosen = filters.model_copy(update={"profession": None if arg == "all" else arg})
            return await self._show(ctx, chosen, 0, header=True)
        if action == "u" and arg.isdigit() and ctx.profile.id is not None:
            if not await ctx.uow.vacancies.delete_search(ctx.profile.id, int(arg)):
                return None
            return ctx.turn(reply("vacancies.unsubscribed"), main_menu(ctx.profile), state=ConversationState())
        if action == "q" and arg.isdigit() and ctx.profile.id is not None:
            saved = await ctx.uow.vacancies.search(ctx.profile.id, int(arg))
            return await self._show(ctx, saved, 0, header=True) if saved else None
        if action in ("s", "o", "a", "m"):
            return await self._personal(ctx, action, arg, filters)
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        browsing = VacanciesContext.of(ctx.state) or VacanciesContext()
        return (await self._show(ctx, browsing.filters, browsing.pos, header=False)).replies

    # ---- pages ---------------------------------------------------------------------------
    @staticmethod
    def _state(filters: SearchFilters, pos: int) -> ConversationState:
        return VacanciesContext(filters=filters, pos=pos).at("browse")

    async def spec(self, ctx: StepContext, filters: SearchFilters, home: Place) -> RankSpec:
        interests = None
        if ctx.profile.id is not None:
            finished = await ctx.uow.quiz.latest_finished(ctx.profile.id)
            interests = finished.scores if finished else None
        profiles = await ctx.uow.content.interest_profiles() if interests else {}
        level = expected_school_level(ctx.profile.school_status, ctx.profile.school_class)
        return rank_spec(home.lat, home.lon, filters.radius_km, ctx.clock.now().date(), filters.kind,
                         filters.profession, interests, profiles, level)

    async def _show(self, ctx: StepContext, filters: SearchFilters, pos: int, header: bool) -> Turn:
        home = ctx.home
        if home is None:
            buttons = [[button("btn.settings.place", ONBOARDING.pack("settings", "place"))], [button("btn.menu.back", MENU.pack("open"))]]
            return ctx.turn(reply("vacancies.need_place", buttons), state=ConversationState())
        total, page = await ctx.uow.vacancies.ranked(await self.spec(ctx, filters, home), pos, 1)
        profession = await ctx.uow.content.profession(filters.profession) if filters.profession else None
        described: dict[str, Any] = {"radius": filters.radius_km, "kind": filters.kind,
                     "profession": profession.name if profession else None}
        if total == 0:
            wider = next((r for r in RADII if r > filters.radius_km), None)
            rows: list[list[Button]] = []
            if wider is not None:
                rows.append([button("btn.vacancies.widen", VACANCIES.pack("r", wider), km=wider)])
            rows += [[button("btn.vacancies.filters", VACANCIES.pack("f"))], [button("btn.vacancies.alert", VACANCIES.pack("a"))],
                     [button("btn.menu.back", MENU.pack("open"))]]
            return ctx.turn(reply("vacancies.none", rows, wider=wider, place=home.name, **described),
                            state=self._state(filters, 0))
        if not page:
            rows = [[button("btn.vacancies.again", VACANCIES.pack("n", "0")), button("btn.vacancies.filters", VACANCIES.pack("f"))],
                    [button("btn.vacancies.alert", VACANCIES.pack("a")), button("btn.menu.back", MENU.pack("open"))]]
            return ctx.turn(reply("vacancies.end", rows, count=total), state=self._state(filters, pos))
        replies = [reply("vacancies.header", count=total, place=home.name, **described)] if header else []
        card = await ctx.uow.vacancies.card(page[0].slug)
        if card is None:  # archived between ranking and now: skip it
            return await self._show(ctx, filters, pos + 1, header)
        km = distance_km(home.lat, home.lon, card.lat, card.lon)
        replies.append(self._card(card, km, home, pos, total))
        return ctx.turn(*replies, state=self._state(filters, pos))

    @staticmethod
    def _card(card: VacancyCard, km: float, home: Place, pos: int, count: int) -> Reply:
        school_km = None
        if card.school is not None and card.school_lat is not None and card.school_lon is not None:
            school_km = round(distance_km(home.lat, home.lon, card.school_lat, card.school_lon))
        rows = [[button("btn.vacancies.interested", LEADS.pack("v", card.slug)), button("btn.vacancies.save", VACANCIES.pack("s", card.slug))],
                [button("btn.vacancies.company", COMPANIES.pack("s", card.company))],
                [button("btn.vacancies.next", VACANCIES.pack("n", pos + 1)), button("btn.vacancies.filters", VACANCIES.pack("f"))],
                [button("btn.vacancies.alert", VACANCIES.pack("a")), button("btn.menu.back", MENU.pack("open"))]]
        return reply("vacancies.card", rows, number=pos + 1, count=count, title=card.title, kind=card.kind,
                     company=card.company_name, example=card.example, place=card.place, km=round(km),
                     start=card.start.strftime("%d.%m.%Y"), profession=card.profession_name,
                     places=card.places, description=card.description,
                     school=card.school.name if card.school else None, school_km=school_km)

    async def _filters(self, ctx: StepContext, filters: SearchFilters) -> Reply:
        radius = [button("btn.vacancies.radius", VACANCIES.pack("r", r), km=r, chosen=r == filters.radius_km) for r in RADII]
        kinds = [button("btn.vacancies.kind", VACANCIES.pack("k", k), kind=k, chosen=(filters.kind or "all") == k)
                 for k in ("all", *KINDS)]
        profession = await ctx.uow.content.profession(filters.profession) if filters.profession else None
        rows = [radius, kinds, [button("btn.vacancies.profession", VACANCIES.pack("p"))], [button("btn.vacancies.show", VACANCIES.pack("n", "0"))]]
        return reply("vacancies.filters", rows, radius=filters.radius_km, kind=filters.kind,
                     profession=profession.name if profession else None)

    async def _profession_choice(self, ctx: StepContext) -> Reply:
        professions = sorted(await ctx.uow.content.professions(), key=lambda p: p.name)
        rows = [[button("btn.raw", VACANCIES.pack("pp", p.slug), label=p.name)] for p in professions]
        rows.append([button("btn.vacancies.all_professions", VACANCIES.pack("pp", "all"))])
        return reply("vacancies.choose_profession", rows)

    # ---- what the user keeps -------------------------------------------------------------
    async def _personal(self, ctx: StepContext, action: str, arg: str, filters: SearchFilters) -> Turn | None:
        if ctx.profile.id is None:
            await ctx.uow.users.save(ctx.profile)
        assert ctx.profile.id is not None
        now = ctx.clock.now()
        browsing = VacanciesContext.of(ctx.state)
        keep = ctx.state if browsing else self._state(filters, 0)
        nav = [[button("btn.vacancies.next", VACANCIES.pack("n", (browsing.pos if browsing else 0) + 1)),
                button("btn.vacancies.saved_list", VACANCIES.pack("m"))], [button("btn.menu.back", MENU.pack("open"))]]
        if action in ("s", "o"):
            card = await ctx.uow.vacancies.card(arg)
            if card is None:
                return None
            if action == "o":
                home = ctx.home
                km = distance_km(home.lat, home.lon, card.lat, card.lon) if home else 0.0
                return ctx.turn(self._card(card, km, home, 0, 1) if home else reply("vacancies.need_place"), state=keep)
            new = await ctx.uow.vacancies.mark(ctx.profile.id, arg, "saved", now)
            return ctx.turn(reply("vacancies.saved", nav, title=card.title, new=new), state=keep)
        if action == "a":
            new = await ctx.uow.vacancies.save_search(ctx.profile.id, filters, now)
            profession = await ctx.uow.content.profession(filters.profession) if filters.profession else None
            return ctx.turn(reply("vacancies.alert_saved", nav, new=new, radius=filters.radius_km, kind=filters.kind,
                                  profession=profession.name if profession else None), state=keep)
        marks = [m for m in await ctx.uow.vacancies.marks(ctx.profile.id) if m.mark == "saved"]
        cards = [c for c in [await ctx.uow.vacancies.card(m.slug) for m in marks] if c is not None]
        rows = [[button("btn.raw", VACANCIES.pack("o", c.slug), label=c.title[:60])] for c in cards]
        rows.append([button("btn.vacancies.again", VACANCIES.pack("n", "0")), button("btn.menu.back", MENU.pack("open"))])
        return ctx.turn(reply("vacancies.saved_list", rows, count=len(cards)), state=keep)
