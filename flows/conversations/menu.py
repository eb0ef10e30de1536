"""Main menu, help, and the helpful answers to everything no flow expects.

Free text outside a question (until free questions are answered) is read for what it names
(flows/domain/recognise.py, typos allowed) and the user is taken there, as if they had pressed the
buttons on the way (flows/core/engine.py):

    a profession ("Dachdecker", "dachdecka")    -> its page; with "Praktikum"/"Ausbildung"/"Stellen":
                                                   the offers for it; several fit ("Elektroniker"): a choice
    a menu word ("Termine", "Merkliste", ...)   -> that menu entry ("Praktikum": offers of that kind)
    a postcode or a town                        -> the offers near home if it is home; else an offer to
                                                   make it the home place (the search runs around home)
    anything else                               -> a free question (conversations/questions.py)
"""
from __future__ import annotations

from flows.conversations.questions import QuestionsFlow
from flows.core.context import StepContext, button, reply
from flows.core.engine import Guess
from flows.core.model import Button, ConversationState, EventKind, Profile, Reply, Turn
from flows.core.payloads import COMPANIES, EVENTS, LEADS, MENU, ONBOARDING, PRIVACY, PROFESSIONS, QUIZ, VACANCIES
from flows.domain.geo import Place
from flows.domain.places import places_named, regional_towns
from flows.domain.recognise import KINDS, is_question, is_small_talk, menu_entry_of, professions_of

NAME = "menu"
# Entries still being built answer "bald verfügbar" (none at the moment).
SOON: tuple[str, ...] = ()
MAX_FREE_TEXT = 200  # longer text is a question or a story: not read for names, answered as a question
MAX_PROFESSION_CHOICES = 8
MAX_HOME_CHOICES = 4
SHOW_OFFERS = VACANCIES.pack("n", 0)  # "Angebote zeigen" on the filter screen
# A menu word -> the buttons it stands for ("Praktikum": the kind on the filter screen, then the offers).
MENU_PRESSES: dict[str, tuple[str, ...]] = {
    "quiz": (QUIZ.pack("start"),), "professions": (PROFESSIONS.pack("open"),), "vacancies": (VACANCIES.pack("open"),),
    "praktikum": (VACANCIES.pack("k", "praktikum"), SHOW_OFFERS),
    "ausbildung": (VACANCIES.pack("k", "ausbildung"), SHOW_OFFERS),
    "events": (EVENTS.pack("open"),), "companies": (COMPANIES.pack("open"),), "saved": (VACANCIES.pack("m"),),
    "requests": (LEADS.pack("mine"),), "settings": (ONBOARDING.pack("settings", "open"),),
    "privacy": (PRIVACY.pack("info", "open"),), "help": (MENU.pack("help"),), "menu": (MENU.pack("open"),),
}
NEAR_HOME = ("vacancies", "praktikum", "ausbildung", "events", "companies")  # entries searched around home


def main_menu(profile: Profile) -> Reply:
    if profile.role == "company":
        return company_menu(profile)
    rows = [[button("btn.menu.quiz", QUIZ.pack("start")), button("btn.menu.professions", PROFESSIONS.pack("open"))],
            [button("btn.menu.vacancies", VACANCIES.pack("open")), button("btn.menu.events", EVENTS.pack("open"))],
            [button("btn.menu.companies", COMPANIES.pack("open")), button("btn.menu.settings", ONBOARDING.pack("settings", "open"))],
            [button("btn.menu.privacy", PRIVACY.pack("info", "open")), button("btn.menu.help", MENU.pack("help"))]]
    rows.insert(2, [button("btn.vacancies.saved_list", VACANCIES.pack("m"))])
    return reply("menu.main", rows, role=profile.role)


def company_menu(profile: Profile) -> Reply:
    """A company contact's menu: the requests to their company first (with its page, offers and
    events from there), then what they may look at like everyone; no quiz, no Merkliste."""
    rows = [[button("btn.menu.company_requests", LEADS.pack("mine"))],
            [button("btn.menu.companies", COMPANIES.pack("open")), button("btn.menu.events", EVENTS.pack("open"))],
            [button("btn.menu.professions", PROFESSIONS.pack("open")),
             button("btn.menu.settings", ONBOARDING.pack("settings", "open"))],
            [button("btn.menu.privacy", PRIVACY.pack("info", "open")), button("btn.menu.help", MENU.pack("help"))]]
    return reply("menu.main", rows, role=profile.role)


