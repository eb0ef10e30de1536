"""A parent confirms (or not) what their under-16 child asked for: the hand-over of their contact
(a lead), or announcements of some topics (`ParentRequest.purpose` "announcements").

    the `pc-` link, opened ──> refused: the child's own account, or one that says it is under 18
      ──> "Sind Sie Elternteil oder Erziehungsberechtigte:r?" (parent / guardian / no)
      ──> what would be shared with whom (a lead) or what the child would get, how often (announcements)
      ──> confirm or decline (the deciding account is recorded)

A refusal consumes nothing: the link stays valid for the real parent. One decision per link.
"""
from __future__ import annotations

from typing import Any

from flows.conversations.leads.common import company_names, profile_of, recipient_items
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import ConsentRecord, ConversationState, Profile, Turn
from flows.core.payloads import LEADS
from flows.core.ports import UnitOfWork
from flows.delivery.lead_delivery import deliver
from flows.delivery.outbox import OutboxMessage
from flows.domain.broadcast import CONSENT_VERSION as ANNOUNCEMENTS_VERSION
from flows.domain.broadcast import DEFAULT_WEEKLY_CAP, OPT_IN_REQUEST, Topic, consent_purpose
from flows.domain.lead import (
    CONSENT_PURPOSE,
    CONSENT_VERSION,
    Lead,
    LeadStatus,
    ParentDecision,
    ParentRequest,
    interest_fields,
    shared_fields,
)

RELATIONS = {"p": "parent", "g": "guardian"}  # what the opener of a parent link declares to be (button code)
NOT_GUARDIAN = "n"
MINOR_AGE_BANDS = ("u16", "16_17")


def requested_topics(request: ParentRequest) -> list[Topic]:
    """The announcement topics a request asks for, in their usual order (unknown ones left out)."""
    return [topic for topic in Topic if topic.value in request.topics]


def refusal(profile: Profile, request: ParentRequest) -> str | None:
    """The reply key refusing this account a parent's decision, or None if it may decide.

    A teen profile without an age band counts as under 18: adults who open a parent link are new
    accounts, or parents, companies or others, or have said they are 18+."""
    if profile.id is not None and profile.id == request.user_id:
        return "leads.parent_link_own"
    if profile.age_band in MINOR_AGE_BANDS or (profile.role == "teen" and profile.age_band != "18plus"):
        return "leads.parent_link_minor"
    return None


async def parent_decisions(uow: UnitOfWork, user_id: int) -> list[dict[str, Any]]:
    """The young person's parent requests, for their export: who decided, as what, when."""
    return [request.model_dump(mode="json", exclude={"token", "user_id"})
            for request in await uow.leads.parent_requests_for(user_id)]


