"""Messen & Termine: events near the user and for them, RSVP with reminders, .ics, "Wie war's?".

    list ──> event page ──"Erinnere mich"──> reminders planned (7 d, 1 d, 2 h by default; changeable)
                        ──"Kalender"──> .ics file (with buttons back)   "Nicht mehr erinnern" cancels them

"Erinnere mich" (an RSVP) is a reminder for the user, not a registration: nobody else learns of it
except a cluster agent, who sees how many people of their cluster's events noted each (counts only,
never who). Events that take registrations (`registration_url` in the pack) show where to register.
Events only for pupils are hidden from people who have left school (matching.pupils_only_offers).
Reminders and the feedback question go through the outbox (never sent from here).
Buttons: EVENTS in flows/core/payloads.py.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConversationState, Document, Profile, Reply, Turn
from flows.core.payloads import COMPANIES, EVENTS, LEADS, MENU
from flows.core.ports import UnitOfWork
from flows.delivery.outbox import OutboxMessage
from flows.domain.content import EventInfo, Rsvp
from flows.domain.geo import distance_km
from flows.domain.ics import event_ics, ics_filename
from flows.domain.labels import short_label
from flows.domain.matching import HIDE, LAST, pupils_only_offers
from flows.domain.reminders import DEFAULT_OFFSETS, FEEDBACK, OFFSET_MENU, plan_event, replan, toggle_offset

NAME = "events"
ZONE = "Europe/Berlin"
NEAR_KM = 50.0  # events this close count as "near" even in another cluster's region
LIST_SIZE = 8
UID_DOMAIN = "azubi-lotse.de"


def when(event: EventInfo) -> dict[str, object]:
    """Date and time in Europe/Berlin, as values for the texts."""
    zone = ZoneInfo(ZONE)
    start, end = event.starts.astimezone(zone), event.ends.astimezone(zone)
    return {"weekday": start.weekday(), "date": start.strftime("%d.%m.%Y"), "time": start.strftime("%H:%M"),
            "end_time": end.strftime("%H:%M"), "end_date": end.strftime("%d.%m.%Y")}


def audience_fits(event: EventInfo, profile: Profile) -> bool:
    if profile.role == "parent":
        return event.audience in ("parents", "both")
    if profile.role == "teen":
        return event.audience in ("teens", "both")
    return True


def pupils_may_see(event: EventInfo, profile: Profile) -> bool:
    """False for an event only for pupils and someone who has left school."""
    return not event.pupils_only or pupils_only_offers(profile.role, profile.age_band, profile.school_status) != HIDE


class EventsFlow:
    name = NAME
    payloads = EVENTS

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        if ctx.admin and ctx.profile.cluster:
            return await self._agent_list(ctx, ctx.profile.cluster)
        events = await self._relevant(ctx)
        if not events:
            return ctx.turn(reply("events.none", [[button("btn.menu.back", MENU.pack("open"))]]), state=ConversationState())
        going = await self._going(ctx)
        rows = [[button("btn.events.item", EVENTS.pack("s", e.slug), title=short_label(e.title), going=e.slug in going,
                        **when(e))] for e, _ in events]
        rows.append([button("btn.menu.back", MENU.pack("open"))])
        items = [{"title": e.title, "place": e.place, "km": km, "cancelled": e.cancelled, "going": e.slug in going,
                  "pupils_only": e.pupils_only, **when(e)} for e, km in events]
        return ctx.turn(reply("events.list", rows, items=items, count=len(items)),
                        state=ConversationState(flow=NAME, step="list"))

    async def _going(self, ctx: StepContext) -> set[str]:
        """The events the user asked to be reminded of."""
        return {r.event for r in await ctx.uow.events.rsvps(ctx.profile.id)} if ctx.profile.id else set()

    async def _agent_list(self, ctx: StepContext, cluster: str) -> Turn:
        """A cluster agent's /termine: their cluster's events with how many people noted each.

        Counts only: users agreed to reminders, not to being named to anyone."""
        events = [e for e in await ctx.uow.events.upcoming(ctx.clock.now()) if e.cluster == cluster]
        events.sort(key=lambda e: e.starts)
        going = await self._going(ctx)
        items = [{"title": e.title, "place": e.place, "km": None, "cancelled": e.cancelled, "going": e.slug in going,
                  "pupils_only": e.pupils_only, "rsvps": len(await ctx.uow.events.attendees(e.slug)), **when(e)}
                 for e in events]
        rows = [[button("btn.events.item", EVENTS.pack("s", e.slug), title=short_label(e.title), going=e.slug in going,
                        **when(e))] for e in events[:LIST_SIZE * 2]]
        rows.append([button("btn.menu.back", MENU.pack("open"))])
        info = await ctx.uow.content.cluster(cluster)
        return ctx.turn(reply("events.agent_list", rows, items=items, count=len(items),
                              cluster=info.name if info else cluster),
                        state=ConversationState(flow=NAME, step="list"))

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(EVENTS)
        if press is None:
            return None
        action, slug, extra = press.action, press.arg(0), press.arg(1)
        if action == "open":
            return await self.start(ctx, "events")
        event = await ctx.uow.events.get(slug) if slug else None
        if event is None:
            return None
        if action == "s":
            return ctx.turn(await self._page(ctx, event), state=ConversationState(flow=NAME, step="page"))
        if action == "c":
            return ctx.turn(self._calendar(ctx, event), state=ConversationState(flow=NAME, step="page"))
        if action == "f" and extra in ("1", "2", "3", "4", "5"):
            user_id = await self._user_id(ctx)
            await ctx.uow.events.save_feedback(user_id, event.slug, int(extra), ctx.clock.now())
            return ctx.turn(reply("events.thanks", stars=int(extra), title=event.title))
        if action in ("y", "x", "r", "t"):
            return await self._rsvp_action(ctx, event, action, extra)
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return (await self.start(ctx, "events")).replies

    # ---- listing and page ----------------------------------------------------------------
    async def _relevant(self, ctx: StepContext) -> list[tuple[EventInfo, int | None]]:
        profile = ctx.profile
        home = ctx.home
        chosen: list[tuple[EventInfo, int | None]] = []
        last = pupils_only_offers(profile.role, profile.age_band, profile.school_status) == LAST
        for event in await ctx.uow.events.upcoming(ctx.clock.now()):
            if event.cancelled or not audience_fits(event, profile) or not pupils_may_see(event, profile):
                continue
            km = distance_km(home.lat, home.lon, event.lat, event.lon) if home else None
            near = km is not None and km <= NEAR_KM
            if near or event.cluster == profile.cluster or (home is None and profile.cluster is None):
                chosen.append((event, round(km) if km is not None else None))
        # Soonest first; for adults who may have left school, events only for pupils after the others.
        chosen.sort(key=lambda pair: (last and pair[0].pupils_only, pair[0].starts))
        return chosen[:LIST_SIZE]

    async def _page(self, ctx: StepContext, event: EventInfo, new: bool = False) -> Reply:
        """The event; `new`: the user has just asked for reminders (the note above says so already)."""
        profile = ctx.profile
        rsvp = await ctx.uow.events.rsvp(profile.id, event.slug) if profile.id else None
        home = ctx.home
        km = round(distance_km(home.lat, home.lon, event.lat, event.lon)) if home else None
        rows: list[list[Button]] = []
        if not event.cancelled:
            if rsvp is None:
                rows.append([button("btn.events.rsvp", EVENTS.pack("y", event.slug))])
            else:
                rows.append([button("btn.events.reminders", EVENTS.pack("r", event.slug)),
                             button("btn.events.cancel", EVENTS.pack("x", event.slug))])
            rows.append([button("btn.events.calendar", EVENTS.pack("c", event.slug))])
            if event.companies:
                rows.append([button("btn.vacancies.interested", LEADS.pack("e", event.slug))])
        if len(event.company_slugs) == 1:  # straight to its page; several: a list of them
            rows.append([button("btn.events.company", COMPANIES.pack("s", event.company_slugs[0]), name=event.companies[0])])
        elif event.company_slugs:
            rows.append([button("btn.events.companies", COMPANIES.pack("e", event.slug, "0"), count=len(event.company_slugs))])
        rows.append([button("btn.events.all", EVENTS.pack("open")), button("btn.menu.back", MENU.pack("open"))])
        own_cluster = ctx.admin and profile.cluster == event.cluster
        rsvps = len(await ctx.uow.events.attendees(event.slug)) if own_cluster else None
        return reply("events.page", rows, title=event.title, format=event.format, place=event.place,
                     address=event.address, km=km, description=event.description, companies=event.companies,
                     audience=event.audience, cancelled=event.cancelled, going=rsvp is not None,
                     offsets=rsvp.offsets if rsvp else [], new=new, registration=event.registration_url,
                     pupils_only=event.pupils_only, rsvps=rsvps, **when(event))

    def _calendar(self, ctx: StepContext, event: EventInfo) -> Reply:
        location = ", ".join(x for x in (event.address, f"{event.plz} {event.place}") if x)
        content = event_ics(f"{event.slug}@{UID_DOMAIN}", event.title, event.description, location,
                            event.starts, event.ends, now_utc=ctx.clock.now(), cancelled=event.cancelled,
                            sequence=event.sequence)
        document = Document(filename=ics_filename(event.title), content=content, mime_type="text/calendar")
        rows = [[button("btn.events.back_to_event", EVENTS.pack("s", event.slug)),
                 button("btn.events.all", EVENTS.pack("open"))], [button("btn.menu.back", MENU.pack("open"))]]
        return reply("events.calendar", rows, title=event.title).model_copy(update={"document": document})

    # ---- RSVP and reminders --------------------------------------------------------------
    @staticmethod
    async def _user_id(ctx: StepContext) -> int:
        if ctx.profile.id is None:
            await ctx.uow.users.save(ctx.profile)
        assert ctx.profile.id is not None
        return ctx.profile.id

    async def _rsvp_action(self, ctx: StepContext, event: EventInfo, action: str, arg: str) -> Turn | None:
        user_id = await self._user_id(ctx)
        current = await ctx.uow.events.rsvp(user_id, event.slug)
        state = ConversationState(flow=NAME, step="page")
        if action == "y":
            if event.cancelled:
                return None
            if current is None:
                current = Rsvp(event=event.slug, offsets=list(DEFAULT_OFFSETS), created_at=ctx.clock.now())
                await ctx.uow.events.save_rsvp(user_id, current)
                await schedule(ctx.uow, ctx.profile, event, None, current, ctx.clock.now())
            note = reply("events.going", title=event.title, offsets=current.offsets,
                         registration=event.registration_url)
            return ctx.turn(note, await self._page(ctx, event, new=True), state=state)
        if current is None:
            return None  # a button of an RSVP that is gone
        if action == "x":
            await ctx.uow.events.cancel_rsvp(user_id, event.slug)
            await schedule(ctx.uow, ctx.profile, event, current, None, ctx.clock.now())
            return ctx.turn(reply("events.not_going", title=event.title), await self._page(ctx, event), state=state)
        if action == "t":
            if arg == "off":
                offsets: list[str] = []
            elif arg == "default":
                offsets = list(DEFAULT_OFFSETS)
            elif arg in OFFSET_MENU:
                offsets = list(toggle_offset(current.offsets, arg))
            else:
                return None
            changed = current.model_copy(update={"offsets": offsets})
            await ctx.uow.events.save_rsvp(user_id, changed)
            await schedule(ctx.uow, ctx.profile, event, current, changed, ctx.clock.now())
            current = changed
        rows = [[button("btn.events.offset", EVENTS.pack("t", event.slug, code), code=code, chosen=code in current.offsets)
                 for code in OFFSET_MENU],
                [button("btn.events.reminders_off", EVENTS.pack("t", event.slug, "off")),
                 button("btn.events.reminders_default", EVENTS.pack("t", event.slug, "default"))],
                [button("btn.events.back_to_event", EVENTS.pack("s", event.slug))]]
        return ctx.turn(reply("events.reminders", rows, title=event.title, offsets=current.offsets), state=state)


async def schedule(uow: UnitOfWork, profile: Profile, event: EventInfo, before: Rsvp | None,
                   after: Rsvp | None, now: datetime, old_event: EventInfo | None = None) -> None:
    """Bring the outbox in line with an RSVP (new, changed, withdrawn) or a moved event."""
    assert profile.id is not None
    was = old_event or event
    old = plan_event(profile.id, was.slug, was.starts, was.ends, before.offsets, now=None) \
        if before is not None and not was.cancelled else []
    new = plan_event(profile.id, event.slug, event.starts, event.ends, after.offsets, now=now) \
        if after is not None and not event.cancelled else []
    change = replan(old, new)
    await uow.outbox.cancel(change.cancel)
    for planned in change.enqueue:
        if planned.kind == FEEDBACK:
            stars = [[button("btn.events.star", EVENTS.pack("f", event.slug, n), stars=n) for n in range(1, 6)]]
            message = reply("events.feedback", stars, title=event.title)
        else:
            message = reply("events.reminder", [[button("btn.events.calendar", EVENTS.pack("c", event.slug)),
                                                 button("btn.events.cancel", EVENTS.pack("x", event.slug))]],
                            title=event.title, offset=planned.offset, place=event.place, **when(event))
        await uow.outbox.enqueue(OutboxMessage.to(profile, message, planned.due_utc, planned.key,
                                                  expires_at=planned.expires_utc))


async def announce_change(uow: UnitOfWork, old: EventInfo, new: EventInfo, now: datetime) -> int:
    """A loaded pack moved or cancelled an event: tell everyone who is coming and re-plan reminders."""
    told = 0
    for profile, rsvp in await uow.events.attendees(new.slug):
        key = f"event-change:{profile.id}:{new.slug}:{new.sequence}:{'x' if new.cancelled else 'm'}"
        buttons = [] if new.cancelled else [[button("btn.events.calendar", EVENTS.pack("c", new.slug))]]
        message = reply("events.cancelled" if new.cancelled else "events.changed", buttons, title=new.title,
                        place=new.place, **when(new))
        if await uow.outbox.enqueue(OutboxMessage.to(profile, message, now, key)):
            told += 1
        await schedule(uow, profile, new, rsvp, rsvp, now, old_event=old)
    return told