class MenuFlow:
    name = NAME
    payloads = MENU

    def __init__(self, questions: QuestionsFlow | None = None) -> None:
        """questions: answers typed text that names nothing the menu knows (None: it is not understood)."""
        self.questions = questions

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        idle = ConversationState()
        if entry == "help":
            return ctx.turn(reply("menu.help"), main_menu(ctx.profile), state=idle)
        if entry == "apology":
            return ctx.turn(reply("error.apology"), main_menu(ctx.profile), state=idle)
        if entry == "cancel":
            return ctx.turn(reply("menu.cancelled"), main_menu(ctx.profile), state=idle)
        return ctx.turn(main_menu(ctx.profile), state=idle)

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(MENU)
        if press is None:
            return None
        target = press.action
        if target in SOON:
            return ctx.turn(reply("menu.soon", feature=target), main_menu(ctx.profile),
                            state=ConversationState())
        if target == "help":
            return await self.start(ctx, "help")
        if target == "open":
            return await self.start(ctx, "menu")
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return [main_menu(ctx.profile)]

    def explain(self, ctx: StepContext) -> Reply:
        """Why the event was not understood, in a helpful way."""
        event = ctx.event
        if event.kind is EventKind.COMMAND:
            return reply("fallback.unknown_command", command=(event.text or "")[:32])
        if event.kind is EventKind.BUTTON:
            return reply("fallback.stale_button")
        if event.kind is EventKind.MEDIA:
            return reply("fallback.media", media=event.media_type or "other")
        if event.kind is EventKind.LOCATION:
            return reply("fallback.location")
        if event.kind is EventKind.CONTACT:
            return reply("fallback.contact")
        return reply("fallback.free_text")

    # ---- free text -----------------------------------------------------------------------
    async def understand(self, ctx: StepContext) -> Guess | None:
        """Where typed text outside a question wants to go (see the module's docstring)."""
        text = (ctx.event.text or "").strip()
        if not text:
            return None
        if len(text) > MAX_FREE_TEXT:
            return await self._question(ctx, text)
        if self.questions is not None and is_question(text):  # a FAQ entry first; else what it names
            if (answered := await self.questions.faq_answer(ctx, text)) is not None:
                return Guess(turn=answered)
        entry = menu_entry_of(text)
        professions = await ctx.uow.content.professions()
        found = professions_of(text, {p.slug: p.name for p in professions})
        if len(found) > 1:
            names = {p.slug: p.name for p in professions}
            rows = [[button("btn.raw", PROFESSIONS.pack("show", slug), label=names[slug])]
                    for slug in found[:MAX_PROFESSION_CHOICES]]
            rows.append([button("btn.menu.back", MENU.pack("open"))])
            return Guess(turn=ctx.turn(reply("fallback.professions", rows, count=len(rows) - 1)))
        if found:
            slug = found[0]
            if entry in KINDS:
                return Guess(presses=(VACANCIES.pack("prof", slug), VACANCIES.pack("k", entry), SHOW_OFFERS))
            if entry == "vacancies":
                return Guess(presses=(VACANCIES.pack("prof", slug),))
            return Guess(presses=(PROFESSIONS.pack("show", slug),))
        towns = regional_towns(await ctx.uow.content.clusters(), await ctx.uow.content.companies())
        places = places_named(ctx.places, text, towns, limit=MAX_HOME_CHOICES)
        home = ctx.home
        at_home = home is not None and any((p.plz, p.name) == (home.plz, home.name) for p in places)
        if places and not at_home and (entry is None or entry in NEAR_HOME):
            return Guess(turn=ctx.turn(self._elsewhere(ctx, places, home)))
        if entry is not None:
            return Guess(presses=MENU_PRESSES[entry])
        if at_home:
            return Guess(presses=(VACANCIES.pack("open"),))
        return await self._question(ctx, text)

    async def _question(self, ctx: StepContext, text: str) -> Guess | None:
        if self.questions is None or is_small_talk(text):
            return None  # explained with the menu (fallback.free_text)
        return Guess(turn=await self.questions.answer(ctx, text))

    @staticmethod
    def _elsewhere(ctx: StepContext, places: list[Place], home: Place | None) -> Reply:
        """A town that is not home: the searches run around home; offer to make it home."""
        rows: list[list[Button]] = []
        for place in places:
            index = next((i for i, p in enumerate(ctx.places.lookup(place.plz)) if p.name == place.name), None)
            if index is None:
                continue
            rows.append([button("btn.home_place", ONBOARDING.pack("home", place.plz, index), name=place.name,
                                plz=place.plz)])
        if home is not None:
            rows.append([button("btn.menu.vacancies", VACANCIES.pack("open")),
                         button("btn.menu.events", EVENTS.pack("open"))])
        rows.append([button("btn.menu.back", MENU.pack("open"))])
        first = places[0]
        return reply("fallback.place", rows, place=first.name, plz=first.plz, count=len(places),
                     home=home.name if home else None)
