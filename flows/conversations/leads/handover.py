"""The hand-over wizard, one step after the other (STEPS below, in order):

    "Interessiert mich" on an offer (v), a profession (p), an event (e) or a company (c)
      (a request already made to the company about the same thing is said at once, not at the end)
      ──> recipients: the company + up to 4 more of the cluster, nearest first, with town and km
      ──> age band (only if not known yet; never for a parent)
      ──> the details of the last request, to take over or change (only if there is one)
      ──> name ──> contact (phone or e-mail) ──> preferred way (and, optionally, the other contact)
      ──> preferred time ──> short message (optional) ──> consent screen
      ──> 16+ (and adults): consent recorded, leads delivered through the outbox
      ──> under 16: leads wait; a single-use link for a parent (parent.py)

Every step after the first has "zurück" (one step back, keeping what was entered) and "abbrechen";
both can be typed as well. A parent asks for information about training for their child with their
OWN name and contact (Sie throughout, no age, no data of the child).

The consent screen shows exactly what the companies get: the common fields (`shared_fields`) and,
per company, what its lead is about (`interest_fields`). Quiz results are never shared.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from flows.conversations.leads.common import (
    NAME,
    PARENT_PREFIX,
    company_names,
    link_payload,
    new_token,
    recipient_items,
)
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConsentRecord, ConversationState, EventKind, FlowContext, Reply, Turn
from flows.core.payloads import LEADS
from flows.delivery.lead_delivery import deliver
from flows.domain.contact_details import is_mobile, parse_email, parse_name, parse_phone, shared_phone
from flows.domain.content import CompanyInfo
from flows.domain.lead import (
    CONSENT_PURPOSE,
    CONSENT_VERSION,
    INTEREST_KINDS,
    Lead,
    LeadStatus,
    ParentRequest,
    interest_fields,
    shared_fields,
)
from flows.domain.places import km_from, nearest_first
from flows.domain.recognise import age_band_of

MAX_EXTRA_COMPANIES = 4
PARENT_LINK_VALID = timedelta(days=7)
TIMES = ("morning", "afternoon", "evening", "any")
AGE_BANDS = ("u16", "16_17", "18plus")
MAX_MESSAGE = 300
TARGETS = {"v": "vacancy", "p": "profession", "e": "event", "c": "company"}  # button code -> what the interest is in
# Typed instead of pressed: "zurück" and "abbrechen" work at every step.
BACK_WORDS = {"zurück", "zurueck", "zuruck", "back"}
CANCEL_WORDS = {"abbrechen", "abbruch", "stopp", "stop", "cancel"}


@dataclass(frozen=True)
class Step:
    name: str
    question: str  # the reply key that asks it (shown again after "zurück" and when re-prompted)


STEPS: tuple[Step, ...] = (
    Step("recipients", "leads.choose_recipients"),
    Step("age", "leads.ask_age"),
    Step("reuse", "leads.reuse"),
    Step("name", "leads.ask_name"),
    Step("contact", "leads.ask_contact"),
    Step("preference", "leads.ask_preference"),
    Step("time", "leads.ask_time"),
    Step("message", "leads.ask_message"),
    Step("consent", "leads.consent"),
)
STEP_NAMES = tuple(step.name for step in STEPS)


class StoredDetails(BaseModel):
    """Name and contact of the user's last request (from its lead), offered for the next one."""

    first_name: str
    phone: str | None = None
    email: str | None = None
    preference: str | None = None
    time: str | None = None


