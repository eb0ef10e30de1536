"""Onboarding and /einstellungen: role, age band, home place, school status.

Steps (teen path; parents, companies and others skip age and school):

    role ──> age ──> place ──(confirm | choose)──> school ──(pupil)──> class ──> done
                        └── unknown: hint, ask again

Every question has "zurück" (one step back) and "überspringen", as buttons and as typed words. A
typed answer that names a choice counts like its button, typos allowed ("15" at the age, "Mama" at
the role, "Weißwasser" or its postcode when several places fit; flows/domain/recognise.py); text
that names none gets a hint and the question again. In settings mode an answer returns to the
overview instead of the next question. The last message ("Danke, das war's") asks once whether
to get announcements (a button per topic, "Nein danke"; conversations/announcements.py), and
the overview of /einstellungen leads to "Benachrichtigungen". Buttons: ONBOARDING in flows/core/payloads.py
(`ob:<step>:<value>`); a press for a step other than the current one is stale and not accepted
(except an older "zurück"/"überspringen" of the same place question).

While a question is open, /start shows it again, /hilfe and /datenschutz are answered before it
comes again, and other commands run once the questions are done (flows/wiring.py, `holds`/`defer`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import BaseModel, Field

from flows.conversations.announcements import eligible, question_buttons
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConversationState, EventKind, FlowContext, Reply, Turn
from flows.core.payloads import ANNOUNCEMENTS, EVENTS, MENU, ONBOARDING, VACANCIES
from flows.domain.broadcast import DEFAULT_WEEKLY_CAP, needs_parent
from flows.domain.clusters import REGION_RADIUS_KM, nearest_cluster
from flows.domain.deeplink import parse_payload
from flows.domain.geo import Place
from flows.domain.places import places_named, regional_towns
from flows.domain.recognise import (
    age_band_of,
    base_name,
    class_of,
    hits,
    is_back,
    is_skip,
    locale_of,
    menu_entry_of,
    postcodes_in,
    role_of,
    school_of,
    tied,
    yes_no_of,
)

NAME = "onboarding"
ROLES = ("teen", "parent", "company", "other")
AGE_BANDS = ("u16", "16_17", "18plus")
SCHOOL_STATUSES = ("pupil", "hauptschule", "mittlere_reife", "abitur", "none")
SCHOOL_CLASSES = tuple(range(7, 14))
LOCALES = ("de", "en")
MAX_PLACE_QUERY = 60  # longer input cannot be a town name; it is not echoed back
MAX_CHOICES = 12  # a PLZ can cover a dozen villages (02708: nine)
QUESTIONS = ("role", "age", "place", "school", "class", "locale")
PLACE_STEPS = ("place_confirm", "place_choose")  # the place question's follow-ups
ASKING = QUESTIONS + PLACE_STEPS

FollowUp = Callable[[StepContext, str], Awaitable[Turn | None]]


def _nav(step: str, back: bool = True) -> list[Button]:
    row = [button("btn.back", ONBOARDING.pack(step, "back"))] if back else []
    return row + [button("btn.skip", ONBOARDING.pack(step, "skip"))]


class PlaceChoice(BaseModel):
    plz: str
    name: str
    district: str | None = None


class OnboardingContext(FlowContext):
    """What onboarding (or a change in /einstellungen) knows between two questions, stored as JSON."""

    FLOW = NAME

    mode: Literal["onboarding", "settings"] = "onboarding"
    history: list[str] = Field(default_factory=list)  # the questions answered, for "zurück"
    payload_cluster: str | None = None  # the cluster a deep link named: the place does not override it
    candidate: PlaceChoice | None = None  # the one place found, to confirm
    choices: list[PlaceChoice] = Field(default_factory=list)  # several places found, to choose from
    query: str = ""  # what the user typed for these choices
    then: str | None = None  # a command typed during onboarding, to run once it is done


def _context(current: ConversationState) -> OnboardingContext:
    """The open question's context; a fresh one if another flow is open or it does not fit."""
    return OnboardingContext.of(current) or OnboardingContext()


