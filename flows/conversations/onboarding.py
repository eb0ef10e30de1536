"""Onboarding and /einstellungen: role, age band, home place, school status.

Steps (teen path; parents, companies and others skip age and school):

    role ──> age ──> place ──(confirm | choose)──> school ──(pupil)──> class ──> done
                        └── unknown: hint, ask again

Every question has "zurück" (one step back) and "überspringen". In settings mode an answer
returns to the overview instead of the next question. Buttons: ONBOARDING in flows/core/payloads.py
(`ob:<step>:<value>`); a press for a step other than the current one is stale and not accepted.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConversationState, EventKind, FlowContext, Reply, Turn
from flows.core.payloads import ONBOARDING
from flows.domain.clusters import REGION_RADIUS_KM, nearest_cluster
from flows.domain.deeplink import parse_payload
from flows.domain.geo import Place

NAME = "onboarding"
ROLES = ("teen", "parent", "company", "other")
AGE_BANDS = ("u16", "16_17", "18plus")
SCHOOL_STATUSES = ("pupil", "hauptschule", "mittlere_reife", "abitur", "none")
SCHOOL_CLASSES = tuple(range(7, 14))
LOCALES = ("de", "en")
MAX_PLACE_QUERY = 60  # longer input cannot be a town name; it is not echoed back
MAX_CHOICES = 12  # a PLZ can cover a dozen villages (02708: nine)
QUESTIONS = ("role", "age", "place", "school", "class", "locale")
# What people type instead of pressing "zurück" / "überspringen" (input words, never shown).
TYPED_BACK = frozenset({"zurück", "zurueck", "zuruck", "back"})
TYPED_SKIP = frozenset({"überspringen", "ueberspringen", "weiter", "skip", "egal"})


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


def _context(current: ConversationState) -> OnboardingContext:
    """The open question's context; a fresh one if another flow is open or it does not fit."""
    return OnboardingContext.of(current) or OnboardingContext()


def _state(step: str, context: OnboardingContext) -> ConversationState:
    return context.at(step)