class HandOverContext(FlowContext):
    """What the wizard knows between two steps (stored with the conversation, as JSON)."""

    FLOW = NAME

    target: str  # what the interest is in: "vacancy:<slug>", "profession:<slug>", "event:<slug>", "company:<slug>"
    title: str
    profession: str | None = None
    profession_name: str | None = None
    main: str | None = None  # the company the interest is about; None for a profession or an event
    options: list[str] = Field(default_factory=list)  # further companies of the cluster, nearest first
    chosen: list[str] = Field(default_factory=list)  # who gets the lead, in the order shown
    asker: str = "teen"  # "parent": a parent asks for their child, with their own name and contact
    asked_age: bool = False  # the age step is part of this run
    stored: StoredDetails | None = None  # the last request's details, offered at the "reuse" step
    reused: bool = False  # taken over: name and contact are not asked again
    first_name: str | None = None
    phone: str | None = None  # E.164
    phone_mobile: bool = False
    email: str | None = None
    preference: str | None = None  # phone, sms, email
    time: str | None = None  # morning, afternoon, evening, any
    message: str | None = None

    @property
    def kind(self) -> str:
        """What the main interest is: offer, profession, event or company."""
        return INTEREST_KINDS.get(self.target.partition(":")[0], "offer")

    def interest(self, company: CompanyInfo) -> tuple[str, str]:
        """What the lead to this company is about (kind, title): the offer only for its own company; the
        others get the interest in the profession (or in themselves), never a competitor's offer title."""
        if self.kind == "offer" and company.slug != self.main and self.profession_name:
            return "profession", self.profession_name
        if self.kind in ("offer", "company") and company.slug != self.main:
            return "company", company.name
        return self.kind, self.title

    def preferences(self) -> list[str]:
        """The ways the company may get in touch: only those the user gave a contact for."""
        ways = ["phone", *(["sms"] if self.phone_mobile else [])] if self.phone else []
        return ways + (["email"] if self.email else [])