class ParentConfirmation:
    def __init__(self, weekly_cap: int = DEFAULT_WEEKLY_CAP) -> None:
        self.weekly_cap = weekly_cap  # announcements: at most this many a week (set by flows/wiring.py)

    async def review(self, ctx: StepContext, token: str) -> Turn:
        """The parent link, opened: first the opener declares to be a parent or legal guardian."""
        request = await self._gate(ctx, token)
        if not isinstance(request, ParentRequest):
            return request
        rows = [[button(f"btn.leads.declare.{relation}", LEADS.pack("pr", token, code))] for code, relation in RELATIONS.items()]
        rows.append([button("btn.leads.declare.none", LEADS.pack("pr", token, NOT_GUARDIAN))])
        if request.purpose == OPT_IN_REQUEST:
            return ctx.turn(reply("announcements.parent_declare", rows), state=ConversationState())
        leads = await self._requested(ctx, request)
        first_name = leads[0].shared.get("first_name") if leads else None
        return ctx.turn(reply("leads.parent_declare", rows, first_name=first_name), state=ConversationState())

    async def declared(self, ctx: StepContext, token: str, code: str) -> Turn:
        """After the declaration: what would be shared with whom, and the decision."""
        request = await self._gate(ctx, token)
        if not isinstance(request, ParentRequest):
            return request
        if code == NOT_GUARDIAN:  # nothing stored: the link stays valid for the real parent
            return ctx.turn(reply("leads.parent_not_guardian"), state=ConversationState())
        if code not in RELATIONS:
            return await self.review(ctx, token)
        if ctx.profile.role is None:
            ctx.profile.role = "parent"
        rows = [[button("btn.leads.parent_yes", LEADS.pack("pa", token, code))],
                [button("btn.leads.parent_no", LEADS.pack("pd", token, code))]]
        if request.purpose == OPT_IN_REQUEST:  # exactly what the child would get, how often, and the way out
            return ctx.turn(reply("announcements.parent_review", rows, topics=[t.value for t in requested_topics(request)],
                                  cap=self.weekly_cap, version=ANNOUNCEMENTS_VERSION), state=ConversationState())
        leads = await self._requested(ctx, request)
        companies = {c.slug: c for c in await ctx.uow.content.companies()}
        items = recipient_items([(companies[lead.company], interest_fields(lead.shared, lead.target))
                                 for lead in leads if lead.company in companies])
        # The same fields the young person saw and the companies get (preferred way and time included).
        return ctx.turn(reply("leads.parent_review", rows, recipients=[i["company"] for i in items], items=items,
                              shared=shared_fields(leads[0].shared) if leads else {}, version=CONSENT_VERSION),
                        state=ConversationState())

    async def decided(self, ctx: StepContext, token: str, code: str, approved: bool) -> Turn:
        relation = RELATIONS.get(code)
        if relation is None:  # no declaration (e.g. a button from before it was asked): declare first
            return await self.review(ctx, token)
        request = await self._gate(ctx, token)
        if not isinstance(request, ParentRequest):
            return request
        now = ctx.clock.now()
        decision = ParentDecision(decision="approved" if approved else "declined", relation=relation,
                                  channel=ctx.profile.channel, chat_id=ctx.profile.chat_id)
        if not await ctx.uow.leads.decide(token, decision, now):  # someone else was quicker
            return ctx.turn(reply("leads.parent_link_invalid"), state=ConversationState())
        if request.purpose == OPT_IN_REQUEST:
            return await self._decided_announcements(ctx, request, approved)
        leads = [lead for lead in await self._requested(ctx, request) if lead.status is LeadStatus.WAITING_PARENT]
        if approved:
            consent = await ctx.uow.consents.add(request.user_id, ConsentRecord(
                purpose=CONSENT_PURPOSE, text_version=CONSENT_VERSION, given_by="parent",
                recipients=[lead.company for lead in leads], given_at=now))
            if consent.id is not None:
                await ctx.uow.leads.record_consent(token, consent.id)
            for lead in leads:
                await deliver(ctx.uow, lead, consent, now)
        else:
            for lead in leads:
                if lead.id is not None:
                    await ctx.uow.leads.set_status(lead.id, LeadStatus.DECLINED, now)
        names = await company_names(ctx, [lead.company for lead in leads])
        recipients = [names.get(lead.company, lead.company) for lead in leads]
        child = await profile_of(ctx.uow, request.user_id)
        if child is not None:  # through the outbox: at night it waits for the morning (quiet hours)
            key = "leads.child_approved" if approved else "leads.child_declined"
            await ctx.uow.outbox.enqueue(OutboxMessage.to(child, reply(key, recipients=recipients), now,
                                                          f"parent-decision:{token}"))
        return ctx.turn(reply("leads.parent_thanks" if approved else "leads.parent_declined", recipients=recipients),
                        state=ConversationState())

    async def _decided_announcements(self, ctx: StepContext, request: ParentRequest, approved: bool) -> Turn:
        """The child's opt-in to the requested topics, given by the parent; the child is told."""
        now, topics = ctx.clock.now(), requested_topics(request)
        names = [topic.value for topic in topics]
        if approved:
            given = {c.purpose for c in await ctx.uow.consents.list_for_user(request.user_id)
                     if c.withdrawn_at is None and c.given_by == "parent"}
            first: int | None = None
            for topic in topics:
                if consent_purpose(topic) in given:
                    continue  # confirmed by an earlier link already
                consent = await ctx.uow.consents.add(request.user_id, ConsentRecord(
                    purpose=consent_purpose(topic), text_version=ANNOUNCEMENTS_VERSION, given_by="parent",
                    given_at=now))
                first = first if first is not None else consent.id
            if first is not None:
                await ctx.uow.leads.record_consent(request.token, first)
        child = await profile_of(ctx.uow, request.user_id)
        if child is not None:  # through the outbox: at night it waits for the morning (quiet hours)
            key = "announcements.child_approved" if approved else "announcements.child_declined"
            await ctx.uow.outbox.enqueue(OutboxMessage.to(child, reply(key, topics=names, cap=self.weekly_cap), now,
                                                          f"parent-decision:{request.token}"))
        key = "announcements.parent_thanks" if approved else "announcements.parent_declined"
        return ctx.turn(reply(key, topics=names, cap=self.weekly_cap), state=ConversationState())

    async def _gate(self, ctx: StepContext, token: str) -> ParentRequest | Turn:
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
        refused = refusal(ctx.profile, request)
        if refused is not None:
            return ctx.turn(reply(refused), main_menu(ctx.profile), state=ConversationState())
        return request

    @staticmethod
    async def _requested(ctx: StepContext, request: ParentRequest) -> list[Lead]:
        return [lead for lead in [await ctx.uow.leads.get(i) for i in request.lead_ids] if lead is not None]