class OnboardingFlow:
    name = NAME
    payloads = ONBOARDING

    # ---- entries -------------------------------------------------------------------------
    async def start(self, ctx: StepContext, entry: str) -> Turn:
        if entry == "settings":
            return await self._overview(ctx)
        link = parse_payload(ctx.event.payload)  # links for other flows went there (conversations/links.py)
        profile = ctx.profile
        context = OnboardingContext()
        if link.cluster and await ctx.uow.content.cluster(link.cluster):
            context.payload_cluster = link.cluster
            if profile.cluster is None or not profile.onboarded:
                profile.cluster = link.cluster
        if link.source and profile.source is None:
            profile.source = link.source  # attribution: first contact only
        if profile.onboarded:
            return ctx.turn(reply("onboarding.welcome_back"), main_menu(profile),
                            state=ConversationState())
        cluster = await ctx.uow.content.cluster(profile.cluster) if profile.cluster else None
        welcome = reply("onboarding.welcome", cluster=cluster.name if cluster else None)
        return ctx.turn(welcome, self._question("role", context), state=_state("role", context))

    # ---- events --------------------------------------------------------------------------
    async def handle(self, ctx: StepContext) -> Turn | None:
        event, state = ctx.event, ctx.state
        press = ctx.pressed(ONBOARDING)
        if press is not None:
            step, value = press.action, press.arg()
            if step == "settings" and value == "open":
                return await self._overview(ctx)
            if state.flow != NAME or step != state.step:
                return None
            return await self._on_button(ctx, step, value)
        if state.flow == NAME and state.step in QUESTIONS and event.kind is EventKind.TEXT:
            typed = (event.text or "").strip().casefold().strip("!. ")
            if typed in TYPED_BACK:
                return await self._back(ctx, state.step, _context(state))
            if typed in TYPED_SKIP and state.step != "locale":
                return await self._advance(ctx, state.step, _context(state))
        if state.flow == NAME and state.step == "place":
            if event.kind is EventKind.TEXT:
                return await self._on_place_text(ctx, (event.text or "").strip())
            if event.kind is EventKind.LOCATION and event.latitude is not None and event.longitude is not None:
                found = ctx.places.nearest(event.latitude, event.longitude)
                return self._confirm_place(ctx, found)
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        step = ctx.state.step or ""
        if step == "settings":
            return [await self._overview_reply(ctx)]
        if step in ("place_confirm", "place_choose"):
            step = "place"
        return [self._question(step, _context(ctx.state))] if step in QUESTIONS else []

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
    async def _on_button(self, ctx: StepContext, step: str, value: str) -> Turn | None:
        context = _context(ctx.state)
        profile = ctx.profile
        if value == "back":
            return await self._back(ctx, step, context)
        if value == "skip" and step in QUESTIONS:
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
        if step in ("place_confirm", "place_choose"):
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
            return await self._finish(ctx)
        context.history = [*context.history, "place" if step.startswith("place") else step]
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
        if not found:
            return self._ask(ctx, "place", context, reply("onboarding.place_unknown", query=text))
        if len(found) == 1:
            return self._confirm_place(ctx, found[0])
        context.choices = [PlaceChoice(plz=p.plz, name=p.name, district=p.district) for p in found[:MAX_CHOICES]]
        rows = [[button("btn.place_choice", ONBOARDING.pack("place_choose", i), **c.model_dump())]
                for i, c in enumerate(context.choices)]
        rows.append([button("btn.place_other", ONBOARDING.pack("place_choose", "other")),
                     button("btn.back", ONBOARDING.pack("place_choose", "back"))])
        return ctx.turn(reply("onboarding.choose_place", rows, query=text, count=len(context.choices)),
                        state=_state("place_choose", context))

    def _confirm_place(self, ctx: StepContext, place: Place) -> Turn:
        context = _context(ctx.state)
        context.candidate = PlaceChoice(plz=place.plz, name=place.name, district=place.district)
        buttons = [[button("btn.yes", ONBOARDING.pack("place_confirm", "yes")), button("btn.no", ONBOARDING.pack("place_confirm", "no"))]]
        return ctx.turn(
            reply("onboarding.confirm_place", buttons, place=place.name, plz=place.plz,
                  district=place.district),
            state=_state("place_confirm", context),
        )

    async def _set_place(self, ctx: StepContext, context: OnboardingContext, chosen: PlaceChoice) -> Turn:
        place = ctx.places.find(chosen.plz, chosen.name)
        if place is None:  # a stale choice: the table changed since the question
            return self._ask(ctx, "place", context)
        ctx.profile.plz, ctx.profile.place = place.plz, place.name
        notes: list[Reply] = []
        if not context.payload_cluster:
            found = nearest_cluster(place, await ctx.uow.content.clusters(), ctx.places)
            if found is not None:
                cluster, km = found
                ctx.profile.cluster = cluster.slug
                key = "onboarding.cluster_near" if km <= REGION_RADIUS_KM else "onboarding.cluster_far"
                notes.append(reply(key, cluster=cluster.name, region=cluster.region_name, km=round(km)))
        turn = await self._advance(ctx, "place", context)
        turn.replies[:0] = notes
        return turn

    # ---- end and settings ----------------------------------------------------------------
    async def _finish(self, ctx: StepContext) -> Turn:
        ctx.profile.onboarded = True
        return ctx.turn(reply("onboarding.done"), main_menu(ctx.profile), state=ConversationState())

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
        rows.append([button("btn.settings.done", ONBOARDING.pack("settings", "done"))])
        return reply("settings.overview", rows, role=p.role, age_band=p.age_band, place=p.place,
                     plz=p.plz, school_status=p.school_status, school_class=p.school_class,
                     locale=p.locale, cluster=cluster.name if cluster else None)

    async def _overview(self, ctx: StepContext) -> Turn:
        return ctx.turn(await self._overview_reply(ctx), state=_state("settings", OnboardingContext(mode="settings")))
