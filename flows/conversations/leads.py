"""Interessiert mich: a consented hand-over of a young person's contact to companies ("Huckepack").

    offer/profession/event/company ──> recipients (the company + up to 4 more of the cluster)
      ──> [age band] ──> first name ──> contact (shared phone, or phone/e-mail typed)
      ──> preferred way ──> preferred time ──> short message (optional) ──> consent screen
      ──> 16+: consent recorded, leads delivered through the outbox
      ──> under 16: leads wait; a single-use, expiring link for a parent ──> whoever opens it declares
          to be a parent or legal guardian (not the child's own account, no account under 18)
          ──> sees what would be shared with whom ──> confirms or not (the deciding account is recorded)

Company contacts report "Kontakt aufgenommen", "Gespräch vereinbart", "Kein passender Platz" with
one tap; the young person hears about it in friendly words. Quiz results are never shared.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from flows.domain import lead_report
from flows.domain.content import CompanyInfo
from flows.core.context import StepContext, button, reply
from flows.delivery.company_delivery import notify_company
from flows.jobs.lead_followup import alert_agents
from flows.domain.places import nearest_first
from flows.domain.lead import COMPANY_REPORTS, OPEN, CompanyInvite, Lead, LeadStatus, ParentRequest
from flows.conversations.menu import main_menu
from flows.core.model import ConsentRecord, ConversationState, Document, EventKind, Profile, Reply, Turn
from flows.delivery.outbox import OutboxMessage
from flows.core.ports import UnitOfWork

NAME = "leads"
CONSENT_VERSION = "lead-handover-2026-11"
PURPOSE = "lead"
MAX_EXTRA_COMPANIES = 4
PARENT_LINK_VALID = timedelta(days=7)
INVITE_VALID = timedelta(days=14)
PARENT_PREFIX, INVITE_PREFIX = "pc-", "ci-"
NAME_RE = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-žẞß' -]{1,40}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,200}\.[A-Za-z]{2,24}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 /()-]{5,22}$")
PREFERENCES = ("phone", "email", "telegram")
TIMES = ("morning", "afternoon", "evening", "any")
MAX_MESSAGE = 300
AGENT_LIST_MAX = 30  # the list in the chat; the CSV has everything
RELATIONS = {"p": "parent", "g": "guardian"}  # what the opener of a parent link declares to be (button code)
NOT_GUARDIAN = "n"
MINOR_AGE_BANDS = ("u16", "16_17")


def new_token() -> str:
    return secrets.token_hex(16)  # hex: fits Telegram's start parameter alphabet, no "_" to confuse parsing


def link_payload(prefix: str, token: str) -> str:
    return prefix + token


class LeadsFlow:
    name = NAME
    prefix = "ld"

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        if entry == "invite":
            return await self._invite(ctx)
        if entry == "agent":
            return await self._agent_list(ctx, "open")
        return await self._mine(ctx)

    @staticmethod
    def _agent_refusal(ctx: StepContext, command: str) -> Turn | None:
        """Agents act only within their own cluster: none for others, nothing without a cluster."""
        if not ctx.admin:
            return ctx.turn(reply("fallback.unknown_command", command=command), main_menu(ctx.profile))
        if ctx.profile.cluster is None:
            return ctx.turn(reply("leads.agent_no_cluster"))
        return None

    async def _agent_leads(self, ctx: StepContext, which: str) -> list[tuple[Lead, CompanyInfo]]:
        companies = {c.slug: c for c in await ctx.uow.content.companies() if c.cluster == ctx.profile.cluster}
        leads = await ctx.uow.leads.for_companies(list(companies))
        chosen = [lead for lead in leads if which == "all" or (which == "open" and lead.status in OPEN)
                  or lead.status.value == which]
        return [(lead, companies[lead.company]) for lead in chosen]

    async def _agent_list(self, ctx: StepContext, which: str) -> Turn:
        """/leads for cluster agents: their cluster's leads with status and age, filterable, CSV."""
        if refusal := self._agent_refusal(ctx, "leads"):
            return refusal
        now = ctx.clock.now()
        items = [{"id": lead.id, "company": company.name, "first_name": lead.shared.get("first_name"),
                  "status": lead.status.value, "days": (now - lead.created_at).days}
                 for lead, company in await self._agent_leads(ctx, which)]
        rows = [[button("btn.leads.filter", f"ld:af:{f}", filter=f, chosen=f == which)
                 for f in ("open", "delivered", "all")],
                [button("btn.leads.csv", f"ld:csv:{which}")]]
        return ctx.turn(reply("leads.agent_list", rows, items=items[:AGENT_LIST_MAX], count=len(items),
                              filter=which), state=ConversationState())

    async def _agent_csv(self, ctx: StepContext, which: str) -> Turn:
        if refusal := self._agent_refusal(ctx, "leads"):
            return refusal
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["id", "company", "status", "created_at", "delivered_at", "status_at", "first_name", "place", "interest"])
        for lead, company in await self._agent_leads(ctx, which):
            writer.writerow([lead.id, company.name, lead.status.value, lead.created_at.isoformat(),
                             lead.delivered_at.isoformat() if lead.delivered_at else "", lead.status_at.isoformat(),
                             lead.shared.get("first_name"), lead.shared.get("place"), lead.shared.get("title")])
        document = Document(filename=f"leads-{which}-{ctx.clock.now():%Y-%m-%d}.csv",
                            content=out.getvalue().encode("utf-8-sig"), mime_type="text/csv")
        return ctx.turn(reply("leads.agent_csv").model_copy(update={"document": document}))

    async def _invite(self, ctx: StepContext) -> Turn:
        """/einladung <company-slug>, for cluster agents only, for a company of their own cluster: a
        single-use link for a new company contact. (`lotse company invite` on the server is not limited.)"""
        if refusal := self._agent_refusal(ctx, "einladung"):
            return refusal
        slug = (ctx.event.payload or "").strip().lower()
        company = await ctx.uow.content.company(slug) if slug else None
        if company is not None and company.cluster != ctx.profile.cluster:
            return ctx.turn(reply("leads.invite_other_cluster", company=slug[:48]))  # nothing of the other cluster
        payload = await create_invite(ctx.uow, slug, ctx.clock.now()) if company is not None else None
        if company is None or payload is None:
            return ctx.turn(reply("leads.invite_unknown_company", company=slug[:48]))
        return ctx.turn(reply("leads.invite_created", company=company.name, payload=payload, days=INVITE_VALID.days))

    async def handle(self, ctx: StepContext) -> Turn | None:
        event, state = ctx.event, ctx.state
        args = ctx.button_args(3)
        if args is not None:
            return await self._button(ctx, *args)
        if state.flow != NAME:
            return None
        context = dict(state.context)
        if event.kind is EventKind.CONTACT and state.step == "contact" and event.phone:
            context["phone"] = _phone(event.phone) or event.phone[:24]
            return self._ask_preference(ctx, context)
        if event.kind is not EventKind.TEXT:
            return None
        text = (event.text or "").strip()
        if state.step == "name":
            if not NAME_RE.match(text):
                return ctx.turn(reply("leads.name_invalid"), self._question("name"), state=state)
            context["first_name"] = text.split()[0][:40]
            return self._ask(ctx, "contact", context)
        if state.step == "contact":
            if EMAIL_RE.match(text):
                context["email"] = text
            elif phone := _phone(text):
                context["phone"] = phone
            else:
                return ctx.turn(reply("leads.contact_invalid"), self._question("contact"), state=state)
            return self._ask_preference(ctx, context)
        if state.step == "message":
            context["message"] = text[:MAX_MESSAGE]
            return await self._consent_screen(ctx, context)
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        step = ctx.state.step or ""
        if step == "consent":
            return [await self._consent_reply(ctx, dict(ctx.state.context))]
        if step == "recipients":
            return [await self._recipients_reply(ctx, dict(ctx.state.context))]
        return [self._question(step)] if step in ("name", "contact", "preference", "time", "message", "age") else []

    # ---- buttons -------------------------------------------------------------------------
    async def _button(self, ctx: StepContext, action: str, arg: str, extra: str) -> Turn | None:
        if action in ("v", "p", "e", "c"):
            return await self._begin(ctx, action, arg)
        if action == "pr":
            return await self._parent_declared(ctx, arg, extra)
        if action == "pa" or action == "pd":
            return await self._parent_decision(ctx, arg, extra, approved=action == "pa")
        if action == "cs" and arg.isdigit():
            return await self._company_status(ctx, int(arg), extra)
        if action == "w" and arg.isdigit():
            return await self._withdraw_one(ctx, int(arg))
        if action == "af" and arg in ("open", "delivered", "all"):
            return await self._agent_list(ctx, arg)
        if action == "csv" and arg in ("open", "delivered", "all"):
            return await self._agent_csv(ctx, arg)
        if action in ("fy", "fn") and arg.isdigit():
            return await self._followup_answer(ctx, int(arg), heard=action == "fy")
        if action == "mine":
            return await self._mine(ctx)
        state = ctx.state
        if state.flow != NAME:
            return None
        context = dict(state.context)
        if action == "x":
            return ctx.turn(reply("leads.cancelled"), main_menu(ctx.profile), state=ConversationState())
        if state.step == "recipients" and action == "t" and arg.isdigit() and int(arg) < len(context["options"]):
            slug = context["options"][int(arg)]
            chosen = [s for s in context["chosen"] if s != slug] if slug in context["chosen"] else [*context["chosen"], slug]
            context["chosen"] = [s for s in [context.get("main"), *context["options"]] if s in chosen]
            return ctx.turn(await self._recipients_reply(ctx, context), state=self._state("recipients", context))
        if state.step == "recipients" and action == "n":
            if not context["chosen"]:
                return ctx.turn(reply("leads.choose_one"), await self._recipients_reply(ctx, context),
                                state=state)
            if ctx.profile.age_band is None:
                return self._ask(ctx, "age", context)
            return self._ask_name(ctx, context)
        if state.step == "age" and action == "a" and arg in ("u16", "16_17", "18plus"):
            ctx.profile.age_band = arg
            return self._ask_name(ctx, context)
        if state.step == "preference" and action == "pref" and arg in PREFERENCES:
            context["preference"] = arg
            return self._ask(ctx, "time", context)
        if state.step == "time" and action == "time" and arg in TIMES:
            context["time"] = arg
            return self._ask(ctx, "message", context)
        if state.step == "message" and action == "skip":
            context["message"] = None
            return await self._consent_screen(ctx, context)
        if state.step == "consent" and action == "ok":
            return await self._consented(ctx, context)
        return None

    # ---- the steps -----------------------------------------------------------------------
    @staticmethod
    def _state(step: str, context: dict[str, Any]) -> ConversationState:
        return ConversationState(flow=NAME, step=step, context=context)

    def _question(self, step: str) -> Reply:
        cancel = [button("btn.leads.cancel", "ld:x:")]
        if step == "age":
            return reply("leads.ask_age", [[button(f"btn.age.{a}", f"ld:a:{a}") for a in ("u16", "16_17", "18plus")],
                                           cancel])
        if step == "contact":
            return reply("leads.ask_contact").model_copy(update={"contact_button": "btn.leads.share_phone"})
        if step == "preference":
            return reply("leads.ask_preference", [[button(f"btn.leads.pref.{p}", f"ld:pref:{p}") for p in PREFERENCES],
                                                  cancel])
        if step == "time":
            return reply("leads.ask_time", [[button(f"btn.leads.time.{t}", f"ld:time:{t}") for t in TIMES], cancel])
        if step == "message":
            return reply("leads.ask_message", [[button("btn.skip", "ld:skip:")], cancel])
        return reply("leads.ask_name", [cancel])

    def _ask(self, ctx: StepContext, step: str, context: dict[str, Any]) -> Turn:
        return ctx.turn(self._question(step), state=self._state(step, context))

    def _ask_name(self, ctx: StepContext, context: dict[str, Any]) -> Turn:
        if context.get("first_name"):
            return self._ask(ctx, "contact", context)
        return self._ask(ctx, "name", context)

    def _ask_preference(self, ctx: StepContext, context: dict[str, Any]) -> Turn:
        saved = reply("leads.contact_saved", phone=context.get("phone"), email=context.get("email"))
        return ctx.turn(saved.model_copy(update={"remove_keyboard": True}),
                        self._question("preference"), state=self._state("preference", context))

    async def _begin(self, ctx: StepContext, kind: str, slug: str) -> Turn | None:
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
        target = dict(v="vacancy", p="profession", e="event", c="company")[kind]
        context = {"target": f"{target}:{slug}", "title": title,
                   "profession": profession, "main": main, "options": options, "chosen": chosen}
        if main is None and not options:
            return ctx.turn(reply("leads.no_company", title=title), main_menu(ctx.profile), state=ConversationState())
        return ctx.turn(await self._recipients_reply(ctx, context), state=self._state("recipients", context))

    @staticmethod
    def _nearest(ctx: StepContext, companies: list[CompanyInfo]) -> list[CompanyInfo]:
        return [company for company, _ in nearest_first(ctx.places, ctx.home, companies)]

    async def _names(self, ctx: StepContext, slugs: list[str]) -> dict[str, str]:
        return {c.slug: c.name for c in await ctx.uow.content.companies() if c.slug in slugs}

    async def _recipients_reply(self, ctx: StepContext, context: dict[str, Any]) -> Reply:
        names = await self._names(ctx, [s for s in [context.get("main"), *context["options"]] if s])
        rows = [[button("btn.leads.toggle", f"ld:t:{i}", name=names.get(slug, slug), chosen=slug in context["chosen"])]
                for i, slug in enumerate(context["options"])]
        rows.append([button("btn.leads.next", "ld:n:"), button("btn.leads.cancel", "ld:x:")])
        return reply("leads.choose_recipients", rows, title=context["title"],
                     main=names.get(context.get("main") or "", None), count=len(context["chosen"]))

    def _shared(self, ctx: StepContext, context: dict[str, Any]) -> dict[str, Any]:
        """Exactly the data the consent screen shows and the companies get. Never quiz results."""
        p = ctx.profile
        return {"first_name": context.get("first_name"), "age_band": p.age_band, "place": p.place, "plz": p.plz,
                "school_status": p.school_status, "school_class": p.school_class, "title": context["title"],
                "profession": context.get("profession"), "phone": context.get("phone"), "email": context.get("email"),
                "preference": context.get("preference"), "time": context.get("time"), "message": context.get("message")}

    async def _consent_reply(self, ctx: StepContext, context: dict[str, Any]) -> Reply:
        names = await self._names(ctx, context["chosen"])
        minor = ctx.profile.age_band == "u16"
        rows = [[button("btn.leads.ask_parent" if minor else "btn.leads.agree", "ld:ok:")],
                [button("btn.leads.cancel", "ld:x:")]]
        return reply("leads.consent", rows, recipients=[names[s] for s in context["chosen"] if s in names],
                     shared=self._shared(ctx, context), version=CONSENT_VERSION, minor=minor)

    async def _consent_screen(self, ctx: StepContext, context: dict[str, Any]) -> Turn:
        return ctx.turn(await self._consent_reply(ctx, context), state=self._state("consent", context))

    async def _consented(self, ctx: StepContext, context: dict[str, Any]) -> Turn:
        assert ctx.profile.id is not None
        now, minor = ctx.clock.now(), ctx.profile.age_band == "u16"
        shared = self._shared(ctx, context)
        token = new_token() if minor else None
        leads: list[Lead] = []
        for company in context["chosen"]:
            lead, created = await ctx.uow.leads.add_once(Lead(
                user_id=ctx.profile.id, company=company, target=context["target"],
                status=LeadStatus.WAITING_PARENT if minor else LeadStatus.DELIVERED, shared=shared,
                created_at=now, status_at=now, history=[], parent_token=token))
            if created:
                leads.append(lead)
        names = await self._names(ctx, context["chosen"])
        recipients = [names[s] for s in context["chosen"] if s in names]
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
            purpose=PURPOSE, text_version=CONSENT_VERSION, given_by="self", recipients=context["chosen"], given_at=now))
        for lead in leads:
            await deliver(ctx.uow, lead, consent, now)
        return ctx.turn(reply("leads.done", recipients=recipients), main_menu(ctx.profile), state=ConversationState())

    # ---- parents -------------------------------------------------------------------------
    async def parent_review(self, ctx: StepContext, token: str) -> Turn:
        """The parent link, opened: first the opener declares to be a parent or legal guardian."""
        request = await self._parent_gate(ctx, token)
        if not isinstance(request, ParentRequest):
            return request
        leads = await self._requested(ctx, request)
        rows = [[button(f"leads.declare.{relation}", f"ld:pr:{token}:{code}")] for code, relation in RELATIONS.items()]
        rows.append([button("leads.declare.none", f"ld:pr:{token}:{NOT_GUARDIAN}")])
        first_name = leads[0].shared.get("first_name") if leads else None
        return ctx.turn(reply("leads.parent_declare", rows, first_name=first_name), state=ConversationState())

    async def _parent_declared(self, ctx: StepContext, token: str, code: str) -> Turn:
        """After the declaration: what would be shared with whom, and the decision."""
        request = await self._parent_gate(ctx, token)
        if not isinstance(request, ParentRequest):
            return request
        if code == NOT_GUARDIAN:  # nothing stored: the link stays valid for the real parent
            return ctx.turn(reply("leads.parent_not_guardian"), state=ConversationState())
        if code not in RELATIONS:
            return await self.parent_review(ctx, token)
        if ctx.profile.role is None:
            ctx.profile.role = "parent"
        leads = await self._requested(ctx, request)
        names = await self._names(ctx, [lead.company for lead in leads])
        shared = leads[0].shared if leads else {}
        rows = [[button("btn.leads.parent_yes", f"ld:pa:{token}:{code}")],
                [button("btn.leads.parent_no", f"ld:pd:{token}:{code}")]]
        return ctx.turn(reply("leads.parent_review", rows, recipients=[names.get(lead.company, lead.company) for lead in leads],
                              shared=shared, version=CONSENT_VERSION), state=ConversationState())

    async def _parent_gate(self, ctx: StepContext, token: str) -> ParentRequest | Turn:
        """The open request behind a parent link, or why this account may not decide on it. A refusal
        consumes nothing: the link stays valid for the parent."""
        request = await ctx.uow.leads.parent_request(token)
        if request is None or request.expires_at <= ctx.clock.now():
            return ctx.turn(reply("leads.parent_link_invalid"), main_menu(ctx.profile), state=ConversationState())
        if request.decided_at is not None:  # single use; a second press of the decider changes nothing
            decider = (request.decided_by_channel, request.decided_by_chat_id)
            mine = decider == (ctx.profile.channel, ctx.profile.chat_id)
            key = "leads.parent_already" if mine else "leads.parent_link_invalid"
            return ctx.turn(reply(key), main_menu(ctx.profile), state=ConversationState())
        refusal = _parent_refusal(ctx.profile, request)
        if refusal is not None:
            return ctx.turn(reply(refusal), main_menu(ctx.profile), state=ConversationState())
        return request

    @staticmethod
    async def _requested(ctx: StepContext, request: ParentRequest) -> list[Lead]:
        return [lead for lead in [await ctx.uow.leads.get(i) for i in request.lead_ids] if lead is not None]

    async def _parent_decision(self, ctx: StepContext, token: str, code: str, approved: bool) -> Turn:
        relation = RELATIONS.get(code)
        if relation is None:  # no declaration (e.g. a button from before it was asked): declare first
            return await self.parent_review(ctx, token)
        request = await self._parent_gate(ctx, token)
        if not isinstance(request, ParentRequest):
            return request
        now = ctx.clock.now()
        decision = "approved" if approved else "declined"
        if not await ctx.uow.leads.decide(token, decision, now):  # someone else was quicker
            return ctx.turn(reply("leads.parent_link_invalid"), state=ConversationState())
        leads = [lead for lead in await self._requested(ctx, request) if lead.status is LeadStatus.WAITING_PARENT]
        consent: ConsentRecord | None = None
        if approved:
            consent = await ctx.uow.consents.add(request.user_id, ConsentRecord(
                purpose=PURPOSE, text_version=CONSENT_VERSION, given_by="parent",
                recipients=[lead.company for lead in leads], given_at=now))
            for lead in leads:
                await deliver(ctx.uow, lead, consent, now)
        else:
            for lead in leads:
                await ctx.uow.leads.set_status(lead.id, LeadStatus.DECLINED, now)  # type: ignore[arg-type]
        await ctx.uow.leads.add_parent_request(request.model_copy(update={  # who decided, as what
            "decision": decision, "decided_at": now, "relation": relation, "decided_by_channel": ctx.profile.channel,
            "decided_by_chat_id": ctx.profile.chat_id, "consent_id": consent.id if consent else None}))
        child = await _profile_of(ctx.uow, request.user_id)
        if child is not None:
            key = "leads.child_approved" if approved else "leads.child_declined"
            await ctx.uow.outbox.enqueue(OutboxMessage.to(child, reply(key), now, f"parent-decision:{token}"))
        return ctx.turn(reply("leads.parent_thanks" if approved else "leads.parent_declined"), state=ConversationState())

    # ---- company side --------------------------------------------------------------------
    async def company_link(self, ctx: StepContext, token: str) -> Turn:
        company = await ctx.uow.leads.use_invite(token, ctx.clock.now())
        if company is None:
            return ctx.turn(reply("leads.invite_invalid"), state=ConversationState())
        if ctx.profile.role is None:
            ctx.profile.role = "company"
        await ctx.uow.leads.add_contact(company, ctx.profile.channel, ctx.profile.chat_id, ctx.clock.now())
        names = await self._names(ctx, [company])
        return ctx.turn(reply("leads.contact_linked", company=names.get(company, company)), state=ConversationState())

    async def report_link(self, ctx: StepContext, payload: str) -> Turn:
        """A status link from a company e-mail, opened in Telegram: whoever has the e-mail may report."""
        parsed = lead_report.parse(payload)
        lead = await ctx.uow.leads.by_report_token(parsed[0]) if parsed else None
        if parsed is None or lead is None:
            return ctx.turn(reply("leads.report_link_invalid"), state=ConversationState())
        if ctx.profile.role is None:
            ctx.profile.role = "company"
        return await self._report(ctx, lead, parsed[1])

    async def _company_status(self, ctx: StepContext, lead_id: int, status: str) -> Turn | None:
        lead = await ctx.uow.leads.get(lead_id)
        mine = await ctx.uow.leads.companies_of(ctx.profile.channel, ctx.profile.chat_id)
        if lead is None or lead.company not in mine:
            return None  # only the company's own contacts may report on its leads
        try:
            new = LeadStatus(status)
        except ValueError:
            return None
        return await self._report(ctx, lead, new)

    async def _report(self, ctx: StepContext, lead: Lead, new: LeadStatus) -> Turn:
        """A company's report on one of its leads; the young person hears of it in friendly words."""
        assert lead.id is not None
        lead_id = lead.id
        if new not in COMPANY_REPORTS or lead.status not in OPEN or lead.status is LeadStatus.WAITING_PARENT:
            return ctx.turn(reply("leads.status_closed"))
        now = ctx.clock.now()
        await ctx.uow.leads.set_status(lead_id, new, now)
        young = await _profile_of(ctx.uow, lead.user_id)
        names = await self._names(ctx, [lead.company])
        if young is not None and new is not lead.status:
            await ctx.uow.outbox.enqueue(OutboxMessage.to(
                young, reply(f"leads.news_{new.value}", company=names.get(lead.company, lead.company),
                             title=lead.shared.get("title")), now, f"lead-news:{lead_id}:{new.value}"))
        return ctx.turn(reply("leads.status_saved", status=new.value, first_name=lead.shared.get("first_name")))

    # ---- the young person's own leads ------------------------------------------------------
    async def _mine(self, ctx: StepContext) -> Turn:
        leads = await ctx.uow.leads.for_user(ctx.profile.id) if ctx.profile.id else []
        names = await self._names(ctx, [lead.company for lead in leads])
        rows = [[button("btn.leads.withdraw", f"ld:w:{lead.id}", company=names.get(lead.company, lead.company))]
                for lead in leads if lead.status in OPEN]
        rows.append([button("btn.menu.back", "m:open")])
        items = [{"company": names.get(lead.company, lead.company), "title": lead.shared.get("title"),
                  "status": lead.status.value} for lead in leads]
        return ctx.turn(reply("leads.mine", rows, items=items), state=ConversationState())

    async def _followup_answer(self, ctx: StepContext, lead_id: int, heard: bool) -> Turn | None:
        lead = await ctx.uow.leads.get(lead_id)
        if lead is None or ctx.profile.id is None or lead.user_id != ctx.profile.id:
            return None
        if heard:
            if lead.status is LeadStatus.DELIVERED:
                await ctx.uow.leads.set_status(lead_id, LeadStatus.CONTACTED, ctx.clock.now())
            return ctx.turn(reply("leads.followup_yes"), main_menu(ctx.profile), state=ConversationState())
        await alert_agents(ctx.uow, ctx.admins, lead, "no_contact", ctx.clock.now())
        return ctx.turn(reply("leads.followup_no"), main_menu(ctx.profile), state=ConversationState())

    async def _withdraw_one(self, ctx: StepContext, lead_id: int) -> Turn | None:
        lead = await ctx.uow.leads.get(lead_id)
        if lead is None or ctx.profile.id is None or lead.user_id != ctx.profile.id or lead.status not in OPEN:
            return None
        await withdraw(ctx.uow, ctx.profile, [lead], ctx.clock.now())
        names = await self._names(ctx, [lead.company])
        return ctx.turn(reply("leads.withdrawn", company=names.get(lead.company, lead.company)), main_menu(ctx.profile),
                        state=ConversationState())


