"""Stellen & Praktika: offers near home, ranked by interest fit, distance, school fit, start, freshness.

    start ──> (no home place? ask to set it) ──> (home outside the three regions? say so, offer the
        nearest cluster's main town) ──> header + card 1 ──"Nächste"──> card 2 ... ──> end
    filters ("Filter"): radius 10/25/50/100 km, Ausbildung/Praktikum, profession, and (while a timetable is
        loaded) "höchstens 60 min mit Bus und Bahn" – each tap only changes the choice on the filter screen;
        "Anzeigen" searches once
    no result: say why and offer a wider radius (or to drop the bus-and-train filter); "Sag mir Bescheid": a saved search
    Merkliste ("saved" entry, /merkliste): open an offer, take it off the list

The filters the user last searched with are kept (VacancyRepository.remember_filters): /stellen,
an offer search from a profession page and "Zurück zum Angebot" on a company page start there.
Offers only for pupils (a Schülerpraktikum) are hidden from people who have left school and come
last, marked, for adults whose school status is unknown (flows.domain.matching.pupils_only_offers).

The first offer card the bot shows a user sets Profile.offers_viewed_at (the cockpit's funnel).

A card says how to get to the offer's place and to its Berufsschule by bus and train (commute.line; issue 16).
The bus-and-train filter keeps the offers whose place is planned within the minutes from the search's centre;
with no timetable loaded any more it is left out (and the header says so), not forgotten.

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
from flows.domain.clusters import REGION_RADIUS_KM, nearest_cluster
from flows.domain.commute import FILTER_MINUTES
from flows.domain.commute_view import commutes_to, shown
from flows.domain.content import SearchFilters, VacancyCard
from flows.domain.geo import Place, distance_km
from flows.domain.journeys import Point
from flows.domain.labels import example_marked, short_label
from flows.domain.matching import RankSpec, expected_school_level, main_town, pupils_only_offers, rank_spec

NAME = "vacancies"
RADII = (10, 25, 50, 100)
KINDS = ("ausbildung", "praktikum")
FAR_SCHOOL_KM = 50  # a Berufsschule farther than this gets a word on how people manage the distance
SAVED_LABEL_MAX = 32  # a saved offer's title shares its row with "Entfernen"


class VacanciesContext(FlowContext):
    """Where the user is in the list of offers: the filters and the card shown (0-based); on the
    filter screen the filters being chosen; `opened`: a single saved offer shown from the Merkliste."""

    FLOW = NAME
    filters: SearchFilters = Field(default_factory=SearchFilters)
    pos: int = 0
    opened: str | None = None


def offers_viewed(ctx: StepContext) -> None:
    """Remember when the bot first showed this user offers (the cockpit's funnel step "offers viewed");
    later lists leave it as it is. The engine saves the profile with the turn."""
    if ctx.profile.offers_viewed_at is None:
        ctx.profile.offers_viewed_at = ctx.clock.now()


class VacanciesFlow:
    name = NAME
    payloads = VACANCIES

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        if entry == "saved":
            return await self._saved_list(ctx, await self._filters_now(ctx))
        return await self._show(ctx, await self._filters_now(ctx), 0, header=True)

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(VACANCIES)
        if press is None:
            return None
        action, arg = press.action, press.arg()
        filters = await self._filters_now(ctx)
        if action == "open":
            return await self.start(ctx, "vacancies")
        if action == "prof":
            if await ctx.uow.content.profession(arg) is None:
                return None
            return await self._show(ctx, filters.model_copy(update={"profession": arg}), 0, header=True)
        if action == "n" and arg.isdigit():
            return await self._show(ctx, filters, int(arg), header=int(arg) == 0)
        if action == "w" and arg.isdigit() and int(arg) in RADII:  # "search wider" on an empty result
            return await self._show(ctx, filters.model_copy(update={"radius_km": int(arg)}), 0, header=True)
        if action == "dc":  # "without the bus-and-train filter" on an empty result
            return await self._show(ctx, filters.model_copy(update={"max_minutes": None}), 0, header=True)
        if action == "t":
            cluster = await ctx.uow.content.cluster(arg) if arg else None
            if cluster is None or main_town(ctx.places, cluster) is None:
                return None
            return await self._show(ctx, filters.model_copy(update={"around": cluster.slug}), 0, header=True)
        if action == "f":
            return await self._filter_screen(ctx, filters)
        if action == "r" and arg.isdigit() and int(arg) in RADII:
            return await self._filter_screen(ctx, filters.model_copy(update={"radius_km": int(arg)}))
        if action == "k" and (arg in KINDS or arg == "all"):
            return await self._filter_screen(ctx, filters.model_copy(update={"kind": None if arg == "all" else arg}))
        if action == "c" and arg in ("0", str(FILTER_MINUTES)):
            return await self._filter_screen(ctx, filters.model_copy(update={"max_minutes": int(arg) or None}))
        if action == "p":
            return ctx.turn(await self._profession_choice(ctx), state=self._state(filters, 0, "filters"))
        if action == "pp":
            if arg != "all" and await ctx.uow.content.profession(arg) is None:
                return None
            return await self._filter_screen(ctx, filters.model_copy(update={"profession": None if arg == "all" else arg}))
        if action == "u" and arg.isdigit() and ctx.profile.id is not None:
            if not await ctx.uow.vacancies.delete_search(ctx.profile.id, int(arg)):
                return None
            return ctx.turn(reply("vacancies.unsubscribed"), main_menu(ctx.profile), state=ConversationState())
        if action == "q" and arg.isdigit() and ctx.profile.id is not None:
            saved = await ctx.uow.vacancies.search(ctx.profile.id, int(arg))
            return await self._show(ctx, saved, 0, header=True) if saved else None
        if action in ("s", "o", "a", "m", "x"):
            return await self._personal(ctx, action, arg, filters)
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        browsing = VacanciesContext.of(ctx.state) or VacanciesContext(filters=await self._filters_now(ctx))
        if ctx.state.step == "filters":
            return (await self._filter_screen(ctx, browsing.filters)).replies
        return (await self._show(ctx, browsing.filters, browsing.pos, header=False)).replies

    # ---- pages ---------------------------------------------------------------------------
    @staticmethod
    def _state(filters: SearchFilters, pos: int, step: str = "browse", opened: str | None = None) -> ConversationState:
        return VacanciesContext(filters=filters, pos=pos, opened=opened).at(step)

    @staticmethod
    async def _filters_now(ctx: StepContext) -> SearchFilters:
        """The filters of the open list or filter screen, else the ones the user last searched with."""
        browsing = VacanciesContext.of(ctx.state)
        if browsing is not None:
            return browsing.filters
        if ctx.profile.id is not None:
            return await ctx.uow.vacancies.last_filters(ctx.profile.id) or SearchFilters()
        return SearchFilters()

    async def spec(self, ctx: StepContext, filters: SearchFilters, home: Place,
                   reachable: frozenset[Point] | None = None) -> RankSpec:
        """reachable: the places the bus-and-train filter keeps (`_reachable`); None: no such filter."""
        interests = None
        if ctx.profile.id is not None:
            finished = await ctx.uow.quiz.latest_finished(ctx.profile.id)
            interests = finished.scores if finished else None
        profiles = await ctx.uow.content.interest_profiles() if interests else {}
        p = ctx.profile
        level = expected_school_level(p.school_status, p.school_class)
        return rank_spec(home.lat, home.lon, filters.radius_km, ctx.clock.now().date(), filters.kind,
                         filters.profession, interests, profiles, level,
                         pupils_only_offers(p.role, p.age_band, p.school_status), reachable)

    @staticmethod
    async def _reachable(ctx: StepContext, filters: SearchFilters, centre: Place) -> frozenset[Point] | None:
        """The places at most `filters.max_minutes` by bus and train from the centre; None: no such filter, or no
        timetable loaded (then the filter is left out)."""
        if not filters.max_minutes or await ctx.uow.commutes.plan() is None:
            return None
        return await ctx.uow.commutes.reachable((centre.lat, centre.lon), filters.max_minutes)

    async def _centre(self, ctx: StepContext, filters: SearchFilters) -> Place | None:
        """Where the search looks: around a cluster's main town if the user chose that, else home."""
        if filters.around:
            cluster = await ctx.uow.content.cluster(filters.around)
            town = main_town(ctx.places, cluster) if cluster else None
            if town is not None:
                return town
        return ctx.home

    async def _outside(self, ctx: StepContext, home: Place, filters: SearchFilters) -> Turn | None:
        """Home lies outside the three regions: say so plainly and offer each cluster's main town."""
        clusters = await ctx.uow.content.clusters()
        found = nearest_cluster(home, clusters, ctx.places)
        if found is None or found[1] <= REGION_RADIUS_KM:
            return None
        towns: list[tuple[int, str, str]] = []  # (km, cluster slug, town)
        regions = []
        for cluster in clusters:
            town = main_town(ctx.places, cluster)
            if town is None:
                continue
            towns.append((round(distance_km(home.lat, home.lon, town.lat, town.lon)), cluster.slug, town.name))
            regions.append({"name": cluster.name, "region": cluster.region_name, "town": town.name})
        towns.sort()
        rows = [[button("btn.vacancies.around", VACANCIES.pack("t", slug), name=town, km=km)] for km, slug, town in towns]
        rows += [[button("btn.settings.place", ONBOARDING.pack("settings", "place"))], [button("btn.menu.back", MENU.pack("open"))]]
        return ctx.turn(reply("vacancies.outside", rows, place=home.name, km=round(found[1]), regions=regions,
                              cluster=found[0].name), state=self._state(filters, 0))

    async def _show(self, ctx: StepContext, filters: SearchFilters, pos: int, header: bool) -> Turn:
        home = ctx.home
        if home is None:
            buttons = [[button("btn.settings.place", ONBOARDING.pack("settings", "place"))], [button("btn.menu.back", MENU.pack("open"))]]
            return ctx.turn(reply("vacancies.need_place", buttons), state=ConversationState())
        centre = await self._centre(ctx, filters)
        if centre is None:
            return ctx.turn(reply("vacancies.need_place"), state=ConversationState())
        if filters.around is None or centre is home:
            filters = filters.model_copy(update={"around": None})
            outside = await self._outside(ctx, home, filters)
            if outside is not None:
                return outside
        if header and ctx.profile.id is not None:
            await ctx.uow.vacancies.remember_filters(ctx.profile.id, filters, ctx.clock.now())
        reachable = await self._reachable(ctx, filters, centre)
        total, page = await ctx.uow.vacancies.ranked(await self.spec(ctx, filters, centre, reachable), pos, 1)
        profession = await ctx.uow.content.profession(filters.profession) if filters.profession else None
        commute_filter = filters.max_minutes if reachable is not None else None
        described: dict[str, Any] = {"radius": filters.radius_km, "kind": filters.kind,
                                     "profession": profession.name if profession else None,
                                     "max_minutes": commute_filter,
                                     "ignored_minutes": filters.max_minutes if commute_filter is None else None}
        if total == 0:
            wider = next((r for r in RADII if r > filters.radius_km), None)
            rows: list[list[Button]] = []
            if wider is not None:
                rows.append([button("btn.vacancies.widen", VACANCIES.pack("w", wider), km=wider)])
            if commute_filter is not None:
                rows.append([button("btn.vacancies.drop_commute", VACANCIES.pack("dc"))])
            rows += [[button("btn.vacancies.filters", VACANCIES.pack("f"))], [button("btn.vacancies.alert", VACANCIES.pack("a"))],
                     [button("btn.menu.back", MENU.pack("open"))]]
            return ctx.turn(reply("vacancies.none", rows, wider=wider, place=centre.name, **described),
                            state=self._state(filters, 0))
        if not page:
            rows = [[button("btn.vacancies.again", VACANCIES.pack("n", "0")), button("btn.vacancies.filters", VACANCIES.pack("f"))],
                    [button("btn.vacancies.alert", VACANCIES.pack("a")), button("btn.menu.back", MENU.pack("open"))]]
            return ctx.turn(reply("vacancies.end", rows, count=total), state=self._state(filters, pos))
        replies = [reply("vacancies.header", count=total, place=centre.name, **described)] if header else []
        card = await ctx.uow.vacancies.card(page[0].slug)
        if card is None:  # archived between ranking and now: skip it
            return await self._show(ctx, filters, pos + 1, header)
        replies.append(await self._card(ctx, card, centre, pos, total))
        offers_viewed(ctx)
        return ctx.turn(*replies, state=self._state(filters, pos))

    @staticmethod
    async def _card(ctx: StepContext, card: VacancyCard, home: Place | None, pos: int, count: int,
                    saved: bool = False) -> Reply:
        """One offer; how to get to its place and to its Berufsschule from `home` (the search's centre)."""
        school: Point | None = None
        if card.school is not None and card.school_lat is not None and card.school_lon is not None:
            school = (card.school_lat, card.school_lon)
        there, to_school = await commutes_to(ctx.uow.commutes, home, [(card.lat, card.lon), school])
        km = there.km if there else None
        school_km = to_school.km if to_school else None
        # An imported offer of an employer outside the clusters: its page at the Arbeitsagentur instead of a
        # hand-over (no personal data to companies the clusters do not know) and of a company page.
        ba_page = Button(key="btn.vacancies.ba_page", data="", url=card.source_url) if card.source_url else None
        interested = button("btn.vacancies.interested", LEADS.pack("v", card.slug)) if card.company else ba_page
        company = [[button("btn.vacancies.company", COMPANIES.pack("s", card.company))]] if card.company else []
        listing = [[ba_page]] if ba_page is not None and card.company else []
        if saved:  # opened from the Merkliste
            rows = [*([[interested]] if interested else []), *company, *listing,
                    [button("btn.vacancies.remove", VACANCIES.pack("x", card.slug)),
                     button("btn.vacancies.saved_list", VACANCIES.pack("m"))],
                    [button("btn.menu.back", MENU.pack("open"))]]
        else:
            rows = [[*([interested] if interested else []), button("btn.vacancies.save", VACANCIES.pack("s", card.slug))],
                    *company, *listing,
                    [button("btn.vacancies.next", VACANCIES.pack("n", pos + 1)), button("btn.vacancies.filters", VACANCIES.pack("f"))],
                    [button("btn.vacancies.alert", VACANCIES.pack("a")), button("btn.menu.back", MENU.pack("open"))]]
        company_place = card.company_place if card.company_place and card.company_place != card.place else None
        return reply("vacancies.card", rows, number=pos + 1, count=count, title=card.title, kind=card.kind,
                     company=card.company_name, example=example_marked(card.company_name, card.example),
                     place=card.place, km=km, commute=shown(there), company_place=company_place,
                     imported=card.imported,
                     start=card.start.strftime("%d.%m.%Y") if card.start_known else None, profession=card.profession_name,
                     places=card.places, description=card.description,
                     audience="pupils" if card.pupils_only else "all",
                     school=card.school.name if card.school else None, school_km=school_km,
                     school_commute=shown(to_school),
                     far=school_km is not None and school_km > FAR_SCHOOL_KM)

    async def _filter_screen(self, ctx: StepContext, filters: SearchFilters) -> Turn:
        """The filters being chosen: every tap changes the choice here; "Anzeigen" searches once."""
        radius = [button("btn.vacancies.radius", VACANCIES.pack("r", r), km=r, chosen=r == filters.radius_km) for r in RADII]
        kinds = [button("btn.vacancies.kind", VACANCIES.pack("k", k), kind=k, chosen=(filters.kind or "all") == k)
                 for k in ("all", *KINDS)]
        profession = await ctx.uow.content.profession(filters.profession) if filters.profession else None
        rows = [radius, kinds, [button("btn.vacancies.profession", VACANCIES.pack("p"))]]
        planned = await ctx.uow.commutes.plan() is not None  # without a timetable the filter means nothing
        if planned:
            on = filters.max_minutes is not None
            rows.append([button("btn.vacancies.commute", VACANCIES.pack("c", 0 if on else FILTER_MINUTES),
                                minutes=filters.max_minutes or FILTER_MINUTES, chosen=on)])
        rows += [[button("btn.vacancies.show", VACANCIES.pack("n", "0"))], [button("btn.menu.back", MENU.pack("open"))]]
        filter_screen = reply("vacancies.filters", rows, radius=filters.radius_km, kind=filters.kind,
                              profession=profession.name if profession else None, planned=planned,
                              max_minutes=filters.max_minutes)
        return ctx.turn(filter_screen, state=self._state(filters, 0, "filters"))

    async def _profession_choice(self, ctx: StepContext) -> Reply:
        professions = sorted(await ctx.uow.content.professions(), key=lambda p: p.name)
        rows = [[button("btn.raw", VACANCIES.pack("pp", p.slug), label=short_label(p.name))] for p in professions]
        rows.append([button("btn.vacancies.all_professions", VACANCIES.pack("pp", "all"))])
        return reply("vacancies.choose_profession", rows)

    # ---- what the user keeps -------------------------------------------------------------
    async def _personal(self, ctx: StepContext, action: str, arg: str, filters: SearchFilters) -> Turn | None:
        if ctx.profile.id is None:
            await ctx.uow.users.save(ctx.profile)
        assert ctx.profile.id is not None
        now = ctx.clock.now()
        browsing = VacanciesContext.of(ctx.state)
        pos = browsing.pos if browsing else 0
        keep = self._state(filters, pos)
        nav = [[button("btn.vacancies.next", VACANCIES.pack("n", pos + 1)),
                button("btn.vacancies.saved_list", VACANCIES.pack("m"))], [button("btn.menu.back", MENU.pack("open"))]]
        if action in ("s", "o"):
            card = await ctx.uow.vacancies.card(arg)
            if card is None:
                return None
            if action == "o":
                home = await self._centre(ctx, filters)
                offers_viewed(ctx)
                return ctx.turn(await self._card(ctx, card, home, 0, 1, saved=True),
                                state=self._state(filters, pos, opened=card.slug))
            new = await ctx.uow.vacancies.mark(ctx.profile.id, arg, "saved", now)
            return ctx.turn(reply("vacancies.saved", nav, title=card.title, new=new), state=keep)
        if action == "x":
            if not await ctx.uow.vacancies.unmark(ctx.profile.id, arg, "saved"):
                return None  # not on the list (any more): an old or forged button
            card = await ctx.uow.vacancies.card(arg)
            removed = reply("vacancies.removed", title=card.title if card else arg)
            listing = await self._saved_list(ctx, filters)
            return ctx.turn(removed, *listing.replies, state=listing.state)
        if action == "a":
            new = await ctx.uow.vacancies.save_search(ctx.profile.id, filters, now)
            profession = await ctx.uow.content.profession(filters.profession) if filters.profession else None
            return ctx.turn(reply("vacancies.alert_saved", nav, new=new, radius=filters.radius_km, kind=filters.kind,
                                  profession=profession.name if profession else None,
                                  max_minutes=filters.max_minutes), state=keep)
        return await self._saved_list(ctx, filters)

    async def _saved_list(self, ctx: StepContext, filters: SearchFilters) -> Turn:
        """The Merkliste: each offer opens its card; "Entfernen" takes it off the list."""
        marks = [m for m in await ctx.uow.vacancies.marks(ctx.profile.id) if m.mark == "saved"] if ctx.profile.id else []
        cards = [c for c in [await ctx.uow.vacancies.card(m.slug) for m in marks] if c is not None]
        rows = [[button("btn.raw", VACANCIES.pack("o", c.slug), label=short_label(c.title, SAVED_LABEL_MAX)),
                 button("btn.vacancies.remove", VACANCIES.pack("x", c.slug))] for c in cards]
        rows.append([button("btn.vacancies.again", VACANCIES.pack("n", "0")), button("btn.menu.back", MENU.pack("open"))])
        return ctx.turn(reply("vacancies.saved_list", rows, count=len(cards)), state=self._state(filters, 0, "saved"))