def _state(step: str, context: OnboardingContext) -> ConversationState:
    return context.at(step)


def _picks(text: str, choices: list[PlaceChoice]) -> list[int]:
    """Which of the offered places the typed text names: by postcode, by name (typos allowed), or
    both ("Weißwasser 02943"); several when it fits more than one, none when it names another place."""
    candidates = list(range(len(choices)))
    codes = postcodes_in(text)
    if codes:
        candidates = [i for i in candidates if choices[i].plz == codes[0]]
    words = "".join(ch for ch in text if not ch.isdigit()).strip()
    if not any(ch.isalpha() for ch in words):
        return candidates if codes else []
    if not candidates:
        return []
    options = {str(i): (choices[i].name, base_name(choices[i].name)) for i in candidates}
    return [int(k) for k in tied(hits(words, options))]


class OnboardingFlow:
    name = NAME
    payloads = ONBOARDING

    def __init__(self, weekly_cap: int = DEFAULT_WEEKLY_CAP) -> None:
        self.follow_up: FollowUp | None = None  # runs a deferred command (set by flows/wiring.py)
        self.weekly_cap = weekly_cap  # announcements a week at most, named in the opt-in question

    # ---- entries -------------------------------------------------------------------------
    async def start(self, ctx: StepContext, entry: str) -> Turn:
        if entry == "settings":
            return await self._overview(ctx)
        link = parse_payload(ctx.event.payload)  # links for other flows went there (conversations/links.py)
        profile = ctx.profile
        context = OnboardingContext()
        known = link.cluster is not None and await ctx.uow.content.cluster(link.cluster) is not None
        if known:
            context.payload_cluster = link.cluster
            if profile.cluster is None or not profile.onboarded:
                if not profile.onboarded and profile.cluster not in (None, link.cluster):
                    profile.source = None  # the earlier link's source is one of the other cluster's
                profile.cluster = link.cluster
        # Attribution (the cockpit's funnel by source): the first link of someone new, i.e. not onboarded
        # yet; a source names a link of its cluster, so a link of an unknown cluster attributes nothing.
        if link.source and profile.source is None and not profile.onboarded and (known or link.cluster is None):
            profile.source = link.source
        if profile.onboarded:
            return ctx.turn(reply("onboarding.welcome_back"), main_menu(profile),
                            state=ConversationState())
        if self.holds(ctx):  # /start in the middle of the questions: go on where we were
            open_context = _context(ctx.state)
            open_context.payload_cluster = context.payload_cluster or open_context.payload_cluster
            return ctx.turn(reply("onboarding.resume"), *await self.reprompt(ctx),
                            state=_state(ctx.state.step or "role", open_context))
        cluster = await ctx.uow.content.cluster(profile.cluster) if profile.cluster else None
        welcome = reply("onboarding.welcome", cluster=cluster.name if cluster else None)
        return ctx.turn(welcome, self._question("role", context), state=_state("role", context))

    # ---- the gate: commands while a question is open (flows/core/engine.py) --------------------
    def holds(self, ctx: StepContext) -> bool:
        """Whether an onboarding question (not a settings change) is open for this user."""
        state = ctx.state
        return (not ctx.profile.onboarded and state.flow == NAME and state.step in ASKING
                and _context(state).mode == "onboarding")

    async def defer(self, ctx: StepContext, command: str) -> Turn:
        context = _context(ctx.state)
        context.then = command
        now = [[button("btn.skip_rest", ONBOARDING.pack("rest", "skip"))]]
        return ctx.turn(reply("onboarding.deferred", now, command=command), *await self.reprompt(ctx),
                        state=_state(ctx.state.step or "role", context))

    # ---- events --------------------------------------------------------------------------
    async def handle(self, ctx: StepContext) -> Turn | None:
        event, state = ctx.event, ctx.state
        press = ctx.pressed(ONBOARDING)
        if press is not None:
            step, value = press.action, press.arg()
            if step == "settings" and value == "open":
                return await self._overview(ctx)
            if step == "home":
                return None if self.holds(ctx) else await self._take_home(ctx, press.arg(0), press.arg(1))
            if step == "rest":  # skip the remaining questions: on to the command typed meanwhile
                return await self._finish(ctx, _context(state)) if self.holds(ctx) else None
            if state.flow != NAME:
                return None
            if step != state.step:
                # "zurück"/"überspringen" under the place question, pressed once a place was proposed
                same_question = {step, state.step} <= {"place", *PLACE_STEPS}
                if not (same_question and value in ("back", "skip")):
                    return None
                step = state.step or step
            return await self._on_button(ctx, step, value)
        if state.flow != NAME or state.step not in ASKING:
            return None
        step = state.step or ""
        if event.kind is EventKind.LOCATION and step.startswith("place"):
            if event.latitude is not None and event.longitude is not None:
                return self._confirm_place(ctx, ctx.places.nearest(event.latitude, event.longitude))
        if event.kind is EventKind.TEXT:
            return await self._on_text(ctx, step, (event.text or "").strip())
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        step = ctx.state.step or ""
        if step == "settings":
            return [await self._overview_reply(ctx)]
        context = _context(ctx.state)
        if step == "place_confirm" and context.candidate is not None:
            return [self._confirm_reply(context.candidate)]
        if step == "place_choose" and context.choices:
            return [self._choose_reply(context)]
        if step in PLACE_STEPS:
            step = "place"
        return [self._question(step, context)] if step in QUESTIONS else []

    # ---- questions -----------------------------------------------------------------------
    def _question(self, step: str, context: OnboardingContext) -> Reply:
        first = step == "role" and context.mode != "settings"
        if step == "role":
            rows = [[button(f"btn.role.{r}", ONBOARDING.pack("role", r))] for r in ROLES]
            return reply("onboarding.ask_role", rows + [_nav("role", back=not first)])
        if step == "age":
            row = [button(f"btn.age.{a}", ONBOARDING.pack("age", a)) for a in AGE_BANDS]
            return reply("onboarding.ask_age", [row, _nav("age")])
        if step == "place":
            return reply("onboarding.ask_place", [_nav("place")])
        if step == "school":
            rows = [[button(f"btn.school.{s}", ONBOARDING.pack("school", s))] for s in SCHOOL_STATUSES]
            return reply("onboarding.ask_school", rows + [_nav("school")])
        if step == "class":
            classes = [button("btn.class", ONBOARDING.pack("class", c), number=c) for c in SCHOOL_CLASSES]
            return reply("onboarding.ask_class", [classes[:4], classes[4:], _nav("class")])
        if step == "locale":
            row = [button(f"btn.locale.{loc}", ONBOARDING.pack("locale", loc)) for loc in LOCALES]
            return reply("onboarding.ask_locale", [row, [button("btn.back", ONBOARDING.pack("locale", "back"))]])
        raise ValueError(f"unknown question {step}")

    def _ask(self, ctx: StepContext, step: str, context: OnboardingContext, *before: Reply) -> Turn:
        return ctx.turn(*before, self._question(step, context), state=_state(step, context))

    # ---- answers -------------------------------------------------------------------------
    async def _on_text(self, ctx: StepContext, step: str, text: str) -> Turn:
        """A typed answer: "zurück"/"überspringen", a choice's name, a place; else a hint."""
        context = _context(ctx.state)
        if is_back(text):
            return await self._back(ctx, step, context) or self._ask(ctx, "role", context)
        if is_skip(text) and step != "locale":
            return await self._advance(ctx, step, context)
        if step in ("place", "place_confirm", "place_choose") and len(text) > MAX_PLACE_QUERY:
            return self._ask(ctx, "place", context, reply("onboarding.place_invalid"))
        value: str | None = None
        if step == "role":
            value = role_of(text)
        elif step == "age":
            value = age_band_of(text)
        elif step == "school":
            value = school_of(text)
        elif step == "class":
            number = class_of(text)
            if number is not None and number not in SCHOOL_CLASSES:
                return self._ask(ctx, "class", context, reply("onboarding.class_range", number=number))
            value = str(number) if number is not None else None
        elif step == "locale":
            value = locale_of(text)
        elif step == "place":
            return await self._on_place_text(ctx, text)
        elif step == "place_confirm" and context.candidate is not None:
            said = yes_no_of(text)
            if said is None and _picks(text, [context.candidate]) == [0]:
                said = True  # the proposed place's name (or postcode) typed again
            if said is None:
                return await self._on_place_text(ctx, text)  # another place, or a hint
            value = "yes" if said else "no"
        elif step == "place_choose" and context.choices:
            picked = _picks(text, context.choices)
            if len(picked) == 1:
                return await self._set_place(ctx, context, context.choices[picked[0]])
            if len(picked) > 1:
                return ctx.turn(self._choose_reply(context), state=_state("place_choose", context))
            return await self._on_place_text(ctx, text)  # another place, or a hint
        if value is None and step not in PLACE_STEPS and menu_entry_of(text) == "help":
            return ctx.turn(reply("menu.help"), *await self.reprompt(ctx))  # "Hilfe" typed: as /hilfe
        if value is None:
            return ctx.turn(reply("onboarding.unclear", step=step), *await self.reprompt(ctx))
        turn = await self._on_button(ctx, step, value)
        return turn if turn is not None else ctx.turn(reply("onboarding.unclear", step=step), *await self.reprompt(ctx))

    async def _on_button(self, ctx: StepContext, step: str, value: str) -> Turn | None:
        context = _context(ctx.state)
        profile = ctx.profile
        if value == "back":
            return await self._back(ctx, step, context)
        if value == "skip" and step in ASKING:
            return await self._advance(ctx, step, context)
        if step == "role" and value in ROLES:
            profile.role = value
            if value != "teen":  # data minimisation: age and school matter only for young people
                profile.age_band = profile.school_status = profile.school_class = None
        elif step == "age" and value in AGE_BANDS:
            profile.age_band = value
        elif step == "school" and value in SCHOOL_STATUSES:
            profile.school_status = value
            if value != "pupil":
                profile.school_class = None
        elif step == "class" and value.isdigit() and int(value) in SCHOOL_CLASSES:
            profile.school_class = int(value)
        elif step == "locale" and value in LOCALES:
            profile.locale = value
        elif step == "place_confirm" and value in ("yes", "no"):
            if value == "no":
                return self._ask(ctx, "place", context, reply("onboarding.place_retry"))
            if context.candidate is None:
                return self._ask(ctx, "place", context)
            return await self._set_place(ctx, context, context.candidate)
        elif step == "place_choose":
            choices = context.choices
            if value == "other":
                return self._ask(ctx, "place", context)
            if not value.isdigit() or int(value) >= len(choices):
                return None
            return await self._set_place(ctx, context, choices[int(value)])
        elif step == "settings" and value in ("role", "age", "place", "school", "locale"):
            context = OnboardingContext(mode="settings")
            return self._ask(ctx, value, context)
        elif step == "settings" and value == "done":
            profile.onboarded = True  # whoever leaves the settings has answered what they wanted
            return ctx.turn(reply("settings.saved"), main_menu(profile), state=ConversationState())
        else:
            return None
        return await self._advance(ctx, step, context)

    async def _back(self, ctx: StepContext, step: str, context: OnboardingContext) -> Turn | None:
        if step in PLACE_STEPS:
            return self._ask(ctx, "place", context)
        history = list(context.history)
        if not history:
            if context.mode == "settings":
                return await self._overview(ctx)
            return None if step == "role" else self._ask(ctx, "role", context)
        previous = history.pop()
        context.history = history
        return self._ask(ctx, previous, context)

    def _next_step(self, step: str, ctx: StepContext) -> str | None:
        profile = ctx.profile
        teen = profile.role == "teen"
        if step == "role":
            return "age" if teen else "place"
        if step == "age":
            return "place"
        if step in ("place", "place_confirm", "place_choose"):
            return "school" if teen else None
        if step == "school":
            return "class" if profile.school_status == "pupil" else None
        return None

    async def _advance(self, ctx: StepContext, step: str, context: OnboardingContext) -> Turn:
        following = self._next_step(step, ctx)
        if context.mode == "settings":
            # Only a follow-up that completes the same answer (the school class) is asked.
            if step == "school" and following == "class":
                return self._ask(ctx, "class", context)
            return await self._overview(ctx)
        if following is None:
            return await self._finish(ctx, context)
        context.history = [*context.history, "place" if step.startswith("place") else step]
        context.candidate, context.choices, context.query = None, [], ""
        return self._ask(ctx, following, context)

    # ---- place ---------------------------------------------------------------------------
    async def _on_place_text(self, ctx: StepContext, text: str) -> Turn:
        context = _context(ctx.state)
        if not text or len(text) > MAX_PLACE_QUERY:
            return self._ask(ctx, "place", context, reply("onboarding.place_invalid"))
        digits = text.replace(" ", "")
        if digits.isdigit():
            if len(digits) != 5:
                return self._ask(ctx, "place", context, reply("onboarding.plz_format", query=text))
            found = ctx.places.lookup(digits)
        else:
            found = ctx.places.search(text, limit=MAX_CHOICES)
            if not found:  # "ich wohne in Löbau", "Weisswaser": words around the name, typos
                towns = regional_towns(await ctx.uow.content.clusters(), await ctx.uow.content.companies())
                found = places_named(ctx.places, text, towns, limit=MAX_CHOICES)
        if not found:
            return self._ask(ctx, "place", context, reply("onboarding.place_unknown", query=text))
        if len(found) == 1:
            return self._confirm_place(ctx, found[0])
        context.choices = [PlaceChoice(plz=p.plz, name=p.name, district=p.district) for p in found[:MAX_CHOICES]]
        context.candidate, context.query = None, text
        return ctx.turn(self._choose_reply(context), state=_state("place_choose", context))

    @staticmethod
    def _choose_reply(context: OnboardingContext) -> Reply:
        rows = [[button("btn.place_choice", ONBOARDING.pack("place_choose", i), **c.model_dump())]
                for i, c in enumerate(context.choices)]
        rows.append([button("btn.place_other", ONBOARDING.pack("place_choose", "other"))])
        rows.append(_nav("place_choose"))
        return reply("onboarding.choose_place", rows, query=context.query, count=len(context.choices))

    @staticmethod
    def _confirm_reply(candidate: PlaceChoice) -> Reply:
        buttons = [[button("btn.yes", ONBOARDING.pack("place_confirm", "yes")),
                    button("btn.no", ONBOARDING.pack("place_confirm", "no"))], _nav("place_confirm")]
        return reply("onboarding.confirm_place", buttons, place=candidate.name, plz=candidate.plz,
                     district=candidate.district)

    def _confirm_place(self, ctx: StepContext, place: Place) -> Turn:
        context = _context(ctx.state)
        context.candidate = PlaceChoice(plz=place.plz, name=place.name, district=place.district)
        context.choices, context.query = [], ""
        return ctx.turn(self._confirm_reply(context.candidate), state=_state("place_confirm", context))

    async def _cluster_notes(self, ctx: StepContext, place: Place, fixed: str | None) -> list[Reply]:
        """The cluster of the new home (unless a deep link fixed it), and how near its region is."""
        if fixed:
            return []
        found = nearest_cluster(place, await ctx.uow.content.clusters(), ctx.places)
        if found is None:
            return []
        cluster, km = found
        ctx.profile.cluster = cluster.slug
        key = "onboarding.cluster_near" if km <= REGION_RADIUS_KM else "onboarding.cluster_far"
        return [reply(key, cluster=cluster.name, region=cluster.region_name, km=round(km))]

    async def _set_place(self, ctx: StepContext, context: OnboardingContext, chosen: PlaceChoice) -> Turn:
        place = ctx.places.find(chosen.plz, chosen.name)
        if place is None:  # a stale choice: the table changed since the question
            return self._ask(ctx, "place", context)
        ctx.profile.plz, ctx.profile.place = place.plz, place.name
        notes = await self._cluster_notes(ctx, place, context.payload_cluster)
        turn = await self._advance(ctx, "place", context)
        turn.replies[:0] = notes
        return turn

    async def _take_home(self, ctx: StepContext, plz: str, index: str) -> Turn | None:
        """The button "<Ort> als Wohnort" under a town typed outside a question (conversations/menu.py)."""
        found = ctx.places.lookup(plz)
        if not index.isdigit() or int(index) >= len(found):
            return None
        place = found[int(index)]
        ctx.profile.plz, ctx.profile.place = place.plz, place.name
        notes = await self._cluster_notes(ctx, place, None)
        rows = [[button("btn.menu.vacancies", VACANCIES.pack("open")), button("btn.menu.events", EVENTS.pack("open"))],
                [button("btn.menu.back", MENU.pack("open"))]]
        return ctx.turn(*notes, reply("onboarding.home_saved", rows, place=place.name, plz=place.plz),
                        state=ConversationState())

    # ---- end and settings ----------------------------------------------------------------
    async def _finish(self, ctx: StepContext, context: OnboardingContext) -> Turn:
        ctx.profile.onboarded = True
        if context.then and self.follow_up is not None:  # the command typed meanwhile, instead of the menu
            idle = dataclasses.replace(ctx, state=ConversationState(version=ctx.state.version))
            turn = await self.follow_up(idle, context.then)
            if turn is not None:
                turn.replies.insert(0, self._done(ctx))
                return turn
        return ctx.turn(self._done(ctx), main_menu(ctx.profile), state=ConversationState())

    def _done(self, ctx: StepContext) -> Reply:
        """"Danke, das war's" with the opt-in question for announcements (skipped by just going on)."""
        profile = ctx.profile
        if not eligible(profile):
            return reply("onboarding.done", cap=None, parent=False)
        return reply("onboarding.done", question_buttons(profile), cap=self.weekly_cap, parent=needs_parent(profile.role, profile.age_band))

    async def _overview_reply(self, ctx: StepContext) -> Reply:
        p = ctx.profile
        cluster = await ctx.uow.content.cluster(p.cluster) if p.cluster else None
        rows = [[button("btn.settings.role", ONBOARDING.pack("settings", "role"))]]
        if p.role == "teen":
            rows.append([button("btn.settings.age", ONBOARDING.pack("settings", "age"))])
        rows.append([button("btn.settings.place", ONBOARDING.pack("settings", "place"))])
        if p.role == "teen":
            rows.append([button("btn.settings.school", ONBOARDING.pack("settings", "school"))])
        rows.append([button("btn.settings.locale", ONBOARDING.pack("settings", "locale"))])
        done = [button("btn.settings.done", ONBOARDING.pack("settings", "done"))]
        if eligible(p):  # after "Fertig": the terminal chat numbers the buttons, old numbers stay
            done.append(button("btn.settings.announcements", ANNOUNCEMENTS.pack("open", "s")))
        rows.append(done)
        return reply("settings.overview", rows, role=p.role, age_band=p.age_band, place=p.place,
                     plz=p.plz, school_status=p.school_status, school_class=p.school_class,
                     locale=p.locale, cluster=cluster.name if cluster else None)

    async def _overview(self, ctx: StepContext) -> Turn:
        return ctx.turn(await self._overview_reply(ctx), state=_state("settings", OnboardingContext(mode="settings")))
