"""Offers (vacancies): list, create, edit, archive and restore the offers of the cluster's companies, with
the content pack's validation and the same side effect as a content load (a new or restored offer is
told to the saved searches it matches) – storage/content_edits.py does both and writes the audit log.

Every form field is the pack entry's field of the same name (content/schema.py `Vacancy`), so the
service's field errors land next to their input. A stale form (someone saved the offer meanwhile) is
shown again with what was typed and what is stored now; saving it once more is then a deliberate choice.
"""
from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cockpit import forms
from cockpit.web import agent_of, cockpit_of, not_found, page, see_other
from content.postcodes import PostcodeDirectory
from storage.content_edits import ContentEditor, ContentItem, EditConflict, EditRejected, EditResult, NotFound

BASE = "/angebote"
KINDS = ("ausbildung", "praktikum")
SCHOOL_LEVELS = ("none", "hauptschule", "mittlere_reife", "abitur")
TEXT_FIELDS = ("company", "profession", "kind", "title", "start", "published", "plz", "place", "places",
               "school_expectation", "description")
FORM_FIELDS = (*TEXT_FIELDS, "berufsschule", "berufsschule.name", "berufsschule.plz", "pupils_only")
GERMAN_DATE_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
SLUG_MAX = 64


def editor(request: web.Request) -> ContentEditor:
    cockpit = cockpit_of(request)
    postcodes = cockpit.places if isinstance(cockpit.places, PostcodeDirectory) else None
    return ContentEditor(cockpit.app.uow_factory, cockpit.app.clock, postcodes)


def error_messages(request: web.Request, rejected: EditRejected) -> dict[str, list[str]]:
    """Field -> the reasons in words (prompts/messages/de/content_edit.yaml)."""
    catalog = cockpit_of(request).app.catalog
    return {field: [catalog.render(f"content_edit.error.{code}", formal=True) for code in codes]
            for field, codes in rejected.by_field.items()}


def unplaced(errors: dict[str, list[str]], shown: tuple[str, ...]) -> list[str]:
    """Messages of the whole entry and of fields the form has no place for: shown above the form."""
    return [message for field, messages in errors.items() if field not in shown for message in messages]


def iso_date(value: str) -> str:
    """A date as the pack has it: "01.08.2027" (typed where a browser has no date picker) -> "2027-08-01"."""
    match = GERMAN_DATE_RE.fullmatch(value.strip())
    if match is None:
        return value
    day, month, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def german_date(value: Any) -> str:
    """"2027-08-01" -> "01.08.2027" (anything else as it is)."""
    text = str(value or "")
    return f"{text[8:10]}.{text[5:7]}.{text[:4]}" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else text


def read_fields(form: forms.Form, creating: bool) -> dict[str, Any]:
    """The offer's pack fields as typed. Empty means "not given": the company's PLZ and place, one
    place, no school expectation; a new offer without a publication date is published today."""
    fields: dict[str, Any] = {name: forms.text(form, name, 5000) for name in TEXT_FIELDS}
    fields["start"], fields["published"] = iso_date(fields["start"]), iso_date(fields["published"])
    fields["berufsschule"] = {"name": forms.text(form, "berufsschule.name", 200),
                              "plz": forms.text(form, "berufsschule.plz", 10)}
    fields["pupils_only"] = forms.text(form, "pupils_only", 3) == "1"
    if creating and not fields["published"]:
        del fields["published"]
    return fields


def slug_of(request: web.Request) -> str:
    return request.match_info["slug"][:SLUG_MAX]


async def _choices(request: web.Request, edit: ContentEditor, values: dict[str, Any]) -> dict[str, Any]:
    """The cluster's companies, and the professions they train in (an offer's must be its company's);
    the offer's own values stay choosable even if they are not among them any more."""
    ours = await edit.items(agent_of(request).cluster, "companies")
    companies = [(c.slug, str(c.data.get("name", c.slug))) for c in ours]
    names = dict(await edit.professions())
    trained = {p for c in ours for p in c.data.get("professions", [])}
    if isinstance(values.get("company"), str) and values["company"] and values["company"] not in dict(companies):
        companies.append((values["company"], values["company"]))
    if isinstance(values.get("profession"), str) and values["profession"]:
        trained.add(values["profession"])
    professions = sorted(((p, names.get(p, p)) for p in trained), key=lambda pair: pair[1].casefold())
    return {"companies": companies, "professions": professions, "kinds": KINDS, "school_levels": SCHOOL_LEVELS}


def _values(item: ContentItem | None, company: str = "") -> dict[str, Any]:
    if item is None:
        return {"company": company, "kind": "ausbildung", "berufsschule": {}, "pupils_only": False}
    values = dict(item.data)
    values["berufsschule"] = values.get("berufsschule") or {}
    return values


def _typed(fields: dict[str, Any]) -> dict[str, Any]:
    """What was typed, as the form shows it again."""
    return {**fields, "berufsschule": fields.get("berufsschule") or {}}