def _phone(text: str) -> str | None:
    if not PHONE_RE.match(text.strip()):
        return None
    digits = re.sub(r"[^0-9+]", "", text)
    return digits if 6 <= len(digits.lstrip("+")) <= 16 else None


async def _profile_of(uow: UnitOfWork, user_id: int) -> Profile | None:
    return await uow.users.by_id(user_id)


def _parent_refusal(profile: Profile, request: ParentRequest) -> str | None:
    """The reply key refusing this account a parent's decision, or None if it may decide.

    A teen profile without an age band counts as under 18: adults who open a parent link are new
    accounts, or parents, companies or others, or have said they are 18+."""
    if profile.id is not None and profile.id == request.user_id:
        return "leads.parent_link_own"
    if profile.age_band in MINOR_AGE_BANDS or (profile.role == "teen" and profile.age_band != "18plus"):
        return "leads.parent_link_minor"
    return None


async def parent_decisions(uow: UnitOfWork, leads: list[Lead]) -> list[dict[str, Any]]:
    """The parent requests behind these leads, for the young person's export: who decided, as what, when."""
    tokens = dict.fromkeys(lead.parent_token for lead in leads if lead.parent_token)  # in order, once each
    found = [await uow.leads.parent_request(token) for token in tokens]
    return [request.model_dump(mode="json", exclude={"token", "user_id"}) for request in found if request is not None]


