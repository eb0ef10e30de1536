"""Events: list, create, edit, move, cancel, archive and restore the cluster's events, with the content
pack's validation and the same side effects as a content load (people who RSVP'd are told of a move or a
cancellation) – storage/content_edits.py does both; the RSVPs per event as numbers per group."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cockpit import forms
from cockpit.web import agent_of, cockpit_of, not_found, page
from flows.domain.content_edit import MOVE_FIELDS
from storage.content_edits import ContentEditor, ContentItem, EditConflict, EditRejected, EditResult, NotFound

BASE = "/termine"
FORMATS = ("messe", "schau-rein", "girls-boys-day", "tag-der-offenen-tuer", "spaetschicht", "workshop",
           "unternehmen-machen-schule", "mint-mobil", "elternabend")
AUDIENCES = ("teens", "parents", "both")
TEXT_FIELDS = ("title", "format", "starts", "ends", "place", "plz", "address", "audience", "description",
               "registration_url")


def editor(request: web.Request) -> ContentEditor:
    cockpit = cockpit_of(request)
    return ContentEditor(cockpit.app.uow_factory, cockpit.app.clock, cockpit.places)


def local_input(value: Any, zone: ZoneInfo) -> str:
    """A stored time (ISO text with offset) as the value of an <input type="datetime-local">."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    except ValueError:
        return value


def read_fields(form: forms.Form, names: tuple[str, ...] = TEXT_FIELDS, lists: bool = True) -> dict[str, Any]:
    """The pack entry's fields as typed (times as local wall time "2027-03-13T09:00", like the pack)."""
    fields: dict[str, Any] = {name: forms.text(form, name, 5000) for name in names}
    if lists:
        fields["companies"] = [v for v in form.getall("companies", []) if isinstance(v, str)]
        fields["professions"] = [v for v in form.getall("professions", []) if isinstance(v, str)]
        fields["pupils_only"] = forms.text(form, "pupils_only", 3) == "1"
    return fields


async def _choices(request: web.Request) -> dict[str, Any]:
    agent = agent_of(request)
    edit = editor(request)
    companies = await edit.items(agent.cluster, "companies")
    return {"formats": FORMATS, "audiences": AUDIENCES, "professions": await edit.professions(),
            "companies": [(c.slug, c.data.get("name", c.slug)) for c in companies]}


def _values(item: ContentItem | None, zone: ZoneInfo) -> dict[str, Any]:
    if item is None:
        return {"audience": "both", "format": "messe", "companies": [], "professions": []}
    values = dict(item.data)
    values["starts"], values["ends"] = local_input(values.get("starts"), zone), local_input(values.get("ends"), zone)
    return values


def _messages(request: web.Request, rejected: EditRejected) -> dict[str, list[str]]:
    catalog = cockpit_of(request).app.catalog
    return {field: [catalog.render(f"content_edit.error.{code}", formal=True) for code in codes]
            for field, codes in rejected.by_field.items()}


async def overview(request: web.Request) -> web.Response:
    agent = agent_of(request)
    archived = request.query.get("archiviert") == "1"
    edit = editor(request)
    items = await edit.items(agent.cluster, "events", archived=archived)
    async with cockpit_of(request).reads() as session:
        counts = await ContentEditor.rsvp_counts(session, agent.cluster)
    now = cockpit_of(request).app.clock.now()
    return page(request, "events.html", {"items": items, "counts": counts, "archived": archived, "now": now,
                                         "starts": {i.slug: datetime.fromisoformat(i.data["starts"]) for i in items}})


async def new_form(request: web.Request) -> web.Response:
    zone = ZoneInfo(cockpit_of(request).app.settings.timezone)
    return page(request, "event_edit.html", {"item": None, "values": _values(None, zone), "errors": {},
                                             "stale": False, **await _choices(request)})


async def _item(request: web.Request) -> ContentItem | None:
    try:
        return await editor(request).item(agent_of(request).cluster, "events", request.match_info["slug"][:64])
    except NotFound:
        return None


async def detail(request: web.Request, errors: dict[str, list[str]] | None = None,
                 typed: dict[str, Any] | None = None, status: int = 200, stale: bool = False) -> web.Response:
    item = await _item(request)
    if item is None:
        return not_found(request)
    zone = ZoneInfo(cockpit_of(request).app.settings.timezone)
    rsvps = await editor(request).rsvps(agent_of(request).cluster, item.slug)
    values = {**_values(item, zone), **(typed or {})}
    return page(request, "event_edit.html", {"item": item, "values": values, "errors": errors or {}, "stale": stale,
                                             "rsvps": rsvps.summary, **await _choices(request)}, status=status)


async def _apply(request: web.Request, action: str) -> web.StreamResponse:
    agent, edit = agent_of(request), editor(request)
    slug = request.match_info.get("slug")
    form = await request.post()
    version = forms.text(form, "version", 100) or None
    typed: dict[str, Any] = {}
    try:
        if action == "create":
            typed = read_fields(form)
            result = await edit.create_event(agent.by, agent.cluster, typed)
        else:
            assert slug is not None
            if action == "edit":
                typed = read_fields(form)
                result = await edit.edit_event(agent.by, agent.cluster, slug, typed, version)
            elif action == "move":
                typed = read_fields(form, MOVE_FIELDS, lists=False)
                result = await edit.move_event(agent.by, agent.cluster, slug, typed, version)
            elif action == "cancel":
                result = await edit.cancel_event(agent.by, agent.cluster, slug)
            elif action == "archive":
                result = await edit.archive_event(agent.by, agent.cluster, slug)
            else:
                result = await edit.restore_event(agent.by, agent.cluster, slug)
    except NotFound:
        return not_found(request)
    except EditConflict:  # someone saved meanwhile: the form again with what was typed, on the current version
        return await detail(request, None, typed, status=409, stale=True)
    except EditRejected as rejected:
        if action == "create":
            zone = ZoneInfo(cockpit_of(request).app.settings.timezone)
            return page(request, "event_edit.html", {"item": None, "values": {**_values(None, zone), **typed},
                                                     "errors": _messages(request, rejected), "stale": False,
                                                     **await _choices(request)}, status=422)
        return await detail(request, _messages(request, rejected), typed, status=422)
    return see_other_with(f"{BASE}/{result.slug}", result)


def see_other_with(location: str, result: EditResult) -> web.HTTPSeeOther:
    """Back to the event, naming what happened and how many people were told."""
    notice = {"event.create": "event_created", "event.move": "event_moved", "event.cancel": "event_cancelled",
              "event.archive": "event_archived", "event.restore": "event_restored"}.get(result.action, "saved")
    if not result.changed and result.action in ("event.edit", "event.move"):
        notice = "nothing_changed"
    return web.HTTPSeeOther(f"{location}?hinweis={notice}&n={result.announced}")


async def create(request: web.Request) -> web.StreamResponse:
    return await _apply(request, "create")


async def act(request: web.Request) -> web.StreamResponse:
    action = {"": "edit", "verschieben": "move", "absagen": "cancel", "archivieren": "archive",
              "wiederherstellen": "restore"}.get(request.match_info.get("action", ""))
    return await _apply(request, action) if action else not_found(request)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(BASE, overview)
    router.add_get(f"{BASE}/neu", new_form)
    router.add_post(f"{BASE}/neu", create)
    router.add_get(BASE + "/{slug}", detail)
    router.add_post(BASE + "/{slug}", act)
    router.add_post(BASE + "/{slug}/{action}", act)