def _differences(stored: dict[str, Any], typed: dict[str, Any], names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Fields whose stored value differs from what was typed (after a stale form), with the stored value."""
    def plain(value: Any) -> str:
        if isinstance(value, dict):
            return ", ".join(str(v) for v in value.values() if v)
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return "" if value is None else str(value)
    return [(name, stored.get(name)) for name in names
            if name in typed and plain(stored.get(name)) != plain(typed.get(name))]


async def overview(request: web.Request) -> web.Response:
    agent, edit = agent_of(request), editor(request)
    archived = request.query.get("archiviert") == "1"
    items = await edit.items(agent.cluster, "vacancies", archived=archived)
    companies = {c.slug: str(c.data.get("name", c.slug))
                 for gone in (False, True) for c in await edit.items(agent.cluster, "companies", archived=gone)}
    company = request.query.get("betrieb", "")[:SLUG_MAX]
    if company in companies:
        items = [item for item in items if item.data.get("company") == company]
    else:
        company = ""
    zone = ZoneInfo(cockpit_of(request).app.settings.timezone)
    today = cockpit_of(request).app.clock.now().astimezone(zone).date().isoformat()
    return page(request, "offers.html", {"items": items, "archived": archived, "companies": companies,
                                         "company": company, "professions": dict(await edit.professions()),
                                         "today": today, "german_date": german_date})


async def new_form(request: web.Request) -> web.Response:
    edit = editor(request)
    return await _form_page(request, edit, None, _values(None, request.query.get("betrieb", "")[:SLUG_MAX]))


async def _form_page(request: web.Request, edit: ContentEditor, item: ContentItem | None, values: dict[str, Any],
                     errors: dict[str, list[str]] | None = None, conflict: list[tuple[str, Any]] | None = None,
                     status: int = 200) -> web.Response:
    errors = errors or {}
    return page(request, "offer_edit.html", {
        "item": item, "values": values, "errors": errors, "stale": conflict is not None, "conflict": conflict or [],
        "unplaced": unplaced(errors, FORM_FIELDS), "german_date": german_date,
        **await _choices(request, edit, values)}, status=status)


async def detail(request: web.Request) -> web.Response:
    edit = editor(request)
    try:
        item = await edit.item(agent_of(request).cluster, "vacancies", slug_of(request))
    except NotFound:
        return not_found(request)
    return await _form_page(request, edit, item, _values(item))


def _done(slug: str, result: EditResult) -> web.HTTPSeeOther:
    """Back to the offer, naming what happened (and how many saved searches were told of it)."""
    notice = {"offer.create": "offer_created", "offer.archive": "offer_archived",
              "offer.restore": "offer_restored"}.get(result.action, "saved")
    if result.action == "offer.edit" and not result.changed:
        notice = "nothing_changed"
    count = f"&n={result.alerted}" if result.action in ("offer.create", "offer.restore") else ""
    return web.HTTPSeeOther(f"{BASE}/{slug}?hinweis={notice}{count}")


async def create(request: web.Request) -> web.StreamResponse:
    agent, edit = agent_of(request), editor(request)
    fields = read_fields(await request.post(), creating=True)
    try:
        result = await edit.create_offer(agent.by, agent.cluster, fields)
    except EditRejected as rejected:
        return await _form_page(request, edit, None, _typed(fields), error_messages(request, rejected), status=422)
    raise _done(result.slug, result)


async def update(request: web.Request) -> web.StreamResponse:
    agent, edit, slug = agent_of(request), editor(request), slug_of(request)
    form = await request.post()
    fields = read_fields(form, creating=False)
    try:
        result = await edit.edit_offer(agent.by, agent.cluster, slug, fields, forms.text(form, "version", 100) or None)
    except NotFound:
        return not_found(request)
    except EditRejected as rejected:
        item = await edit.item(agent.cluster, "vacancies", slug)
        return await _form_page(request, edit, item, _typed(fields), error_messages(request, rejected), status=422)
    except EditConflict:
        item = await edit.item(agent.cluster, "vacancies", slug)  # the form now carries its current version
        conflict = _differences(_values(item), _typed(fields), (*TEXT_FIELDS, "berufsschule", "pupils_only"))
        return await _form_page(request, edit, item, _typed(fields), conflict=conflict, status=409)
    raise _done(slug, result)


async def act(request: web.Request) -> web.StreamResponse:
    agent, edit, slug = agent_of(request), editor(request), slug_of(request)
    action = request.match_info["action"]
    try:
        if action == "archivieren":
            result = await edit.archive_offer(agent.by, agent.cluster, slug)
        elif action == "wiederherstellen":
            result = await edit.restore_offer(agent.by, agent.cluster, slug)
        else:
            return not_found(request)
    except NotFound:
        return not_found(request)
    except EditRejected:  # restoring an offer whose company or profession is gone meanwhile
        raise see_other(f"{BASE}/{slug}", "offer_not_restorable") from None
    raise _done(slug, result)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(BASE, overview)
    router.add_get(f"{BASE}/neu", new_form)
    router.add_post(f"{BASE}/neu", create)
    router.add_get(BASE + "/{slug}", detail)
    router.add_post(BASE + "/{slug}", update)
    router.add_post(BASE + "/{slug}/{action}", act)