class HandOver:
    # ---- entering --------------------------------------------------------------------------------
    async def begin(self, ctx: StepContext, kind: str, slug: str) -> Turn | None:
        if ctx.profile.id is None:
            await ctx.uow.users.save(ctx.profile)
        companies = await ctx.uow.content.companies()
        main: str | None = None
        if kind == "v":
            card = await ctx.uow.vacancies.card(slug)
            if card is None:
                return None
            if not card.company:  # imported, of an employer outside the clusters: apply through the BA's page
                link = [[Button(key="btn.vacancies.ba_page", data="", url=card.source_url)]] if card.source_url else []
                return ctx.turn(reply("leads.imported_offer", link, title=card.title, employer=card.company_name),
                                main_menu(ctx.profile), state=ConversationState())
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
        elif kind == "e":
            event = await ctx.uow.events.get(slug)
            if event is None:
                return None
            profession, title = (event.professions[0] if event.professions else None), event.title
            names = set(event.companies)
            candidates = [c for c in companies if c.name in names]
        else:
            return None
        target = f"{TARGETS[kind]}:{slug}"
        asked = {lead.company: lead for lead in await self._own_leads(ctx) if lead.target == target}
        if (main is not None and main in asked) or (main is None and asked and not [c for c in candidates
                                                                                    if c.slug not in asked]):
            return await self._already(ctx, [lead for lead in asked.values() if main is None or lead.company == main])
        candidates = [c for c in candidates if c.slug not in asked]  # one lead per company and interest
        options = [c.slug for c in self._nearest(ctx, candidates)][: MAX_EXTRA_COMPANIES + (0 if main else 1)]
        chosen = [main] if main else options[:1]
        info = await ctx.uow.content.profession(profession) if profession else None
        context = HandOverContext(target=target, title=title, profession=profession,
                                  profession_name=info.name if info else None, main=main, options=options,
                                  chosen=chosen, asker="parent" if ctx.profile.role == "parent" else "teen")
        if main is None and not options:
            return ctx.turn(reply("leads.no_company", title=title), main_menu(ctx.profile), state=ConversationState())
        return await self._show(ctx, context, "recipients")

    # ---- moving on -------------------------------------------------------------------------------
    async def on_button(self, ctx: StepContext, action: str, arg: str) -> Turn | None:
        """A press inside the wizard; None if it does not belong to the open step."""
        current = ctx.state
        context = HandOverContext.of(current)
        if context is None:
            return None
        step = current.step or ""
        if action == "x":
            return self._cancelled(ctx)
        if action == "b" and step in STEP_NAMES:
            return await self._back(ctx, context, step)
        if step == "recipients" and action == "t" and arg.isdigit() and int(arg) < len(context.options):
            slug = context.options[int(arg)]
            chosen = [s for s in context.chosen if s != slug] if slug in context.chosen else [*context.chosen, slug]
            context.chosen = [s for s in [context.main, *context.options] if s in chosen]
            return await self._show(ctx, context, "recipients")
        if step == "recipients" and action == "n":
            if not context.chosen:
                return ctx.turn(reply("leads.choose_one"), await self._recipients_reply(ctx, context), state=current)
            context.asked_age = context.asked_age or (ctx.profile.age_band is None and context.asker != "parent")
            context.stored = context.stored or await self._stored_details(ctx, context.asker)
            return await self._forward(ctx, context, step)
        if step == "age" and action == "a" and arg in AGE_BANDS:
            ctx.profile.age_band = arg
            return await self._forward(ctx, context, step)
        if step == "reuse" and action == "ru" and arg in ("y", "n") and context.stored is not None:
            if arg == "y":
                self._take_over(context, context.stored)
            context.reused = arg == "y"
            return await self._forward(ctx, context, step)
        if action == "k" and self._has_answer(context, step):  # "weiter mit …": keep what was entered
            return await self._forward(ctx, context, step)
        if step == "preference" and action == "pref" and arg in context.preferences():
            context.preference = arg
            return await self._forward(ctx, context, step)
        if step == "time" and action == "time" and arg in TIMES:
            context.time = arg
            return await self._forward(ctx, context, step)
        if step == "message" and action == "skip":
            context.message = None
            return await self._forward(ctx, context, step)
        if step == "consent" and action == "ok":
            return await self._consented(ctx, context)
        return None

    async def on_input(self, ctx: StepContext) -> Turn | None:
        """Typed text or a shared contact for the open step; None if the wizard is not open."""
        event, current = ctx.event, ctx.state
        context = HandOverContext.of(current)
        if context is None:
            return None
        step = current.step or ""
        if event.kind is EventKind.CONTACT and step in ("contact", "preference") and event.phone:
            phone = shared_phone(event.phone)
            if phone is None:
                return await self._again(ctx, context, step, reply("leads.contact_invalid"))
            if step == "contact":
                context.email = None
            context.phone, context.phone_mobile = phone.e164, phone.mobile
            return await self._contact_saved(ctx, context)
        if event.kind is not EventKind.TEXT:
            return None
        text = (event.text or "").strip()
        if text.casefold() in CANCEL_WORDS:
            return self._cancelled(ctx)
        if text.casefold() in BACK_WORDS and step in STEP_NAMES:
            return await self._back(ctx, context, step)
        if step == "age" and (band := age_band_of(text)) is not None:  # "15", "ich bin 16", "unter 16"
            ctx.profile.age_band = band
            return await self._forward(ctx, context, step)
        if step == "name":
            name = parse_name(text, full=context.asker == "parent")
            if name is None:
                return await self._again(ctx, context, step, reply("leads.name_invalid"))
            context.first_name = name
            return await self._forward(ctx, context, step)
        if step in ("contact", "preference"):
            return await self._contact_typed(ctx, context, step, text)
        if step == "message":
            if len(text) > MAX_MESSAGE:  # nothing is cut silently: the user shortens it
                return await self._again(ctx, context, step, reply("leads.message_too_long", count=len(text),
                                                                   total=MAX_MESSAGE))
            context.message = text or None
            return await self._forward(ctx, context, step)
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        context = HandOverContext.of(ctx.state)
        step = ctx.state.step or ""
        if context is None or step not in STEP_NAMES:
            return []
        return await self._question(ctx, context, step)

    # ---- the order of the steps --------------------------------------------------------------------
    @staticmethod
    def _applies(context: HandOverContext, step: str) -> bool:
        """Whether a step is part of this run (the same rule forwards and for "zurück")."""
        if step == "age":
            return context.asked_age
        if step == "reuse":
            return context.stored is not None
        if step in ("name", "contact"):
            return not context.reused
        if step == "preference":
            return not (context.reused and context.preference in context.preferences())
        if step == "time":
            return not (context.reused and context.time)
        return True

    async def _forward(self, ctx: StepContext, context: HandOverContext, after: str) -> Turn:
        following = [s for s in STEP_NAMES[STEP_NAMES.index(after) + 1:] if self._applies(context, s)]
        return await self._show(ctx, context, following[0] if following else "consent")

    async def _back(self, ctx: StepContext, context: HandOverContext, current: str) -> Turn:
        """One step back; what was entered stays (and can be kept with one tap)."""
        before = [s for s in STEP_NAMES[: STEP_NAMES.index(current)] if self._applies(context, s)]
        if not before:
            return await self._show(ctx, context, current)
        return await self._show(ctx, context, before[-1])

    async def _show(self, ctx: StepContext, context: HandOverContext, step: str, *first: Reply) -> Turn:
        return ctx.turn(*first, *await self._question(ctx, context, step), state=context.at(step))

    async def _again(self, ctx: StepContext, context: HandOverContext, step: str, why: Reply) -> Turn:
        """The answer did not fit: say why and ask the same question again."""
        return await self._show(ctx, context, step, why)

    def _cancelled(self, ctx: StepContext) -> Turn:
        done = reply("leads.cancelled").model_copy(update={"remove_keyboard": True})
        return ctx.turn(done, main_menu(ctx.profile), state=ConversationState())

    @staticmethod
    def _has_answer(context: HandOverContext, step: str) -> bool:
        return bool({"name": context.first_name, "contact": context.phone or context.email,
                     "message": context.message}.get(step))

    # ---- the questions -----------------------------------------------------------------------------
    async def _question(self, ctx: StepContext, context: HandOverContext, step: str) -> list[Reply]:
        """The question of a step, with what was entered so far (the same after "zurück")."""
        key = STEPS[STEP_NAMES.index(step)].question
        nav = [button("btn.leads.back", LEADS.pack("b")), button("btn.leads.cancel", LEADS.pack("x"))]
        keep = [[button("btn.leads.keep", LEADS.pack("k"), name=value)] for value in [self._kept(context, step)] if value]
        if step == "recipients":
            return [await self._recipients_reply(ctx, context)]
        if step == "consent":
            return [await self._consent_reply(ctx, context)]
        if step == "age":
            return [reply(key, [[button(f"btn.age.{a}", LEADS.pack("a", a)) for a in AGE_BANDS], nav])]
        if step == "reuse":
            stored = context.stored or StoredDetails(first_name="")
            rows = [[button("btn.leads.reuse_yes", LEADS.pack("ru", "y"))], [button("btn.leads.reuse_change", LEADS.pack("ru", "n"))],
                    nav]
            return [reply(key, rows, first_name=stored.first_name, phone=stored.phone, email=stored.email,
                          preferred_channel=stored.preference, preferred_time=stored.time, role=context.asker)]
        if step == "contact":
            question = reply(key, [*keep, nav], phone=context.phone, email=context.email)
            return [question.model_copy(update={"contact_button": "btn.leads.share_phone"})]
        if step == "preference":
            rows = [[button(f"btn.leads.pref.{p}", LEADS.pack("pref", p), chosen=p == context.preference)
                     for p in context.preferences()], nav]
            return [reply(key, rows, phone=context.phone, email=context.email)]
        if step == "time":
            rows = [[button(f"btn.leads.time.{t}", LEADS.pack("time", t), chosen=t == context.time) for t in TIMES], nav]
            return [reply(key, rows)]
        if step == "message":
            return [reply(key, [*keep, [button("btn.skip", LEADS.pack("skip"))], nav], count=MAX_MESSAGE,
                          message=context.message)]
        return [reply(key, [*keep, nav], role=context.asker)]  # name

    @staticmethod
    def _kept(context: HandOverContext, step: str) -> str | None:
        """What a "weiter mit …" button keeps at a typed step, if something was entered."""
        if step == "name":
            return context.first_name
        if step == "contact":
            return " · ".join(c for c in (context.phone, context.email) if c) or None
        if step == "message" and context.message:
            return context.message[:24] + ("…" if len(context.message) > 24 else "")
        return None

    async def _contact_typed(self, ctx: StepContext, context: HandOverContext, step: str, text: str) -> Turn:
        """A phone number or an e-mail address. At "contact" it replaces what was given; at "preference"
        (asked after the first, optional) it adds the other one."""
        email = parse_email(text) if "@" in text else None
        phone = None if "@" in text else parse_phone(text)
        if email is None and phone is None:
            return await self._again(ctx, context, step, reply("leads.contact_invalid"))
        if step == "contact":
            context.phone, context.phone_mobile, context.email = None, False, None
        if phone is not None:
            context.phone, context.phone_mobile = phone.e164, phone.mobile
        if email is not None:
            context.email = email
        return await self._contact_saved(ctx, context)

    async def _contact_saved(self, ctx: StepContext, context: HandOverContext) -> Turn:
        if context.preference not in context.preferences():
            context.preference = None
        saved = reply("leads.contact_saved", phone=context.phone, email=context.email)
        return await self._show(ctx, context, "preference", saved.model_copy(update={"remove_keyboard": True}))

    # ---- the recipients --------------------------------------------------------------------------
    @staticmethod
    def _nearest(ctx: StepContext, companies: list[CompanyInfo]) -> list[CompanyInfo]:
        return [company for company, _ in nearest_first(ctx.places, ctx.home, companies)]

    async def _recipients_reply(self, ctx: StepContext, context: HandOverContext) -> Reply:
        companies = {c.slug: c for c in await ctx.uow.content.companies()}
        rows: list[list[Button]] = []
        for i, slug in enumerate(context.options):
            company = companies.get(slug)
            rows.append([button("btn.leads.toggle", LEADS.pack("t", i), name=company.name if company else slug,
                                chosen=slug in context.chosen, place=company.place if company else None,
                                km=km_from(ctx.places, ctx.home, company) if company else None)])
        rows.append([button("btn.leads.next", LEADS.pack("n")), button("btn.leads.cancel", LEADS.pack("x"))])
        main = companies.get(context.main or "")
        return reply("leads.choose_recipients", rows, title=context.title, main=main.name if main else None,
                     place=main.place if main else None, count=len(context.chosen))

    # ---- what is shared ----------------------------------------------------------------------------
    @staticmethod
    def _take_over(context: HandOverContext, stored: StoredDetails) -> None:
        context.first_name, context.phone, context.email = stored.first_name, stored.phone, stored.email
        context.phone_mobile = is_mobile(stored.phone) if stored.phone else False
        context.preference = stored.preference if stored.preference in context.preferences() else None
        context.time = stored.time if stored.time in TIMES else None

    @staticmethod
    async def _own_leads(ctx: StepContext) -> list[Lead]:
        return await ctx.uow.leads.for_user(ctx.profile.id) if ctx.profile.id is not None else []

    async def _stored_details(self, ctx: StepContext, asker: str) -> StoredDetails | None:
        """The name and contact of the user's newest request of the same kind (their own, or as a
        parent): kept with that lead anyway, so nothing new is stored to offer them again."""
        for lead in sorted(await self._own_leads(ctx), key=lambda lead: (lead.created_at, lead.id or 0), reverse=True):
            shared = lead.shared
            if (shared.get("asker") or "teen") == asker and shared.get("first_name") and (
                    shared.get("phone") or shared.get("email")):
                return StoredDetails(first_name=shared["first_name"], phone=shared.get("phone"),
                                     email=shared.get("email"), preference=shared.get("preference"),
                                     time=shared.get("time"))
        return None

    @staticmethod
    def _shared(ctx: StepContext, context: HandOverContext, company: CompanyInfo) -> dict[str, Any]:
        """What the lead to one company stores: exactly what the consent screen shows for it. A parent
        shares their own name and contact and their home town, nothing of the child."""
        p, parent = ctx.profile, context.asker == "parent"
        about, title = context.interest(company)
        professional = about in ("offer", "profession")
        return {"asker": context.asker, "first_name": context.first_name,
                "age_band": None if parent else p.age_band, "place": p.place, "plz": p.plz,
                "school_status": None if parent else p.school_status,
                "school_class": None if parent or p.school_status != "pupil" else p.school_class,
                "about": about, "title": title, "profession": context.profession if professional else None,
                "profession_name": context.profession_name if professional else None,
                "phone": context.phone, "email": context.email, "preference": context.preference,
                "time": context.time, "message": context.message}

    async def _consent_reply(self, ctx: StepContext, context: HandOverContext) -> Reply:
        companies = {c.slug: c for c in await ctx.uow.content.companies()}
        minor = ctx.profile.age_band == "u16" and context.asker != "parent"
        rows = [[button("btn.leads.ask_parent" if minor else "btn.leads.agree", LEADS.pack("ok"))],
                [button("btn.leads.back", LEADS.pack("b")), button("btn.leads.cancel", LEADS.pack("x"))]]
        shared = {slug: self._shared(ctx, context, companies[slug]) for slug in context.chosen if slug in companies}
        items = recipient_items([(companies[slug], interest_fields(s, context.target)) for slug, s in shared.items()])
        common = shared_fields(next(iter(shared.values()))) if shared else {}
        return reply("leads.consent", rows, recipients=[i["company"] for i in items], items=items, shared=common,
                     version=CONSENT_VERSION, minor=minor, role=context.asker)

    async def _consented(self, ctx: StepContext, context: HandOverContext) -> Turn:
        assert ctx.profile.id is not None
        now, minor = ctx.clock.now(), ctx.profile.age_band == "u16" and context.asker != "parent"
        token = new_token() if minor else None
        companies = {c.slug: c for c in await ctx.uow.content.companies()}
        leads: list[Lead] = []
        existing: list[Lead] = []
        for company in [companies[slug] for slug in context.chosen if slug in companies]:
            lead, created = await ctx.uow.leads.add_once(Lead(
                user_id=ctx.profile.id, company=company.slug, target=context.target,
                status=LeadStatus.WAITING_PARENT if minor else LeadStatus.DELIVERED,
                shared=self._shared(ctx, context, company), created_at=now, status_at=now, history=[]))
            (leads if created else existing).append(lead)
        recipients = [companies[lead.company].name for lead in leads]
        if not leads:  # pressed twice, or sent before: one lead per company and offer
            return await self._already(ctx, existing)
        if token is not None:
            await ctx.uow.leads.add_parent_request(ParentRequest(
                token=token, user_id=ctx.profile.id, lead_ids=[lead.id for lead in leads if lead.id is not None],
                created_at=now, expires_at=now + PARENT_LINK_VALID))
            return ctx.turn(reply("leads.parent_link", payload=link_payload(PARENT_PREFIX, token),
                                  recipients=recipients, days=PARENT_LINK_VALID.days),
                            main_menu(ctx.profile), state=ConversationState())
        consent = await ctx.uow.consents.add(ctx.profile.id, ConsentRecord(
            purpose=CONSENT_PURPOSE, text_version=CONSENT_VERSION, given_by="self",
            recipients=[lead.company for lead in leads], given_at=now))
        for lead in leads:
            await deliver(ctx.uow, lead, consent, now)
        return ctx.turn(reply("leads.done", recipients=recipients, role=context.asker), main_menu(ctx.profile),
                        state=ConversationState())

    async def _already(self, ctx: StepContext, leads: list[Lead]) -> Turn:
        """Asked before: said at once, with where each request stands."""
        names = await company_names(ctx, [lead.company for lead in leads])
        items = [{"company": names.get(lead.company, lead.company), "status": lead.status.value,
                  "title": lead.shared.get("title")} for lead in leads]
        return ctx.turn(reply("leads.already", recipients=[i["company"] for i in items], items=items),
                        main_menu(ctx.profile), state=ConversationState())

