"""The young person's hand-over wizard, one step after the other:

    "Interessiert mich" on an offer (v), a profession (p), an event (e) or a company (c)
      ──> recipients: the company + up to 4 more of the cluster, nearest first (toggle, "weiter")
      ──> age band (only if not known yet) ──> first name ──> contact (shared phone, phone or e-mail)
      ──> preferred way ──> preferred time ──> short message (optional) ──> consent screen
      ──> 16+: consent recorded, leads delivered through the outbox
      ──> under 16: leads wait; a single-use link for a parent (parent.py)

The consent screen shows exactly what the companies get (`shared`); quiz results are never shared.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import Field

from flows.conversations.leads.common import NAME, PARENT_PREFIX, company_names, link_payload, new_token
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import ConsentRecord, ConversationState, EventKind, FlowContext, Reply, Turn
from flows.core.payloads import LEADS
from flows.delivery.lead_delivery import deliver
from flows.domain.content import CompanyInfo
from flows.domain.lead import CONSENT_PURPOSE, CONSENT_VERSION, Lead, LeadStatus, ParentRequest
from flows.domain.places import nearest_first

MAX_EXTRA_COMPANIES = 4
PARENT_LINK_VALID = timedelta(days=7)
NAME_RE = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-žẞß' -]{1,40}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,200}\.[A-Za-z]{2,24}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 /()-]{5,22}$")
PREFERENCES = ("phone", "email", "telegram")
TIMES = ("morning", "afternoon", "evening", "any")
AGE_BANDS = ("u16", "16_17", "18plus")
MAX_MESSAGE = 300
TARGETS = {"v": "vacancy", "p": "profession", "e": "event", "c": "company"}  # button code -> what the interest is in
TYPED_STEPS = ("name", "contact", "preference", "time", "message", "age")


def phone_number(text: str) -> str | None:
    if not PHONE_RE.match(text.strip()):
        return None
    digits = re.sub(r"[^0-9+]", "", text)
    return digits if 6 <= len(digits.lstrip("+")) <= 16 else None


class HandOverContext(FlowContext):
    """What the wizard knows between two steps (stored with the conversation, as JSON)."""

    FLOW = NAME

    target: str  # what the interest is in: "vacancy:<slug>", "profession:<slug>", "event:<slug>", "company:<slug>"
    title: str
    profession: str | None = None
    main: str | None = None  # the company the interest is about; None for a profession or an event
    options: list[str] = Field(default_factory=list)  # further companies of the cluster, nearest first
    chosen: list[str] = Field(default_factory=list)  # who gets the lead, in the order shown
    first_name: str | None = None
    phone: str | None = None
    email: str | None = None
    preference: str | None = None  # phone, email, telegram
    time: str | None = None  # morning, afternoon, evening, any
    message: str | None = None


class HandOver:
    # ---- entering and moving on ------------------------------------------------------------
    async def begin(self, ctx: StepContext, kind: str, slug: str) -> Turn | None:
        if ctx.profile.id is None:
            await ctx.uow.users.save(ctx.profile)
        companies = await ctx.uow.content.companies()
        main: str | None = None
        if kind == "v":
            card = await ctx.uow.vacancies.card(slug)
            if card is None:
                return None
            main, profession, title = card.company, card.profession, card.title
            cluster = next((c.cluster for c in companies if c.slug == main), ctx.profile.cluster)
            candidates = [c for c in companies if c.cluster == cluster and profession in c.professions and c.slug != main]
        elif kind == "p":
            info = await ctx.uow.content.profession(slug)
            if info is None:
                return None
            profession, title = slug, info.name
            cluster = ctx.profile.cluster or (info.clusters[0] if info.clusters else None)
            candidates = [c for c in companies if c.cluster == cluster and profession in c.professions]
        elif kind == "c":
            company = await ctx.uow.content.company(slug)
            if company is None:
                return None
            # No profession: the interest is in the company as a whole, and companies get only what the
            # consent screen shows (it names the company, not a profession the user never picked).
            main, profession, title = company.slug, None, company.name
            trained = set(company.professions)
            candidates = [c for c in companies if c.cluster == company.cluster and c.slug != main
                          and trained & set(c.professions)]
        else:
            event = await ctx.uow.events.get(slug)
            if event is None:
                return None
            profession, title = (event.professions[0] if event.professions else None), event.title
            names = set(event.companies)
            candidates = [c for c in companies if c.name in names]
        options = [c.slug for c in self._nearest(ctx, candidates)][: MAX_EXTRA_COMPANIES + (0 if main else 1)]
        chosen = [main] if main else options[:1]
        context = HandOverContext(target=f"{TARGETS[kind]}:{slug}", title=title, profession=profession, main=main,
                                  options=options, chosen=chosen)
        if main is None and not options:
            return ctx.turn(reply("leads.no_company", title=title), main_menu(ctx.profile), state=ConversationState())
        return ctx.turn(await self._recipients_reply(ctx, context), state=context.at("recipients"))

    async def on_button(self, ctx: StepContext, action: str, arg: str) -> Turn | None:
        """A press inside the wizard; None if it does not belong to the open step."""
        current = ctx.state
        context = HandOverContext.of(current)
        if context is None:
            return None
        step = current.step
        if action == "x":
            return ctx.turn(reply("leads.cancelled"), main_menu(ctx.profile), state=ConversationState())
        if step == "recipients" and action == "t" and arg.isdigit() and int(arg) < len(context.options):
            slug = context.options[int(arg)]
            chosen = [s for s in context.chosen if s != slug] if slug in context.chosen else [*context.chosen, slug]
            context.chosen = [s for s in [context.main, *context.options] if s in chosen]
            return ctx.turn(await self._recipients_reply(ctx, context), state=context.at("recipients"))
        if step == "recipients" and action == "n":
            if not context.chosen:
                return ctx.turn(reply("leads.choose_one"), await self._recipients_reply(ctx, context), state=current)
            if ctx.profile.age_band is None:
                return self._ask(ctx, "age", context)
            return self._ask_name(ctx, context)
        if step == "age" and action == "a" and arg in AGE_BANDS:
            ctx.profile.age_band = arg
            return self._ask_name(ctx, context)
        if step == "preference" and action == "pref" and arg in PREFERENCES:
            context.preference = arg
            return self._ask(ctx, "time", context)
        if step == "time" and action == "time" and arg in TIMES:
            context.time = arg
            return self._ask(ctx, "message", context)
        if step == "message" and action == "skip":
            context.message = None
            return await self._consent_screen(ctx, context)
        if step == "consent" and action == "ok":
            return await self._consented(ctx, context)
        return None

    async def on_input(self, ctx: StepContext) -> Turn | None:
        """Typed text or a shared contact for the open step; None if the wizard is not open."""
        event, current = ctx.event, ctx.state
        context = HandOverContext.of(current)
        if context is None:
            return None
        if event.kind is EventKind.CONTACT and current.step == "contact" and event.phone:
            context.phone = phone_number(event.phone) or event.phone[:24]
            return self._ask_preference(ctx, context)
        if event.kind is not EventKind.TEXT:
            return None
        text = (event.text or "").strip()
        if current.step == "name":
            if not NAME_RE.match(text):
                return ctx.turn(reply("leads.name_invalid"), self.question("name"), state=current)
            context.first_name = text.split()[0][:40]
            return self._ask(ctx, "contact", context)
        if current.step == "contact":
            if EMAIL_RE.match(text):
                context.email = text
            elif phone := phone_number(text):
                context.phone = phone
            else:
                return ctx.turn(reply("leads.contact_invalid"), self.question("contact"), state=current)
            return self._ask_preference(ctx, context)
        if current.step == "message":
            context.message = text[:MAX_MESSAGE]
            return await self._consent_screen(ctx, context)
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        step = ctx.state.step or ""
        if step == "consent":
            context = HandOverContext.of(ctx.state)
            return [await self._consent_reply(ctx, context)] if context else []
        if step == "recipients":
            context = HandOverContext.of(ctx.state)
            return [await self._recipients_reply(ctx, context)] if context else []
        return [self.question(step)] if step in TYPED_STEPS else []

    # ---- the questions -----------------------------------------------------------------------
    def question(self, step: str) -> Reply:
        cancel = [button("btn.leads.cancel", LEADS.pack("x"))]
        if step == "age":
            return reply("leads.ask_age", [[button(f"btn.age.{a}", LEADS.pack("a", a)) for a in AGE_BANDS], cancel])
        if step == "contact":
            return reply("leads.ask_contact").model_copy(update={"contact_button": "btn.leads.share_phone"})
        if step == "preference":
            return reply("leads.ask_preference", [[button(f"btn.leads.pref.{p}", LEADS.pack("pref", p)) for p in PREFERENCES],
                                                  cancel])
        if step == "time":
            return reply("leads.ask_time", [[button(f"btn.leads.time.{t}", LEADS.pack("time", t)) for t in TIMES], cancel])
        if step == "message":
            return reply("leads.ask_message", [[button("btn.skip", LEADS.pack("skip"))], cancel])
        return reply("leads.ask_name", [cancel])

    def _ask(self, ctx: StepContext, step: str, context: HandOverContext) -> Turn:
        return ctx.turn(self.question(step), state=context.at(step))

    def _ask_name(self, ctx: StepContext, context: HandOverContext) -> Turn:
        if context.first_name:
            return self._ask(ctx, "contact", context)
        return self._ask(ctx, "name", context)

    def _ask_preference(self, ctx: StepContext, context: HandOverContext) -> Turn:
        saved = reply("leads.contact_saved", phone=context.phone, email=context.email)
        return ctx.turn(saved.model_copy(update={"remove_keyboard": True}),
                        self.question("preference"), state=context.at("preference"))

    @staticmethod
    def _nearest(ctx: StepContext, companies: list[CompanyInfo]) -> list[CompanyInfo]:
        return [company for company, _ in nearest_first(ctx.places, ctx.home, companies)]

    async def _recipients_reply(self, ctx: StepContext, context: HandOverContext) -> Reply:
        names = await company_names(ctx, [s for s in [context.main, *context.options] if s])
        rows = [[button("btn.leads.toggle", LEADS.pack("t", i), name=names.get(slug, slug), chosen=slug in context.chosen)]
                for i, slug in enumerate(context.options)]
        rows.append([button("btn.leads.next", LEADS.pack("n")), button("btn.leads.cancel", LEADS.pack("x"))])
        return reply("leads.choose_recipients", rows, title=context.title,
                     main=names.get(context.main or "", None), count=len(context.chosen))

    # ---- consent ---------------------------------------------------------------------------------
    @staticmethod
    def _shared(ctx: StepContext, context: HandOverContext) -> dict[str, Any]:
        """Exactly the data the consent screen shows and the companies get. Never quiz results."""
        p = ctx.profile
        return {"first_name": context.first_name, "age_band": p.age_band, "place": p.place, "plz": p.plz,
                "school_status": p.school_status, "school_class": p.school_class, "title": context.title,
                "profession": context.profession, "phone": context.phone, "email": context.email,
                "preference": context.preference, "time": context.time, "message": context.message}

    async def _consent_reply(self, ctx: StepContext, context: HandOverContext) -> Reply:
        names = await company_names(ctx, context.chosen)
        minor = ctx.profile.age_band == "u16"
        rows = [[button("btn.leads.ask_parent" if minor else "btn.leads.agree", LEADS.pack("ok"))],
                [button("btn.leads.cancel", LEADS.pack("x"))]]
        return reply("leads.consent", rows, recipients=[names[s] for s in context.chosen if s in names],
                     shared=self._shared(ctx, context), version=CONSENT_VERSION, minor=minor)

    async def _consent_screen(self, ctx: StepContext, context: HandOverContext) -> Turn:
        return ctx.turn(await self._consent_reply(ctx, context), state=context.at("consent"))

    async def _consented(self, ctx: StepContext, context: HandOverContext) -> Turn:
        assert ctx.profile.id is not None
        now, minor = ctx.clock.now(), ctx.profile.age_band == "u16"
        shared = self._shared(ctx, context)
        token = new_token() if minor else None
        leads: list[Lead] = []
        for company in context.chosen:
            lead, created = await ctx.uow.leads.add_once(Lead(
                user_id=ctx.profile.id, company=company, target=context.target,
                status=LeadStatus.WAITING_PARENT if minor else LeadStatus.DELIVERED, shared=shared,
                created_at=now, status_at=now, history=[]))
            if created:
                leads.append(lead)
        names = await company_names(ctx, context.chosen)
        recipients = [names[s] for s in context.chosen if s in names]
        if not leads:  # pressed twice, or sent before: one lead per company and offer
            return ctx.turn(reply("leads.already", recipients=recipients), main_menu(ctx.profile), state=ConversationState())
        if token is not None:
            await ctx.uow.leads.add_parent_request(ParentRequest(
                token=token, user_id=ctx.profile.id, lead_ids=[lead.id for lead in leads if lead.id is not None],
                created_at=now, expires_at=now + PARENT_LINK_VALID))
            return ctx.turn(reply("leads.parent_link", payload=link_payload(PARENT_PREFIX, token),
                                  recipients=recipients, days=PARENT_LINK_VALID.days),
                            main_menu(ctx.profile), state=ConversationState())
        consent = await ctx.uow.consents.add(ctx.profile.id, ConsentRecord(
            purpose=CONSENT_PURPOSE, text_version=CONSENT_VERSION, given_by="self", recipients=context.chosen,
            given_at=now))
        for lead in leads:
            await deliver(ctx.uow, lead, consent, now)
        return ctx.turn(reply("leads.done", recipients=recipients), main_menu(ctx.profile), state=ConversationState())
