"""/broadcast: cluster agents announce fairs, offers and news to the people of their cluster who
said yes to that topic. The rules live in flows/delivery/broadcast_service.py (rights, limits,
approval); this is the Telegram wizard on top of it. Agent texts say "Sie".

    /broadcast ──> the cluster's announcements (status, progress, results) ──"Neue Ankündigung"──>
      topic ──> audience (role, age, radius around a town or an event, interests, school, RSVP,
      active lately; the live count on every screen) ──> du text ──> Sie text (when parents are in
      the audience) ──> picture (optional) ──> buttons ──> preview exactly as recipients see it
      ──> test to me / send now / plan ("13.03. 09:00") ──> confirm ──> scheduled, or waiting for a
      second agent's approval ("Freigeben" in their /broadcast)
    one announcement ──> details, history; edit (until it starts), cancel; pause/resume while it runs

The draft is stored from the first step on (it is in the list as "Entwurf"); the wizard's context
holds only its id and what the open screen offered. Buttons: BROADCASTS in flows/core/payloads.py.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import Field

from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConversationState, EventKind, FlowContext, Reply, Turn
from flows.core.payloads import BROADCASTS, MENU
from flows.delivery.broadcast_service import (
    ZONE,
    Actor,
    BroadcastService,
    Problem,
    Progress,
    Refused,
    needs_du,
    needs_sie,
    parse_local,
    problems,
)
from flows.domain.broadcast import (
    DEFAULT_WEEKLY_CAP,
    AnnouncementButton,
    Audience,
    AudienceCount,
    Broadcast,
    BroadcastStatus,
    ButtonKind,
    Topic,
)
from flows.domain.places import places_named

NAME = "broadcasts"
LIST_MAX = 10
PICK_MAX = 12  # events, offers, professions to choose from
HISTORY_MAX = 8
ROLES = {"teen": ["teen"], "parent": ["parent"], "both": ["teen", "parent"]}
AGE_BANDS = ("u16", "16_17", "18plus")
SCHOOL_STATUSES = ("pupil", "hauptschule", "mittlere_reife", "abitur", "none")
RADII = (10, 25, 50)
DEFAULT_RADIUS = 25
ACTIVE_DAYS = (7, 30, 90)
MAX_LINK_LABEL = 40

# The steps of composing, in order; each is asked by `_ask` and answered in `_on_text` / the presses.
STEPS = ("audience", "text_du", "text_sie", "picture", "buttons", "preview")


class Wizard(FlowContext):
    """The open screen of one agent: which announcement, and what a numbered choice means."""

    FLOW = NAME

    broadcast: int
    step: str = "audience"  # one of STEPS, or place / pick / fields / link / when / confirm
    picking: str | None = None  # near_event, rsvp_yes, rsvp_no, button_event, button_offer, button_profession
    choices: list[str] = Field(default_factory=list)
    send_at: datetime | None = None  # the confirm step: when (None: now)


class BroadcastsFlow:
    name = NAME
    payloads = BROADCASTS

    def __init__(self, approval_minors: int | None = None, weekly_cap: int = DEFAULT_WEEKLY_CAP) -> None:
        self.approval_minors = approval_minors
        self.weekly_cap = weekly_cap
        Press = Callable[[StepContext, Wizard, Broadcast, str], Awaitable[Turn]]
        # Presses inside the wizard (they act on the announcement being composed).
        self._wizard: dict[str, Press] = {
            "role": self._role, "age": self._age, "near": self._near, "radius": self._radius,
            "fields": self._fields_screen, "field": self._field, "school": self._school, "rsvp": self._rsvp,
            "active": self._active, "pick": self._pick, "next": self._next, "back": self._back, "to": self._to,
            "same": self._same, "nopic": self._nopic, "add": self._add, "clear": self._clear,
            "test": self._test, "now": self._now, "plan": self._plan, "go": self._go,
        }

    def service(self, ctx: StepContext) -> BroadcastService:
        return BroadcastService(ctx.uow, ctx.clock.now(), self.approval_minors, self.weekly_cap)

    @staticmethod
    def actor(ctx: StepContext) -> Actor:
        return Actor.of(ctx.profile, ctx.admin)

    # ---- entry and list -------------------------------------------------------------------------
    async def start(self, ctx: StepContext, entry: str) -> Turn:
        return await self._list(ctx)

    async def _list(self, ctx: StepContext) -> Turn:
        if refused := self._refusal(ctx):
            return refused
        service, actor = self.service(ctx), self.actor(ctx)
        shown = (await service.overview(actor))[:LIST_MAX]
        rows = [[button("btn.broadcasting.new", BROADCASTS.pack("new"))]]
        for p in shown:
            assert p.broadcast.id is not None
            rows.append([button("btn.broadcasting.open", BROADCASTS.pack("open", p.broadcast.id), id=p.broadcast.id,
                                state=p.broadcast.status.value)])
            if service.may_approve(actor, p.broadcast):
                rows.append([button("btn.broadcasting.approve", BROADCASTS.pack("approve", p.broadcast.id),
                                    id=p.broadcast.id)])
        rows.append([button("btn.menu.back", MENU.pack("open"))])
        cluster = await ctx.uow.content.cluster(actor.cluster or "")
        return ctx.turn(reply("broadcasting.list", rows, broadcasts=[self._item(p) for p in shown],
                              cluster=cluster.name if cluster else actor.cluster), state=ConversationState())

    def _refusal(self, ctx: StepContext) -> Turn | None:
        if not ctx.admin:
            return ctx.turn(reply("fallback.unknown_command", command="broadcast"), state=ConversationState())
        if ctx.profile.cluster is None:
            return ctx.turn(reply("broadcasting.no_cluster"), state=ConversationState())
        return None

    @staticmethod
    def _item(p: Progress) -> dict[str, object]:
        b, r = p.broadcast, p.results
        return {"id": b.id, "status": b.status.value, "topic": b.topic.value, "excerpt": _excerpt(b),
                "at": (b.scheduled_at or b.created_at).isoformat(), "total": r.total, "sent": r.sent,
                "not_delivered": r.not_delivered, "blocked": r.blocked, "failed": r.failed, "unknown": r.unknown,
                "skipped": r.skipped, "opted_out": r.opted_out_48h, "taps": r.taps, "rsvps": r.rsvps_7d,
                "leads": r.leads_7d, "minutes": None if p.eta_seconds is None else max(1, round(p.eta_seconds / 60))}

    async def _open(self, ctx: StepContext, broadcast_id: int, note: str | None = None) -> Turn:
        """One announcement: what it says, to whom, where it stands, its history, and what may be done."""
        service, actor = self.service(ctx), self.actor(ctx)
        progress = await service.progress(actor, broadcast_id)
        b = progress.broadcast
        rows: list[list[Button]] = []
        if b.status is BroadcastStatus.RUNNING:
            rows.append([button("btn.broadcasting.pause", BROADCASTS.pack("pause", broadcast_id)),
                         button("btn.broadcasting.refresh", BROADCASTS.pack("open", broadcast_id))])
        if b.status is BroadcastStatus.PAUSED:
            rows.append([button("btn.broadcasting.resume", BROADCASTS.pack("resume", broadcast_id))])
        if service.may_approve(actor, b):
            rows.append([button("btn.broadcasting.approve", BROADCASTS.pack("approve", broadcast_id), id=broadcast_id)])
        if b.editable:
            rows.append([button("btn.broadcasting.edit", BROADCASTS.pack("edit", broadcast_id))])
        if b.cancellable:
            rows.append([button("btn.broadcasting.cancel", BROADCASTS.pack("cancel", broadcast_id))])
        rows.append([button("btn.broadcasting.list", BROADCASTS.pack("list"))])
        history = [{"action": a.action, "by": a.by, "at": a.at.isoformat()} for a in b.history[-HISTORY_MAX:]]
        count = await service.count(b) if b.editable else None
        replies = [reply(note, id=broadcast_id)] if note else []
        replies.append(reply("broadcasting.detail", rows, broadcast=self._item(progress), actions=history,
                             reach=_reach(count), who=self._who(ctx, b)))
        return ctx.turn(*replies, state=ConversationState())

    # ---- presses --------------------------------------------------------------------------------
    async def handle(self, ctx: StepContext) -> Turn | None:
        if not ctx.admin:
            return None  # a forged or replayed agent button: means nothing to anyone else
        if refused := self._refusal(ctx):
            return refused
        try:
            if ctx.event.kind is EventKind.BUTTON:
                return await self._pressed(ctx)
            return await self._input(ctx)
        except Refused as refusal:
            return await self._refused(ctx, refusal)

    async def _pressed(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(BROADCASTS)
        if press is None:
            return None
        action, arg = press.action, press.arg(0)
        if action == "list":
            return await self._list(ctx)
        if action == "new":
            return self._topics(ctx)
        if action == "topic":
            if arg not in set(Topic):
                return None
            draft = await self.service(ctx).create(self.actor(ctx), Topic(arg))
            assert draft.id is not None
            return await self._ask(ctx, Wizard(broadcast=draft.id), draft)
        number = press.number(0)
        by_id: dict[str, Callable[[int], Awaitable[Turn]]] = {
            "open": lambda i: self._open(ctx, i), "edit": lambda i: self._edit(ctx, i),
            "approve": lambda i: self._act(ctx, i, "approve"), "pause": lambda i: self._act(ctx, i, "pause"),
            "resume": lambda i: self._act(ctx, i, "resume"), "cancel": lambda i: self._ask_cancel(ctx, i),
            "cancel_yes": lambda i: self._act(ctx, i, "cancel"),
        }
        if action in by_id:
            return await by_id[action](number) if number is not None else None
        wizard = Wizard.of(ctx.state)
        if wizard is None or action not in self._wizard:
            return None  # a button of a wizard that is closed
        broadcast = await self._editable(ctx, wizard)
        if broadcast is None:
            return await self._open(ctx, wizard.broadcast, note="broadcasting.not_editable")
        return await self._wizard[action](ctx, wizard, broadcast, arg)

    def _topics(self, ctx: StepContext) -> Turn:
        rows = [[button(f"btn.broadcasting.topic.{t.value}", BROADCASTS.pack("topic", t.value))] for t in Topic]
        rows.append([button("btn.broadcasting.list", BROADCASTS.pack("list"))])
        return ctx.turn(reply("broadcasting.ask_topic", rows), state=ConversationState())

    async def _editable(self, ctx: StepContext, wizard: Wizard) -> Broadcast | None:
        broadcast = await self.service(ctx).get(self.actor(ctx), wizard.broadcast)
        return broadcast if broadcast.editable else None

    async def _edit(self, ctx: StepContext, broadcast_id: int) -> Turn:
        """Back into the wizard, at the preview (each part can be changed from there)."""
        broadcast = await self.service(ctx).get(self.actor(ctx), broadcast_id)
        if not broadcast.editable:
            return await self._open(ctx, broadcast_id, note="broadcasting.not_editable")
        return await self._ask(ctx, Wizard(broadcast=broadcast_id, step="preview"), broadcast)

    async def _ask_cancel(self, ctx: StepContext, broadcast_id: int) -> Turn:
        broadcast = await self.service(ctx).get(self.actor(ctx), broadcast_id)
        rows = [[button("btn.broadcasting.cancel_yes", BROADCASTS.pack("cancel_yes", broadcast_id)),
                 button("btn.broadcasting.cancel_no", BROADCASTS.pack("open", broadcast_id))]]
        return ctx.turn(reply("broadcasting.ask_cancel", rows, id=broadcast_id, state=broadcast.status.value),
                        state=ConversationState())

    async def _act(self, ctx: StepContext, broadcast_id: int, action: str) -> Turn:
        service, actor = self.service(ctx), self.actor(ctx)
        acts = {"approve": service.approve, "pause": service.pause, "resume": service.resume, "cancel": service.cancel}
        await acts[action](actor, broadcast_id)
        return await self._open(ctx, broadcast_id, note=f"broadcasting.done_{action}")

    async def _refused(self, ctx: StepContext, refusal: Refused) -> Turn:
        values = dict(refusal.values)
        found: list[Problem] = values.pop("problems", [])
        wizard = Wizard.of(ctx.state)
        rows = [[button("btn.broadcasting.list", BROADCASTS.pack("list"))]]
        note = reply("broadcasting.refused", rows if wizard is None else [], reason=refusal.reason,
                     problems=[_problem(p) for p in found], state=values.get("status", ""))
        if wizard is not None and refusal.reason != "not_found":
            broadcast = await self.service(ctx).uow.broadcasts.get(wizard.broadcast)
            if broadcast is not None and broadcast.editable:
                turn = await self._ask(ctx, wizard, broadcast)
                return ctx.turn(note, *turn.replies, state=turn.state)
        return ctx.turn(note, state=ConversationState())

    # ---- the screens of the wizard --------------------------------------------------------------
    async def _ask(self, ctx: StepContext, wizard: Wizard, b: Broadcast, *before: Reply) -> Turn:
        """Show the screen of `wizard.step` with the live count; the state waits there."""
        count = await self.service(ctx).count(b)
        values: dict[str, Any] = {"reach": _reach(count), "who": self._who(ctx, b), "id": b.id, "topic": b.topic.value}
        back = button("btn.broadcasting.back", BROADCASTS.pack("back"))
        step = wizard.step
        replies: list[Reply]
        if step == "audience":
            replies = [reply("broadcasting.ask_audience", self._audience_rows(b.audience), **values)]
        elif step == "place":
            replies = [reply("broadcasting.ask_place", [[back]], **values)]
        elif step == "fields":
            fields = sorted({p.field for p in await ctx.uow.content.professions()})
            rows = [[button("btn.broadcasting.field", BROADCASTS.pack("field", f), field=f, chosen=f in b.audience.fields)]
                    for f in fields]
            rows.append([button("btn.broadcasting.done", BROADCASTS.pack("to", "audience"))])
            replies = [reply("broadcasting.ask_fields", rows, **values)]
        elif step == "pick":
            labels = await self._labels(ctx, wizard)
            rows = [[button("btn.raw", BROADCASTS.pack("pick", i), label=label)] for i, label in enumerate(labels)]
            rows.append([back])
            replies = [reply("broadcasting.pick", rows, picking=wizard.picking or "", count=len(labels), **values)]
        elif step in ("text_du", "text_sie"):
            form = step.removeprefix("text_")
            current = b.text_du if form == "du" else b.text_sie
            rows = [[button("btn.broadcasting.keep", BROADCASTS.pack("next"))]] if current.strip() else []
            if form == "sie" and b.text_du.strip() and not current.strip():
                rows.append([button("btn.broadcasting.same", BROADCASTS.pack("same"))])
            rows.append([back])
            replies = [reply("broadcasting.ask_text", rows, form=form, text=current, limit=b.text_limit(), **values)]
        elif step == "picture":
            rows = [[button("btn.broadcasting.nopic" if b.picture else "btn.broadcasting.skip",
                            BROADCASTS.pack("nopic"))]]
            if b.picture:
                rows.insert(0, [button("btn.broadcasting.keep", BROADCASTS.pack("next"))])
            rows.append([back])
            replies = [reply("broadcasting.ask_picture", rows, picture=b.picture is not None, **values)]
        elif step == "buttons":
            rows = [[button(f"btn.broadcasting.add.{k.value}", BROADCASTS.pack("add", k.value))] for k in ButtonKind]
            if b.buttons:
                rows.append([button("btn.broadcasting.clear", BROADCASTS.pack("clear"))])
            rows += [[button("btn.broadcasting.to_preview", BROADCASTS.pack("next"))], [back]]
            replies = [reply("broadcasting.ask_buttons", rows, chosen_buttons=await self._button_items(ctx, b),
                             **values)]
        elif step == "link":
            replies = [reply("broadcasting.ask_link", [[back]], **values)]
        elif step == "when":
            replies = [reply("broadcasting.ask_when", [[back]], **values)]
        elif step == "confirm":
            rows = [[button("btn.broadcasting.go", BROADCASTS.pack("go"))], [back]]
            approval = self.service(ctx).needs_approval(count)
            replies = [reply("broadcasting.confirm", rows, at=wizard.send_at.isoformat() if wizard.send_at else None,
                             approval=approval, **values)]
        else:  # preview
            replies = self._preview(ctx, b, values)
        return ctx.turn(*before, *replies, state=wizard.at(step))

    def _audience_rows(self, audience: Audience) -> list[list[Button]]:
        roles = next((name for name, value in ROLES.items() if value == audience.roles), "")
        rows = [[button(f"btn.broadcasting.role.{r}", BROADCASTS.pack("role", r), chosen=r == roles) for r in ROLES]]
        if needs_du(audience):
            rows.append([button(f"btn.broadcasting.age.{a}", BROADCASTS.pack("age", a), chosen=a in audience.age_bands)
                         for a in AGE_BANDS])
        rows.append([button("btn.broadcasting.near.plz", BROADCASTS.pack("near", "plz")),
                     button("btn.broadcasting.near.event", BROADCASTS.pack("near", "event"))])
        if audience.near_plz or audience.near_event:
            rows.append([button("btn.broadcasting.radius", BROADCASTS.pack("radius", km), km=km,
                                chosen=audience.radius_km == km) for km in RADII]
                        + [button("btn.broadcasting.radius_all", BROADCASTS.pack("radius", 0))])
        rows.append([button("btn.broadcasting.fields", BROADCASTS.pack("fields"), count=len(audience.fields))])
        if needs_du(audience):
            rows += [[button("btn.broadcasting.school", BROADCASTS.pack("school", s), school_status=s,
                             chosen=s in audience.school_statuses) for s in part]
                     for part in (SCHOOL_STATUSES[:2], SCHOOL_STATUSES[2:])]
        rows.append([button("btn.broadcasting.rsvp.yes", BROADCASTS.pack("rsvp", "yes")),
                     button("btn.broadcasting.rsvp.no", BROADCASTS.pack("rsvp", "no"))]
                    + ([button("btn.broadcasting.rsvp.off", BROADCASTS.pack("rsvp", "off"))]
                       if audience.rsvp_event else []))
        rows.append([button("btn.broadcasting.active", BROADCASTS.pack("active", d), days=d,
                            chosen=audience.active_within_days == d) for d in ACTIVE_DAYS]
                    + [button("btn.broadcasting.active_all", BROADCASTS.pack("active", 0))])
        rows.append([button("btn.broadcasting.to_text", BROADCASTS.pack("next"))])
        return rows

    def _preview(self, ctx: StepContext, b: Broadcast, values: dict[str, Any]) -> list[Reply]:
        """Each form as its recipients get it, then what can be done (and what must be fixed first)."""
        replies: list[Reply] = []
        for form, message in self.service(ctx).previews(b, ctx.profile):
            replies += [reply("broadcasting.preview_head", form=form), message]
        rows = [[button("btn.broadcasting.test", BROADCASTS.pack("test"))],
                [button("btn.broadcasting.now", BROADCASTS.pack("now")),
                 button("btn.broadcasting.plan", BROADCASTS.pack("plan"))],
                [button("btn.broadcasting.to.audience", BROADCASTS.pack("to", "audience")),
                 button("btn.broadcasting.to.text", BROADCASTS.pack("to", "text_du"))],
                [button("btn.broadcasting.to.picture", BROADCASTS.pack("to", "picture")),
                 button("btn.broadcasting.to.buttons", BROADCASTS.pack("to", "buttons"))],
                [button("btn.broadcasting.list", BROADCASTS.pack("list"))]]
        replies.append(reply("broadcasting.preview_actions", rows, problems=[_problem(p) for p in problems(b)],
                             **values))
        return replies

    async def _labels(self, ctx: StepContext, wizard: Wizard) -> list[str]:
        """What the numbered choices of the pick screen are called."""
        if wizard.picking in ("button_offer",):
            cards = [await ctx.uow.vacancies.card(slug) for slug in wizard.choices]
            return [f"{c.title} · {c.company_name}" if c else "–" for c in cards]
        if wizard.picking == "button_profession":
            found = [await ctx.uow.content.profession(slug) for slug in wizard.choices]
            return [p.name if p else "–" for p in found]
        events = [await ctx.uow.events.get(slug) for slug in wizard.choices]
        return [f"{e.starts.astimezone(ZONE):%d.%m.} {e.title}" if e else "–" for e in events]

    async def _button_items(self, ctx: StepContext, b: Broadcast) -> list[dict[str, str]]:
        items = []
        for ab in b.buttons:
            label = ab.label or ab.ref
            if ab.kind is ButtonKind.EVENT and (event := await ctx.uow.events.get(ab.ref)):
                label = event.title
            elif ab.kind is ButtonKind.OFFER and (card := await ctx.uow.vacancies.card(ab.ref)):
                label = card.title
            elif ab.kind is ButtonKind.PROFESSION and (prof := await ctx.uow.content.profession(ab.ref)):
                label = prof.name
            items.append({"kind": ab.kind.value, "label": label, "url": ab.ref if ab.kind is ButtonKind.LINK else ""})
        return items

    def _who(self, ctx: StepContext, b: Broadcast) -> dict[str, object]:
        """The audience in words (for every screen)."""
        a = b.audience
        place = next(iter(ctx.places.lookup(a.near_plz)), None) if a.near_plz else None
        return {"roles": a.roles, "age_bands": a.age_bands, "place": f"{place.name} ({place.plz})" if place else None,
                "event": a.near_event, "radius": a.radius_km, "fields": a.fields, "school": a.school_statuses,
                "rsvp_event": a.rsvp_event, "rsvp_going": a.rsvp_going, "active": a.active_within_days}

    # ---- audience presses -----------------------------------------------------------------------
    async def _audience(self, ctx: StepContext, wizard: Wizard, b: Broadcast, audience: Audience,
                        step: str = "audience") -> Turn:
        b = await self.service(ctx).edit(self.actor(ctx), wizard.broadcast, audience=audience)
        return await self._ask(ctx, wizard.model_copy(update={"step": step, "picking": None, "choices": []}), b)

    async def _role(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if arg not in ROLES:
            return await self._ask(ctx, wizard, b)
        changes: dict[str, object] = {"roles": ROLES[arg]}
        if arg == "parent":  # parents have no age band, school or class
            changes.update(age_bands=[], school_statuses=[], school_classes=[])
        return await self._audience(ctx, wizard, b, b.audience.model_copy(update=changes))

    async def _age(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if arg not in AGE_BANDS:
            return await self._ask(ctx, wizard, b)
        return await self._audience(ctx, wizard, b, b.audience.model_copy(
            update={"age_bands": _toggle(b.audience.age_bands, arg)}))

    async def _school(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if arg not in SCHOOL_STATUSES:
            return await self._ask(ctx, wizard, b)
        return await self._audience(ctx, wizard, b, b.audience.model_copy(
            update={"school_statuses": _toggle(b.audience.school_statuses, arg)}))

    async def _field(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        fields = {p.field for p in await ctx.uow.content.professions()}
        if arg not in fields:
            return await self._ask(ctx, wizard, b)
        return await self._audience(ctx, wizard, b, b.audience.model_copy(
            update={"fields": _toggle(b.audience.fields, arg)}), step="fields")

    async def _fields_screen(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        return await self._ask(ctx, wizard.model_copy(update={"step": "fields"}), b)

    async def _active(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        days = int(arg) if arg.isdigit() else -1
        if days not in (0, *ACTIVE_DAYS):
            return await self._ask(ctx, wizard, b)
        return await self._audience(ctx, wizard, b, b.audience.model_copy(
            update={"active_within_days": days or None}))

    async def _radius(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        km = int(arg) if arg.isdigit() else -1
        if km not in (0, *RADII):
            return await self._ask(ctx, wizard, b)
        changes: dict[str, object] = {"radius_km": km} if km else {"radius_km": None, "near_plz": None,
                                                                      "near_event": None}
        return await self._audience(ctx, wizard, b, b.audience.model_copy(update=changes))

    async def _near(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if arg == "plz":
            return await self._ask(ctx, wizard.model_copy(update={"step": "place"}), b)
        return await self._choose_event(ctx, wizard, b, "near_event")

    async def _rsvp(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if arg == "off":
            return await self._audience(ctx, wizard, b, b.audience.model_copy(
                update={"rsvp_event": None, "rsvp_going": None}))
        if arg not in ("yes", "no"):
            return await self._ask(ctx, wizard, b)
        return await self._choose_event(ctx, wizard, b, f"rsvp_{arg}")

    async def _choose_event(self, ctx: StepContext, wizard: Wizard, b: Broadcast, picking: str) -> Turn:
        now = ctx.clock.now()
        events = sorted((e for e in await ctx.uow.events.upcoming(now) if e.cluster == b.cluster and not e.cancelled),
                        key=lambda e: e.starts)[:PICK_MAX]
        return await self._ask(ctx, wizard.model_copy(update={"step": "pick", "picking": picking,
                                                              "choices": [e.slug for e in events]}), b)

    async def _pick(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        index = int(arg) if arg.isdigit() else -1
        if wizard.step != "pick" or not 0 <= index < len(wizard.choices):
            return await self._ask(ctx, wizard, b)
        slug, picking = wizard.choices[index], wizard.picking or ""
        a = b.audience
        if picking == "near_event":
            return await self._audience(ctx, wizard, b, a.model_copy(
                update={"near_event": slug, "near_plz": None, "radius_km": a.radius_km or DEFAULT_RADIUS}))
        if picking in ("rsvp_yes", "rsvp_no"):
            return await self._audience(ctx, wizard, b, a.model_copy(
                update={"rsvp_event": slug, "rsvp_going": picking == "rsvp_yes"}))
        kind = {"button_event": ButtonKind.EVENT, "button_offer": ButtonKind.OFFER,
                "button_profession": ButtonKind.PROFESSION}.get(picking)
        if kind is None:
            return await self._ask(ctx, wizard, b)
        return await self._set_buttons(ctx, wizard, [*b.buttons, AnnouncementButton(kind=kind, ref=slug)])

    # ---- moving between steps -------------------------------------------------------------------
    def _following(self, b: Broadcast, step: str, direction: int) -> str:
        """The next (or previous) step this announcement needs: the Sie text only with parents, the du
        text only with young people."""
        order = list(STEPS)
        i = order.index(step) if step in order else (order.index("buttons") if step == "link" else 0)
        while 0 <= i + direction < len(order):
            i += direction
            if order[i] == "text_du" and not needs_du(b.audience):
                continue
            if order[i] == "text_sie" and not needs_sie(b.audience):
                continue
            return order[i]
        return order[i]

    async def _next(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        step = wizard.step if wizard.step in STEPS else "audience"
        if step in ("text_du", "text_sie") and not (b.text_du if step == "text_du" else b.text_sie).strip():
            return await self._ask(ctx, wizard, b)  # a text is needed: nothing to keep
        return await self._ask(ctx, _at(wizard, self._following(b, step, 1)), b)

    async def _back(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if wizard.step in ("place", "pick", "fields"):
            back = "buttons" if (wizard.picking or "").startswith("button_") else "audience"
            return await self._ask(ctx, _at(wizard, back), b)
        if wizard.step == "link":
            return await self._ask(ctx, _at(wizard, "buttons"), b)
        if wizard.step in ("when", "confirm"):
            return await self._ask(ctx, _at(wizard, "preview"), b)
        if wizard.step == "audience":
            return await self._list(ctx)
        return await self._ask(ctx, _at(wizard, self._following(b, wizard.step, -1)), b)

    async def _to(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if arg not in STEPS:
            return await self._ask(ctx, wizard, b)
        if arg == "text_du" and not needs_du(b.audience):
            arg = "text_sie"
        return await self._ask(ctx, _at(wizard, arg), b)

    # ---- texts, picture, buttons ----------------------------------------------------------------
    async def _input(self, ctx: StepContext) -> Turn | None:
        """Typed text (a text, a place, a link, a time) or a photo, at the step that asks for it."""
        wizard = Wizard.of(ctx.state)
        if wizard is None:
            return None
        b = await self._editable(ctx, wizard)
        if b is None:
            return await self._open(ctx, wizard.broadcast, note="broadcasting.not_editable")
        event = ctx.event
        if event.kind is EventKind.MEDIA:
            if wizard.step == "picture" and event.media_type == "photo" and event.file_id:
                return await self._picture(ctx, wizard, b, event.file_id)
            return await self._ask(ctx, wizard, b, reply("broadcasting.not_now", step=wizard.step))
        text = (event.text or "").strip()
        if event.kind is not EventKind.TEXT or not text:
            return await self._ask(ctx, wizard, b, reply("broadcasting.not_now", step=wizard.step))
        if wizard.step in ("text_du", "text_sie"):
            return await self._text(ctx, wizard, b, wizard.step.removeprefix("text_"), event.text or "")
        if wizard.step == "place":
            return await self._place(ctx, wizard, b, text)
        if wizard.step == "link":
            return await self._link(ctx, wizard, b, text)
        if wizard.step == "when":
            at = parse_local(text, ctx.clock.now())
            if at is None or at < ctx.clock.now():
                return await self._ask(ctx, wizard, b, reply("broadcasting.bad_time", past=at is not None))
            return await self._ask(ctx, wizard.model_copy(update={"step": "confirm", "send_at": at}), b)
        return await self._ask(ctx, wizard, b, reply("broadcasting.not_now", step=wizard.step))

    async def _text(self, ctx: StepContext, wizard: Wizard, b: Broadcast, form: str, text: str) -> Turn:
        text = text.strip()
        trial = b.model_copy(update={f"text_{form}": text})
        found = [p for p in problems(trial) if p.form == form]
        if found:
            return await self._ask(ctx, wizard, b, reply("broadcasting.text_problem",
                                                         problems=[_problem(p) for p in found]))
        service, actor = self.service(ctx), self.actor(ctx)
        if form == "du":
            b = await service.edit(actor, wizard.broadcast, text_du=text)
        else:
            b = await service.edit(actor, wizard.broadcast, text_sie=text)
        return await self._ask(ctx, _at(wizard, self._following(b, wizard.step, 1)), b)

    async def _same(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        """The du text fits parents as well (the agent says so: it addresses nobody)."""
        if wizard.step != "text_sie" or not b.text_du.strip():
            return await self._ask(ctx, wizard, b)
        return await self._text(ctx, wizard, b, "sie", b.text_du)

    async def _picture(self, ctx: StepContext, wizard: Wizard, b: Broadcast, file_id: str) -> Turn:
        trial = b.model_copy(update={"picture": file_id})
        found = [p for p in problems(trial) if p.reason == "too_long"]
        if found:  # a caption holds at most 1024 characters
            return await self._ask(ctx, wizard, b, reply("broadcasting.text_problem",
                                                         problems=[_problem(p) for p in found]))
        b = await self.service(ctx).edit(self.actor(ctx), b.id or 0, picture=file_id)
        return await self._ask(ctx, _at(wizard, "buttons"), b)

    async def _nopic(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if b.picture:
            b = await self.service(ctx).edit(self.actor(ctx), b.id or 0, remove_picture=True)
        return await self._ask(ctx, _at(wizard, "buttons"), b)

    async def _place(self, ctx: StepContext, wizard: Wizard, b: Broadcast, text: str) -> Turn:
        found = places_named(ctx.places, text, limit=1)
        if not found:
            return await self._ask(ctx, wizard, b, reply("broadcasting.place_unknown", query=text[:60]))
        return await self._audience(ctx, wizard, b, b.audience.model_copy(update={
            "near_plz": found[0].plz, "near_event": None, "radius_km": b.audience.radius_km or DEFAULT_RADIUS}))

    async def _add(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if arg == ButtonKind.LINK.value:
            return await self._ask(ctx, _at(wizard, "link"), b)
        if arg == ButtonKind.EVENT.value:
            return await self._choose_event(ctx, wizard, b, "button_event")
        if arg == ButtonKind.OFFER.value:
            companies = {c.slug for c in await ctx.uow.content.companies() if c.cluster == b.cluster}
            cards = [card for slug in sorted(companies) for card in await ctx.uow.vacancies.for_company(slug)]
            choices = [c.slug for c in cards][:PICK_MAX]
            return await self._ask(ctx, wizard.model_copy(update={"step": "pick", "picking": "button_offer",
                                                                  "choices": choices}), b)
        if arg == ButtonKind.PROFESSION.value:
            professions = [p for p in await ctx.uow.content.professions() if b.cluster in p.clusters]
            professions = professions or await ctx.uow.content.professions()
            choices = [p.slug for p in sorted(professions, key=lambda p: p.name)][:PICK_MAX]
            return await self._ask(ctx, wizard.model_copy(update={"step": "pick", "picking": "button_profession",
                                                                  "choices": choices}), b)
        return await self._ask(ctx, wizard, b)

    async def _link(self, ctx: StepContext, wizard: Wizard, b: Broadcast, text: str) -> Turn:
        """ "https://… Beschriftung" (or the label first): a button that opens the address."""
        words = text.split()
        url = next((w for w in words if w.lower().startswith("https://")), None)
        label = " ".join(w for w in words if w is not url)[:MAX_LINK_LABEL].strip() or None
        if url is None:
            return await self._ask(ctx, wizard, b, reply("broadcasting.bad_link"))
        return await self._set_buttons(ctx, wizard, [*b.buttons, AnnouncementButton(kind=ButtonKind.LINK, ref=url,
                                                                                     label=label)])

    async def _set_buttons(self, ctx: StepContext, wizard: Wizard, buttons: list[AnnouncementButton]) -> Turn:
        b = await self.service(ctx).edit(self.actor(ctx), wizard.broadcast, buttons=buttons)
        return await self._ask(ctx, wizard.model_copy(update={"step": "buttons", "picking": None, "choices": []}), b)

    async def _clear(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        return await self._set_buttons(ctx, wizard, [])

    # ---- preview, test, schedule ----------------------------------------------------------------
    async def _test(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        note = reply("broadcasting.test_note", id=b.id)
        sent = await self.service(ctx).test_send(self.actor(ctx), wizard.broadcast, ctx.profile, note)
        return await self._ask(ctx, _at(wizard, "preview"), b, reply("broadcasting.test_sent", count=sent))

    async def _now(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        return await self._ready(ctx, wizard.model_copy(update={"step": "confirm", "send_at": None}), b)

    async def _plan(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        return await self._ready(ctx, _at(wizard, "when"), b)

    async def _ready(self, ctx: StepContext, wizard: Wizard, b: Broadcast) -> Turn:
        """Only a complete announcement can be sent or planned: else what is missing, at the preview."""
        found = problems(b)
        if found:
            return await self._ask(ctx, _at(wizard, "preview"), b, reply(
                "broadcasting.text_problem", problems=[_problem(p) for p in found]))
        return await self._ask(ctx, wizard, b)

    async def _go(self, ctx: StepContext, wizard: Wizard, b: Broadcast, arg: str) -> Turn:
        if wizard.step != "confirm":
            return await self._ask(ctx, wizard, b)
        b = await self.service(ctx).schedule(self.actor(ctx), wizard.broadcast, wizard.send_at)
        rows = [[button("btn.broadcasting.open", BROADCASTS.pack("open", wizard.broadcast), id=wizard.broadcast,
                        state=b.status.value)], [button("btn.broadcasting.list", BROADCASTS.pack("list"))]]
        return ctx.turn(reply("broadcasting.scheduled", rows, id=b.id, state=b.status.value,
                              at=b.scheduled_at.isoformat() if b.scheduled_at else None,
                              now=wizard.send_at is None), state=ConversationState())

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        wizard = Wizard.of(ctx.state)
        if wizard is None or not ctx.admin:
            return []
        try:
            b = await self._editable(ctx, wizard)
        except Refused:
            return []
        return (await self._ask(ctx, wizard, b)).replies if b is not None else []


def _at(wizard: Wizard, step: str) -> Wizard:
    return wizard.model_copy(update={"step": step, "picking": None, "choices": []})


def _toggle(values: list[str], value: str) -> list[str]:
    return [v for v in values if v != value] if value in values else [*values, value]


def _reach(count: AudienceCount | None) -> dict[str, int] | None:
    return None if count is None else {"total": count.total, "minors": count.minors, "under_16": count.under_16,
                                       "capped": count.capped}


def _problem(p: Problem) -> dict[str, object]:
    return {"reason": p.reason, "form": p.form, "length": p.length, "limit": p.limit, "name": p.name}


def _excerpt(b: Broadcast, size: int = 60) -> str:
    text = " ".join((b.text_du or b.text_sie).split())
    return text if len(text) <= size else text[: size - 1] + "…"
