"""Announcements: compose with the live audience count, preview as a phone shows it, schedule,
approve, pause, resume, cancel, test-send, results. Everything through BroadcastService, the same
rules as the bot's /broadcast (flows/delivery/broadcast_service.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cockpit import forms
from cockpit.web import Agent, agent_of, cockpit_of, not_found, page, see_other, shown
from flows.core.context import reply
from flows.delivery.broadcast_service import BroadcastService, Refused, problems
from flows.domain.broadcast import AnnouncementButton, Audience, Broadcast, ButtonKind, Topic
from storage.uow import SqlUnitOfWork

ROLES = ("teen", "parent")
AGE_BANDS = ("u16", "16_17", "18plus")
BASE = "/ankuendigungen"


@dataclass
class Draft:
    """What the form says, before it is saved (or why it cannot be)."""

    topic: Topic = Topic.EVENTS
    text_du: str = ""
    text_sie: str = ""
    audience: Audience = field(default_factory=Audience)
    buttons: list[AnnouncementButton] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def read_draft(form: forms.Form) -> Draft:
    draft = Draft()
    topic = forms.text(form, "topic", 16)
    if topic in {t.value for t in Topic}:
        draft.topic = Topic(topic)
    else:
        draft.errors["topic"] = "missing"
    draft.text_du, draft.text_sie = forms.text(form, "text_du"), forms.text(form, "text_sie")
    audience = Audience(roles=forms.choices(form, "roles", ROLES), age_bands=forms.choices(form, "age_bands", AGE_BANDS))
    if not audience.roles:
        draft.errors["roles"] = "missing"
    plz, event = forms.text(form, "near_plz", 5), forms.text(form, "near_event", 64)
    if plz and not (len(plz) == 5 and plz.isdigit()):
        draft.errors["near_plz"] = "bad_plz"
    try:
        radius = forms.whole_number(form, "radius_km", 1, 300)
        active = forms.whole_number(form, "active_within_days", 1, 365)
    except ValueError as error:
        draft.errors[str(error)] = "bad_number"
        radius = active = None
    if (plz or event) and radius is None and "radius_km" not in draft.errors:
        draft.errors["radius_km"] = "missing"
    audience.near_plz = plz or None
    audience.near_event = event or None if not plz else None
    audience.radius_km = radius if (plz or event) else None
    audience.active_within_days = active
    audience.professions = [p for p in form.getall("professions", []) if isinstance(p, str)][:20]
    draft.audience = audience
    if event_button := forms.text(form, "button_event", 64):
        draft.buttons.append(AnnouncementButton(kind=ButtonKind.EVENT, ref=event_button))
    link, label = forms.text(form, "button_link", 500), forms.text(form, "button_label", 40)
    if link:
        if not label:
            draft.errors["button_label"] = "missing"
        draft.buttons.append(AnnouncementButton(kind=ButtonKind.LINK, ref=link, label=label or None))
    return draft


def _draft_of(broadcast: Broadcast) -> Draft:
    return Draft(topic=broadcast.topic, text_du=broadcast.text_du, text_sie=broadcast.text_sie,
                 audience=broadcast.audience, buttons=list(broadcast.buttons))


def _service(request: web.Request, uow: SqlUnitOfWork) -> BroadcastService:
    settings = cockpit_of(request).app.settings
    return BroadcastService(uow, cockpit_of(request).app.clock.now(), settings.broadcast_approval_minors,
                            settings.broadcast_weekly_cap)


async def _choices(uow: SqlUnitOfWork, agent: Agent, now: Any) -> dict[str, Any]:
    events = [e for e in await uow.events.upcoming(now) if e.cluster == agent.cluster and not e.cancelled]
    return {"events": events, "professions": await uow.content.professions(), "roles": ROLES, "age_bands": AGE_BANDS,
            "topics": [t.value for t in Topic]}


def _previews(request: web.Request, service: BroadcastService, broadcast: Broadcast,
              agent: Agent) -> list[dict[str, Any]]:
    """Each form its audience gets, rendered exactly as the bot sends it (Telegram HTML, example values)."""
    catalog = cockpit_of(request).app.catalog
    rendered = []
    for form, message in service.previews(broadcast, agent.profile):
        formal = form == "sie"
        buttons = [catalog.render(b.key, b.values, "de", formal) for row in message.buttons for b in row]
        rendered.append({"form": form, "html": catalog.render(message.key, message.values, "de", formal),
                         "buttons": buttons})
    return rendered


async def overview(request: web.Request) -> web.Response:
    agent = agent_of(request)
    async with cockpit_of(request).app.uow_factory() as uow:
        found = await _service(request, uow).overview(agent.actor)
    return page(request, "announcements.html", {"items": found})


async def new_form(request: web.Request) -> web.Response:
    agent = agent_of(request)
    async with cockpit_of(request).app.uow_factory() as uow:
        values = await _choices(uow, agent, cockpit_of(request).app.clock.now())
    return page(request, "announcement_edit.html", {"draft": Draft(), "broadcast": None, **values})


async def _save(request: web.Request, broadcast_id: int | None) -> web.StreamResponse:
    agent = agent_of(request)
    draft = read_draft(await request.post())
    cockpit = cockpit_of(request)
    async with cockpit.app.uow_factory() as uow:
        service = _service(request, uow)
        broadcast = None
        if not draft.errors:
            try:
                if broadcast_id is None:
                    broadcast_id = (await service.create(agent.actor, draft.topic)).id
                    assert broadcast_id is not None
                broadcast = await service.edit(agent.actor, broadcast_id, topic=draft.topic, text_du=draft.text_du,
                                               text_sie=draft.text_sie, audience=draft.audience, buttons=draft.buttons)
            except Refused as refused:
                if refused.reason == "not_found":
                    return not_found(request)
                draft.errors["form"] = refused.reason
        if draft.errors:
            existing = await service.get(agent.actor, broadcast_id) if broadcast_id is not None else None
            values = await _choices(uow, agent, cockpit.app.clock.now())
            return page(request, "announcement_edit.html", {"draft": draft, "broadcast": existing, **values},
                        status=422)
        assert broadcast is not None and broadcast.id is not None
        await uow.cockpit.record(service.now, agent.by, agent.cluster, "announcement_saved",
                                 f"announcement:{broadcast.id}")
        await uow.commit()
    raise see_other(f"{BASE}/{broadcast.id}", "saved")


async def create(request: web.Request) -> web.StreamResponse:
    return await _save(request, None)


async def update(request: web.Request) -> web.StreamResponse:
    return await _save(request, _id(request))


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 9:
        raise web.HTTPNotFound()
    return int(raw)


async def detail(request: web.Request) -> web.Response:
    agent = agent_of(request)
    cockpit = cockpit_of(request)
    async with cockpit.app.uow_factory() as uow:
        service = _service(request, uow)
        try:
            progress = await service.progress(agent.actor, _id(request))
        except Refused:
            return not_found(request)
        broadcast = progress.broadcast
        reach = await service.count(broadcast)
        values: dict[str, Any] = {"broadcast": broadcast, "progress": progress, "draft": _draft_of(broadcast),
                                  "count": reach, "problems": problems(broadcast) if broadcast.editable else [],
                                  "previews": _previews(request, service, broadcast, agent),
                                  "may_approve": service.may_approve(agent.actor, broadcast),
                                  "needs_approval": service.needs_approval(reach)}
        values.update(await _choices(uow, agent, service.now))
    return page(request, "announcement.html", values)


async def count(request: web.Request) -> web.Response:
    """The live count while composing (the page's script posts the form here; nothing is saved)."""
    agent = agent_of(request)
    draft = read_draft(await request.post())
    templates = cockpit_of(request).templates.get_template("audience_count.txt")
    if draft.errors:
        return web.json_response({"ok": False, "text": templates.render(ok=False)})
    async with cockpit_of(request).app.uow_factory() as uow:
        service = _service(request, uow)
        probe = Broadcast(cluster=agent.cluster, topic=draft.topic, text_du="", text_sie="", created_by=agent.by,
                          created_at=service.now, audience=draft.audience)
        found = await service.count(probe)
    numbers = {"total": found.total, "minors": found.minors, "under_16": found.under_16, "capped": found.capped}
    return web.json_response({"ok": True, "text": templates.render(ok=True, **numbers).strip(),
                              "shown": {name: shown(n) for name, n in numbers.items()}})


ACTIONS = ("planen", "freigeben", "pausieren", "fortsetzen", "abbrechen", "testen")


async def act(request: web.Request) -> web.StreamResponse:
    agent = agent_of(request)
    action = request.match_info["action"]
    if action not in ACTIONS:
        return not_found(request)
    broadcast_id = _id(request)
    form = await request.post()
    cockpit = cockpit_of(request)
    zone = ZoneInfo(cockpit.app.settings.timezone)
    async with cockpit.app.uow_factory() as uow:
        service = _service(request, uow)
        try:
            if action == "planen":
                when = forms.text(form, "when", 20)
                at = None if forms.text(form, "now", 3) == "1" else forms.local_moment(when, zone)
                if at is None and forms.text(form, "now", 3) != "1":
                    raise see_other(f"{BASE}/{broadcast_id}", "bad_time")
                done = await service.schedule(agent.actor, broadcast_id, at)
                notice = "awaiting_approval" if done.status.value == "awaiting_approval" else "scheduled"
            elif action == "freigeben":
                await service.approve(agent.actor, broadcast_id)
                notice = "approved"
            elif action == "pausieren":
                await service.pause(agent.actor, broadcast_id)
                notice = "paused"
            elif action == "fortsetzen":
                await service.resume(agent.actor, broadcast_id)
                notice = "resumed"
            elif action == "abbrechen":
                await service.cancel(agent.actor, broadcast_id)
                notice = "cancelled"
            else:
                await service.test_send(agent.actor, broadcast_id, agent.profile, reply("broadcasting.test_note"))
                notice = "test_sent"
        except Refused as refused:
            if refused.reason == "not_found":
                return not_found(request)
            raise see_other(f"{BASE}/{broadcast_id}", refused.reason) from None
        await uow.cockpit.record(service.now, agent.by, agent.cluster, f"announcement_{notice}",
                                 f"announcement:{broadcast_id}")
        await uow.commit()
    raise see_other(f"{BASE}/{broadcast_id}", notice)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(BASE, overview)
    router.add_get(f"{BASE}/neu", new_form)
    router.add_post(f"{BASE}/neu", create)
    router.add_post(f"{BASE}/zaehlen", count)
    router.add_get(BASE + "/{id}", detail)
    router.add_post(BASE + "/{id}", update)
    router.add_post(BASE + "/{id}/{action}", act)