async def deliver(uow: UnitOfWork, lead: Lead, consent: ConsentRecord, now: datetime) -> None:
    """Hand one lead over: to every linked contact in Telegram, and by e-mail / webhook where set."""
    assert lead.id is not None
    await uow.leads.set_status(lead.id, LeadStatus.DELIVERED, now, consent_id=consent.id)
    company = next((c for c in await uow.content.companies() if c.slug == lead.company), None)
    if company is None:
        return
    values = company_values(lead, company, await uow.content.cluster(company.cluster),
                            await uow.content.profession(lead.shared["profession"]) if lead.shared.get("profession") else None)
    values.update(consent_given_by=consent.given_by, consent_version=consent.text_version,
                  consent_at=consent.given_at.isoformat())
    status_buttons = [[button(f"btn.leads.status.{s.value}", f"ld:cs:{lead.id}:{s.value}")] for s in COMPANY_REPORTS
                      if s is not LeadStatus.HIRED]
    values["report_links"] = await lead_report.report_links(uow, lead.id)
    message = reply("leads.company_new", status_buttons, **values)
    await notify_company(uow, company, message, now, f"lead:{lead.id}:{{target}}:new")


def company_values(lead: Lead, company: CompanyInfo, cluster: Any, profession: Any) -> dict[str, Any]:
    """What a company gets of a lead (e-mail, webhook JSON and Telegram alike): the consented data only."""
    shared = lead.shared
    return {"lead_id": lead.id, "company_name": company.name, "cluster_name": cluster.name if cluster else None,
            "offer_title": shared.get("title"), "profession_name": profession.name if profession else None,
            "first_name": shared.get("first_name"), "age_band": shared.get("age_band"), "place": shared.get("place"),
            "plz": shared.get("plz"), "school_status": shared.get("school_status"),
            "school_class": shared.get("school_class"), "phone": shared.get("phone"), "email": shared.get("email"),
            "preferred_channel": shared.get("preference"), "preferred_time": shared.get("time"),
            "message": shared.get("message")}


