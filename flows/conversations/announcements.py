"""Announcements, the people's side: who says yes to which topic, stops it, taps a button.

    end of onboarding ("Sollen wir dir Bescheid geben?": a button per topic, "Nein danke")
    /einstellungen ─> Benachrichtigungen ─> each topic on / off
        16 and older, parents, others: on = a consent record "announcements:<topic>" (given_by self)
        under 16 (age band u16, or a teen without one): topics chosen ─> "Link für meine Eltern"
            ─> a parent confirms through the same single-use `pc-` link as for a hand-over
               (conversations/leads/parent.py) ─> consent given_by "parent"; the child is told
    "Keine solchen Nachrichten mehr" under an announcement: that topic off, in one tap, from anywhere
    a button of an announcement: the tap is counted, then the user is where it leads (an event page
        with "Erinnere mich", an offer card, a profession page), as if they had pressed that button

Off withdraws the consent (kept with withdrawn_at, for the results and for /meinedaten). Nothing for
companies; people who have not said who they are set that first. Buttons: ANNOUNCEMENTS
(flows/core/payloads.py).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Literal

from pydantic import Field

from flows.conversations.leads.common import PARENT_PREFIX, link_payload, new_token
from flows.conversations.leads.parent import requested_topics
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConsentRecord, ConversationState, FlowContext, Profile, Reply, Turn
from flows.core.payloads import ANNOUNCEMENTS, EVENTS, MENU, ONBOARDING, PROFESSIONS, VACANCIES
from flows.domain.broadcast import (
    CONSENT_VERSION,
    DEFAULT_WEEKLY_CAP,
    OPT_IN_REQUEST,
    AnnouncementButton,
    BroadcastStatus,
    ButtonKind,
    RecipientStatus,
    Topic,
    consent_purpose,
    needs_parent,
)
from flows.domain.lead import ParentRequest

NAME = "announcements"
ROLES = ("teen", "parent", "other")  # who may opt in: not companies; no role yet: say who you are first
PARENT_LINK_VALID = timedelta(days=7)  # as a hand-over's parent link
ALL = "all"  # "Nein danke": no topic
# A recipient whose message went out (or may have: a send that timed out) may tap its buttons.
GOT_IT = (RecipientStatus.SENT, RecipientStatus.UNKNOWN, RecipientStatus.QUEUED)

Press = Callable[[StepContext, str], Awaitable[Turn | None]]


def eligible(profile: Profile) -> bool:
    """Whether this person can get announcements at all."""
    return profile.role in ROLES


def question_buttons(profile: Profile) -> list[list[Button]]:
    """The opt-in question at the end of onboarding: a button per topic and "Nein danke"."""
    if not eligible(profile):
        return []
    rows = [[button("btn.announcements.offer", ANNOUNCEMENTS.pack("set", topic.value, "yes"), topic=topic.value)]
            for topic in Topic]
    return rows + [[button("btn.announcements.no_thanks", ANNOUNCEMENTS.pack("set", ALL, "no"))]]


def _topic(value: str) -> Topic | None:
    try:
        return Topic(value)
    except ValueError:
        return None


class AnnouncementsContext(FlowContext):
    """The opt-in screen between two taps."""

    FLOW = NAME

    back: Literal["settings", "menu"] = "menu"
    chosen: list[Topic] = Field(default_factory=list)  # under 16: topics to ask a parent for


class AnnouncementsFlow:
    name = NAME
    payloads = ANNOUNCEMENTS

    def __init__(self, weekly_cap: int = DEFAULT_WEEKLY_CAP) -> None:
        self.weekly_cap = weekly_cap
        self.press: Press | None = None  # another flow's button, pressed for the user (set by flows/wiring.py)

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        context = AnnouncementsContext(back="settings" if entry == "settings" else "menu")
        return await self._overview(ctx, context)

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(ANNOUNCEMENTS)
        if press is None:
            return None
        if press.action == "stop":
            topic = _topic(press.arg())
            return await self._stop(ctx, topic) if topic is not None else None
        if press.action == "go":
            return await self._go(ctx, press.number(0), press.number(1))
        if not eligible(ctx.profile):
            if ctx.profile.role is None:  # first who they are (a young person under 16 needs a parent)
                rows = [[button("btn.menu.settings", ONBOARDING.pack("settings", "open"))]]
                return ctx.turn(reply("announcements.role_first", rows))
            return None  # companies get no announcements
        context = AnnouncementsContext.of(ctx.state) or AnnouncementsContext()
        if press.action == "open":
            return await self._overview(ctx, AnnouncementsContext(back="settings" if press.arg() == "s" else "menu"))
        if press.action == "set":
            return await self._set(ctx, context, press.arg(0), press.arg(1))
        if press.action == "ask":
            return await self._ask_parent(ctx, context)
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        context = AnnouncementsContext.of(ctx.state)
        return [await self._overview_reply(ctx, context)] if context is not None else []

    # ---- opt-in and opt-out ------------------------------------------------------------------
    async def _consents(self, ctx: StepContext, topic: Topic) -> list[ConsentRecord]:
        if ctx.profile.id is None:
            return []
        return [c for c in await ctx.uow.consents.list_for_user(ctx.profile.id)
                if c.purpose == consent_purpose(topic) and c.withdrawn_at is None]

    async def _on(self, ctx: StepContext) -> set[Topic]:
        """The topics this person gets: an active consent (under 16: given by a parent)."""
        parent = needs_parent(ctx.profile.role, ctx.profile.age_band)
        return {topic for topic in Topic
                if any(c.given_by == "parent" or not parent for c in await self._consents(ctx, topic))}

    async def _waiting(self, ctx: StepContext) -> set[Topic]:
        """Topics of parent links sent and not decided yet."""
        if ctx.profile.id is None:
            return set()
        now = ctx.clock.now()
        return {topic for request in await ctx.uow.leads.parent_requests_for(ctx.profile.id)
                if request.purpose == OPT_IN_REQUEST and request.decided_at is None and request.expires_at > now
                for topic in requested_topics(request)}

    async def _withdraw(self, ctx: StepContext, topic: Topic) -> bool:
        """That topic off; whether something was on."""
        consents = await self._consents(ctx, topic)
        for consent in consents:
            if consent.id is not None:
                await ctx.uow.consents.withdraw(consent.id, ctx.clock.now())
        return bool(consents)

    async def _user_id(self, ctx: StepContext) -> int:
        if ctx.profile.id is None:
            await ctx.uow.users.save(ctx.profile)
        assert ctx.profile.id is not None
        return ctx.profile.id

    async def _set(self, ctx: StepContext, context: AnnouncementsContext, value: str, answer: str) -> Turn | None:
        if value == ALL and answer == "no":  # "Nein danke"
            for each in Topic:
                await self._withdraw(ctx, each)
            rows = [[button("btn.announcements.settings", ANNOUNCEMENTS.pack("open", "m"))]]
            return ctx.turn(reply("announcements.declined", rows), state=ConversationState())
        topic = _topic(value)
        if topic is None or answer not in ("yes", "no"):
            return None
        if answer == "no":
            await self._withdraw(ctx, topic)
            context.chosen = [t for t in context.chosen if t is not topic]
        elif needs_parent(ctx.profile.role, ctx.profile.age_band):
            if topic not in await self._on(ctx) and topic not in context.chosen:
                context.chosen = [t for t in Topic if t in context.chosen or t is topic]
        elif not await self._consents(ctx, topic):
            await ctx.uow.consents.add(await self._user_id(ctx), ConsentRecord(
                purpose=consent_purpose(topic), text_version=CONSENT_VERSION, given_by="self",
                given_at=ctx.clock.now()))
        return await self._overview(ctx, context)

    async def _ask_parent(self, ctx: StepContext, context: AnnouncementsContext) -> Turn:
        """Under 16: the single-use link for a parent, for the topics chosen."""
        on = await self._on(ctx)
        topics = [t for t in context.chosen if t not in on]
        if not needs_parent(ctx.profile.role, ctx.profile.age_band) or not topics:
            return await self._overview(ctx, context)
        now, token = ctx.clock.now(), new_token()
        await ctx.uow.leads.add_parent_request(ParentRequest(
            token=token, user_id=await self._user_id(ctx), purpose=OPT_IN_REQUEST, topics=[t.value for t in topics],
            created_at=now, expires_at=now + PARENT_LINK_VALID))
        return ctx.turn(reply("announcements.parent_link", payload=link_payload(PARENT_PREFIX, token),
                              topics=[t.value for t in topics], days=PARENT_LINK_VALID.days, cap=self.weekly_cap),
                        main_menu(ctx.profile), state=ConversationState())

    async def _stop(self, ctx: StepContext, topic: Topic) -> Turn:
        """ "Keine solchen Nachrichten mehr": that topic off, whatever else is open (which stays open).
        Pressed again, it changes nothing and says the same."""
        await self._withdraw(ctx, topic)
        rows = [[button("btn.announcements.settings", ANNOUNCEMENTS.pack("open", "m"))]]
        return ctx.turn(reply("announcements.stopped", rows, topic=topic.value))

    # ---- the screen ----------------------------------------------------------------------------
    async def _overview_reply(self, ctx: StepContext, context: AnnouncementsContext) -> Reply:
        on, waiting = await self._on(ctx), await self._waiting(ctx)
        parent = needs_parent(ctx.profile.role, ctx.profile.age_band)
        rows: list[list[Button]] = []
        for topic in Topic:
            if topic in on:
                setting, answer = "on", "no"
            elif topic in context.chosen:
                setting, answer = "chosen", "no"
            else:
                setting, answer = ("waiting" if topic in waiting else "off"), "yes"
            rows.append([button("btn.announcements.topic", ANNOUNCEMENTS.pack("set", topic.value, answer),
                                topic=topic.value, setting=setting)])
        if parent and any(t not in on for t in context.chosen):
            rows.append([button("btn.announcements.ask_parent", ANNOUNCEMENTS.pack("ask"))])
        if context.back == "settings":
            rows.append([button("btn.announcements.back", ONBOARDING.pack("settings", "open"))])
        else:
            rows.append([button("btn.menu.back", MENU.pack("open"))])
        return reply("announcements.overview", rows, cap=self.weekly_cap, parent=parent,
                     topics=[t.value for t in Topic if t in on])

    async def _overview(self, ctx: StepContext, context: AnnouncementsContext) -> Turn:
        return ctx.turn(await self._overview_reply(ctx, context), state=context.at("overview"))

    # ---- a tap on an announcement's button -----------------------------------------------------
    async def _go(self, ctx: StepContext, broadcast_id: int | None, index: int | None) -> Turn:
        """Counted (the first tap of a recipient), then where the button leads. An old button (a
        cancelled or unknown announcement) or one of someone who did not get it: no harm, a note."""
        target = await self._target(ctx, broadcast_id, index)
        if target is None or ctx.profile.id is None or broadcast_id is None:
            return ctx.turn(reply("announcements.stale"), main_menu(ctx.profile))
        await ctx.uow.broadcasts.record_tap(broadcast_id, ctx.profile.id, ctx.clock.now())
        data = {ButtonKind.EVENT: EVENTS.pack("y", target.ref),  # "Ich komme": reminders planned at once
                ButtonKind.OFFER: VACANCIES.pack("o", target.ref),
                ButtonKind.PROFESSION: PROFESSIONS.pack("show", target.ref)}.get(target.kind)
        turn = await self.press(ctx, data) if data is not None and self.press is not None else None
        return turn if turn is not None else ctx.turn(reply("announcements.gone"), main_menu(ctx.profile))

    async def _target(self, ctx: StepContext, broadcast_id: int | None, index: int | None) -> AnnouncementButton | None:
        if broadcast_id is None or index is None or ctx.profile.id is None:
            return None
        broadcast = await ctx.uow.broadcasts.get(broadcast_id)
        if broadcast is None or broadcast.status is BroadcastStatus.CANCELLED or index >= len(broadcast.buttons):
            return None
        recipient = await ctx.uow.broadcasts.recipient(broadcast_id, ctx.profile.id)
        if recipient is None or recipient.status not in GOT_IT:
            return None
        chosen = broadcast.buttons[index]
        return None if chosen.kind is ButtonKind.LINK else chosen  # a link opens outside: never a press
