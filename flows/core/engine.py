"""load conversation -> route to a flow step -> save state, profile and processed update in one transaction."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from flows.core.context import StepContext
from flows.core.locks import Changes, KeyedLock
from flows.core.model import ConversationState, Event, EventKind, Profile, Reply, Turn, UserRef
from flows.core.payloads import prefix_of
from flows.core.ports import Clock, Fallback, Flow, PlaceDirectory, StaleState, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

MAX_STALE_RETRIES = 5
# An update claimed (or handled) this long ago whose replies have not gone out: its worker is taken for
# dead, and a redelivery handles it (or sends its stored replies). Longer than any send with its retries.
CLAIM_TIMEOUT = timedelta(seconds=60)
# How long an update waits for an earlier one of its chat (handled or answered by another worker)
# before it goes ahead all the same: order matters, but not more than answering at all.
ORDER_WAIT_SECONDS = 15.0
ORDER_POLL_SECONDS = (0.005, 0.1)  # first and longest pause between two looks at the database
LAST_SEEN_RESOLUTION = timedelta(hours=1)  # enough for the 12-month retention; saves a write per tap


@dataclass(frozen=True)
class Route:
    """Where a command leads.

    agents_only: for cluster agents; anyone else is told the command is unknown.
    while_asking: what the command does while onboarding's questions are open – "go": leave them
    (/start resumes them itself, /abbrechen ends them); "aside": answer, then ask the open question
    again (/hilfe, /datenschutz); "later": the questions first, then the command (/stellen).
    """

    flow: str
    entry: str
    agents_only: bool = False
    while_asking: Literal["go", "aside", "later"] = "later"


@dataclass(frozen=True)
class Guess:
    """What free text most likely meant: buttons to press for the user (in order, e.g. a profession,
    then a kind of offer), or a turn of its own (a choice between several meanings)."""

    presses: tuple[str, ...] = ()
    turn: Turn | None = None


class Understanding(Fallback, Protocol):
    async def understand(self, ctx: StepContext) -> Guess | None:
        """What free text no flow expected most likely means; None when nothing fits."""
        ...


class Gate(Protocol):
    """The flow whose questions come first (onboarding): a command typed meanwhile does not abandon them."""

    def holds(self, ctx: StepContext) -> bool:
        """Whether one of its questions is open for this user."""
        ...

    async def reprompt(self, ctx: StepContext) -> list[Reply]: ...

    async def defer(self, ctx: StepContext, command: str) -> Turn:
        """Remember the command for after the questions; ask the open question again."""
        ...


@dataclass
class Outcome:
    """What the channel must send; `duplicate` when the update was handled before."""

    replies: list[Reply] = field(default_factory=list)
    locale: str = "de"
    formal: bool = False
    duplicate: bool = False
    # An earlier update of the chat was still open when this one was claimed: its answers wait their
    # turn (turn_to_send). False only when the claim found none, which spares the wait's query.
    earlier_open: bool = True


class Engine:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        places: PlaceDirectory,
        clock: Clock,
        flows: list[Flow],
        commands: Mapping[str, Route],
        fallback: Understanding,
        admins: frozenset[tuple[str, int]] = frozenset(),
        gate: Gate | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._places = places
        self._clock = clock
        self._flows = {f.name: f for f in flows}
        self._by_prefix = {f.payloads.prefix: f for f in flows}
        self._commands = commands
        self._fallback = fallback
        self._locks = KeyedLock()
        self._changes = Changes()  # an update of this process handled or answered: waiters look again
        self._admins = admins
        self._gate = gate

    @property
    def admins(self) -> frozenset[tuple[str, int]]:
        return self._admins

    async def handle(self, event: Event) -> Outcome:
        """Process one event exactly once, also with several workers: the update is claimed first (its
        own committed write); a worker that finds it claimed sends nothing, unless the claim is older
        than CLAIM_TIMEOUT and unanswered (its worker died): then it takes it over.

        In order per chat, also across workers: an update waits until the chat's earlier claimed
        updates are handled (e.g. Telegram redelivered a slow one to another worker and moved on)."""
        earlier_open = True
        if event.update_id is not None:
            claimed = await self._claim(event, event.update_id)
            if isinstance(claimed, Outcome):
                return claimed
            earlier_open = claimed
            if earlier_open:  # outside the per-user lock: the earlier update may wait for it in this process
                await self._wait_for_earlier(event, event.update_id, unhandled_only=True)
        async with self._locks.hold(event.user.key):
            for _ in range(MAX_STALE_RETRIES):
                try:
                    outcome = await self._process(event)
                    break
                except StaleState:
                    log.info("conversation changed concurrently, retrying update %s", event.update_id)
            else:
                outcome = await self._process(event)
        outcome.earlier_open = earlier_open
        return outcome

    async def resume(self, user: UserRef) -> Outcome:
        """Show a returning user the open question (or the menu); a new user gets /start."""
        event = Event(user=user, kind=EventKind.COMMAND, text="start")
        async with self._locks.hold(user.key):
            async with self._uow_factory() as uow:
                profile = await uow.users.get(user.channel, user.chat_id)
                if profile is not None and profile.id is not None:
                    state = await uow.conversations.get(profile.id)
                    ctx = StepContext(event, profile, state, uow, self._places, self._clock)
                    current = self._flows.get(state.flow or "")
                    replies = await current.reprompt(ctx) if current else []
                    replies = replies or await self._fallback.reprompt(ctx)
                    return Outcome(replies=replies, locale=profile.locale, formal=profile.formal)
        return await self.handle(event)

    async def unanswered(self, channel: str, since: datetime, limit: int = 1000,
                         abandoned_only: bool = False) -> list[tuple[Event, Outcome]]:
        """Stored replies that never went out (the process died between storing and sending), as
        events and outcomes to send now; `mark_answered` afterwards, as for a live update.
        abandoned_only: with several workers, only those stored longer than CLAIM_TIMEOUT ago (a live
        worker may be sending the others), each taken over by this worker alone."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            rows = await uow.updates.unanswered(channel, since, limit)
            if abandoned_only:
                rows = [r for r in rows if r.processed_at is not None and now - r.processed_at >= CLAIM_TIMEOUT
                        and await uow.updates.take_over(channel, r.update_id, r.processed_at, now)]
                await uow.commit()
        return [(Event(user=UserRef(channel=channel, chat_id=row.chat_id), kind=EventKind.TEXT,
                       update_id=row.update_id),
                 Outcome(replies=row.replies, locale=row.locale, formal=row.formal)) for row in rows]

    async def mark_answered(self, event: Event) -> None:
        if event.update_id is None:
            return
        async with self._uow_factory() as uow:
            await uow.updates.mark_answered(event.user.channel, event.update_id)
            await uow.commit()
        self._changes.notify()

    async def turn_to_send(self, event: Event, outcome: Outcome) -> None:
        """Wait until the replies of the chat's earlier updates went out (by any worker), so that a
        chat sees its answers in the order of its updates."""
        if event.update_id is not None and outcome.earlier_open:
            await self._wait_for_earlier(event, event.update_id, unhandled_only=False)

    async def _wait_for_earlier(self, event: Event, update_id: int, unhandled_only: bool) -> None:
        """Until no earlier update of the chat claimed within CLAIM_TIMEOUT is open (unhandled_only:
        still being handled), at most ORDER_WAIT_SECONDS. This process's own changes wake it at once;
        other workers' are seen by looking again, less often the longer it waits."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + ORDER_WAIT_SECONDS
        pause, longest = ORDER_POLL_SECONDS
        channel, chat_id = event.user.channel, event.user.chat_id
        while True:
            change = self._changes.next()  # taken before looking: a change meanwhile is not missed
            async with self._uow_factory() as uow:
                since = self._clock.now() - CLAIM_TIMEOUT
                if not await uow.updates.open_before(channel, chat_id, update_id, since, unhandled_only):
                    return
            if loop.time() >= give_up:
                log.warning("update %s goes ahead of an earlier one of its chat still open after %.0f s",
                            update_id, ORDER_WAIT_SECONDS)
                return
            await change.wait(pause)
            pause = min(longest, pause * 2)

    async def _claim(self, event: Event, update_id: int) -> Outcome | bool:
        """A bool: this worker handles the update; True if an earlier update of the chat is still open
        (it must wait its turn). An Outcome: what a duplicate sends: nothing, or the stored replies of
        a worker that died before sending them."""
        channel, now = event.user.channel, self._clock.now()
        async with self._uow_factory() as uow:
            if await uow.updates.claim(channel, update_id, event.user.chat_id, now):
                earlier_open = await uow.updates.open_before(channel, event.user.chat_id, update_id,
                                                             now - CLAIM_TIMEOUT, unhandled_only=False)
                await uow.commit()
                return earlier_open
            seen = await uow.updates.get(channel, update_id)
            if seen is None:  # purged since: far too old to handle again
                return Outcome(duplicate=True)
            nothing = Outcome(locale=seen.locale, formal=seen.formal, duplicate=True)
            if seen.answered or now - seen.processed_at < CLAIM_TIMEOUT:
                return nothing  # answered, or its worker is at it
            if not await uow.updates.take_over(channel, update_id, seen.processed_at, now):
                return nothing  # another worker took it over first
            await uow.commit()
        if seen.replies is None:
            log.info("update %s: its worker died before handling it; handling it here", update_id)
            return True
        return Outcome(replies=list(seen.replies), locale=seen.locale, formal=seen.formal, duplicate=True)

    async def _process(self, event: Event) -> Outcome:
        async with self._uow_factory() as uow:
            if event.kind in (EventKind.BLOCKED, EventKind.UNBLOCKED):
                return await self._membership(uow, event)
            profile = await uow.users.get(event.user.channel, event.user.chat_id)
            if profile is None:
                profile = Profile(
                    channel=event.user.channel,
                    chat_id=event.user.chat_id,
                    locale="en" if (event.user.language_code or "").startswith("en") else "de",
                    created_at=self._clock.now(),
                )
            state = await uow.conversations.get(profile.id) if profile.id else ConversationState()
            loaded = profile.model_copy() if profile.id else None
            ctx = StepContext(event, profile, state, uow, self._places, self._clock,
                              admin=(event.user.channel, event.user.chat_id) in self._admins, admins=self._admins)
            try:
                turn = await self._route(ctx)
            except StaleState:
                raise
            except Exception:
                log.exception("flow failed on update %s (%s)", event.update_id, event.kind)
                turn = None  # apologise below, in a fresh transaction
            if turn is not None:
                return await self._save(uow, event, profile, loaded, turn)
        return await self._apologise(event)

    async def _save(self, uow: UnitOfWork, event: Event, profile: Profile, loaded: Profile | None,
                    turn: Turn) -> Outcome:
        now = self._clock.now()
        if profile.last_seen_at is None or now - profile.last_seen_at >= LAST_SEEN_RESOLUTION:
            profile.last_seen_at = now
        profile.active = True  # whoever writes to us has not blocked the bot (any more)
        if turn.delete_user:
            if profile.id is not None:
                await uow.users.delete(profile.id)
        else:
            if profile != loaded:  # most button presses change only the conversation
                profile = await uow.users.save(profile)
            assert profile.id is not None
            await uow.conversations.save(profile.id, turn.state)
        if event.update_id is not None:
            await uow.updates.add(event.user.channel, event.update_id, turn.replies, profile.locale,
                                  profile.formal, chat_id=event.user.chat_id)
        await uow.commit()
        self._changes.notify()
        return Outcome(replies=turn.replies, locale=profile.locale, formal=profile.formal)

    async def _membership(self, uow: UnitOfWork, event: Event) -> Outcome:
        """The user blocked the bot (nothing goes to them any more: inactive, pending messages
        dropped) or unblocked it (active again; their opt-ins stay as they were). Never answered."""
        channel, chat_id = event.user.channel, event.user.chat_id
        profile = await uow.users.get(channel, chat_id)
        if event.kind is EventKind.BLOCKED:
            await uow.users.mark_inactive(channel, chat_id)
            await uow.outbox.drop_pending_for(channel, chat_id, "blocked by the user")
        elif profile is not None and not profile.active:
            profile.active = True
            await uow.users.save(profile)
        locale, formal = (profile.locale, profile.formal) if profile is not None else ("de", False)
        if event.update_id is not None:
            await uow.updates.add(channel, event.update_id, [], locale, formal, chat_id=chat_id)
        await uow.commit()
        self._changes.notify()
        return Outcome(locale=locale, formal=formal)

    async def press(self, ctx: StepContext, data: str) -> Turn | None:
        """Handle `data` as if the user had pressed that button of its flow (free text that names
        something, an announcement's button that leads to an event); None when no flow takes it."""
        flow = self._by_prefix.get(prefix_of(data))
        if flow is None:
            return None
        event = ctx.event.model_copy(update={"kind": EventKind.BUTTON, "data": data})
        return await flow.handle(dataclasses.replace(ctx, event=event))

    async def enter(self, ctx: StepContext, command: str) -> Turn | None:
        """Run a command for the user (e.g. the one they typed during onboarding, once it is done);
        None for an unknown one or one they may not use."""
        route = self._route_of(ctx, command)
        return await self._flows[route.flow].start(ctx, route.entry) if route is not None else None

    def _route_of(self, ctx: StepContext, command: str) -> Route | None:
        route = self._commands.get(command.lower())
        if route is None or (route.agents_only and not ctx.admin):
            return None
        return route

    async def _route(self, ctx: StepContext) -> Turn:
        event = ctx.event
        if event.kind is EventKind.COMMAND:
            name = (event.text or "").lower()
            route = self._route_of(ctx, name)
            if route is None:
                return await self._not_understood(ctx)
            if self._gate is not None and route.while_asking != "go" and self._gate.holds(ctx):
                if route.while_asking == "later":
                    return await self._gate.defer(ctx, name)
                return await self._aside(ctx, self._gate, route)
            return await self._flows[route.flow].start(ctx, route.entry)
        if ctx.profile.id is None and ctx.state.flow is None:
            # A first contact without /start (e.g. "hallo") starts onboarding all the same.
            start = self._commands["start"]
            return await self._flows[start.flow].start(ctx, start.entry)
        if event.kind is EventKind.BUTTON:
            flow = self._by_prefix.get(prefix_of(event.data))
        else:
            flow = self._flows.get(ctx.state.flow or "")
        if flow is not None:
            turn = await flow.handle(ctx)
            if turn is not None:
                return turn
        return await self._not_understood(ctx)

    async def _aside(self, ctx: StepContext, gate: Gate, route: Route) -> Turn:
        """Answer a command without leaving the open question: its answer, then the question again
        (not the main menu). A command that opens a question of its own ("really delete?") goes on."""
        turn = await self._flows[route.flow].start(ctx, route.entry)
        if turn.state.flow is not None and turn.state != ctx.state:
            return turn
        menu = {r.key for r in await self._fallback.reprompt(ctx)}
        replies = [r for r in turn.replies if r.key not in menu]
        return ctx.turn(*replies, *await gate.reprompt(ctx), delete_user=turn.delete_user)

    async def _guessed(self, ctx: StepContext) -> Turn | None:
        """Free text that names something (a profession, a town, a menu entry): take the user there,
        as if they had pressed the buttons on the way."""
        guess = await self._fallback.understand(ctx)
        if guess is None:
            return None
        if guess.turn is not None:
            return guess.turn
        turn: Turn | None = None
        current = ctx
        for data in guess.presses:
            turn = await self.press(current, data)
            if turn is None:
                return None
            current = dataclasses.replace(current, state=turn.state)
        return turn

    async def _not_understood(self, ctx: StepContext) -> Turn:
        """Explain, then repeat the open question (or the menu) so the user can go on."""
        if ctx.event.kind is EventKind.TEXT:
            guessed = await self._guessed(ctx)
            if guessed is not None:
                return guessed
        current = self._flows.get(ctx.state.flow or "")
        again = await current.reprompt(ctx) if current else []
        return ctx.turn(self._fallback.explain(ctx), *(again or await self._fallback.reprompt(ctx)))

    async def _apologise(self, event: Event) -> Outcome:
        """A failed step: apologise, show the menu, and keep the update from failing again."""
        async with self._uow_factory() as uow:
            profile = await uow.users.get(event.user.channel, event.user.chat_id)
            locale = profile.locale if profile else "de"
            formal = profile.formal if profile else False
            ctx = StepContext(event, profile or Profile(channel=event.user.channel, chat_id=event.user.chat_id),
                              ConversationState(), uow, self._places, self._clock)
            turn = await self._fallback.start(ctx, "apology")
            if profile is not None and profile.id is not None:
                state = await uow.conversations.get(profile.id)
                await uow.conversations.save(profile.id, ConversationState(version=state.version))
            if event.update_id is not None:
                await uow.updates.add(event.user.channel, event.update_id, turn.replies, locale, formal,
                                      chat_id=event.user.chat_id)
            await uow.commit()
            self._changes.notify()
            return Outcome(replies=turn.replies, locale=locale, formal=formal)