async def withdraw(uow: UnitOfWork, profile: Profile, leads: list[Lead], now: datetime) -> None:
    """Stop hand-overs and tell every company that got the data to stop using it."""
    companies = {c.slug: c for c in await uow.content.companies()}
    for lead in leads:
        if lead.status not in OPEN or lead.id is None:
            continue
        was_delivered = lead.status is not LeadStatus.WAITING_PARENT
        await uow.leads.set_status(lead.id, LeadStatus.WITHDRAWN, now)
        company = companies.get(lead.company)
        if not was_delivered or company is None:
            continue
        message = reply("leads.company_withdrawn", lead_id=lead.id, company_name=company.name,
                        first_name=lead.shared.get("first_name"))
        await notify_company(uow, company, message, now, f"lead:{lead.id}:{{target}}:withdrawn")
    if profile.id is not None:
        for consent in await uow.consents.list_for_user(profile.id):
            if consent.purpose == PURPOSE and consent.withdrawn_at is None and consent.id is not None:
                await uow.consents.withdraw(consent.id, now)


async def create_invite(uow: UnitOfWork, company: str, now: datetime) -> str | None:
    """A single-use deep-link payload for a new company contact, or None for an unknown company."""
    if not await uow.leads.company_exists(company):
        return None
    token = new_token()
    await uow.leads.add_invite(CompanyInvite(token=token, company=company, created_at=now, expires_at=now + INVITE_VALID))
    return link_payload(INVITE_PREFIX, token)
