"""Links and QR codes: one deep link per poster, fair stand, school or event, with its source (so the
dashboard's funnel by source shows which poster worked), as a QR code (PNG, SVG) and an A4 sheet to
print. Archiving only takes a link off the list: printed posters keep working."""
from __future__ import annotations

from aiohttp import web

from cockpit import forms
from cockpit.print_sheet import print_svg
from cockpit.qr import qr_png, qr_svg
from cockpit.web import agent_of, cockpit_of, not_found, page, see_other
from flows.domain.tracked_link import LinkKind, TrackedLink, start_url, validate_label
from storage.links import SqlTrackedLinks

BASE = "/links"


def _id(request: web.Request) -> int | None:
    raw = request.match_info["id"]
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None


async def _events(request: web.Request) -> list[tuple[str, str]]:
    agent, cockpit = agent_of(request), cockpit_of(request)
    async with cockpit.app.uow_factory() as uow:
        events = await uow.events.upcoming(cockpit.app.clock.now())
    return [(e.slug, e.title) for e in events if e.cluster == agent.cluster]


async def overview(request: web.Request, errors: dict[str, str] | None = None,
                   typed: dict[str, str] | None = None) -> web.Response:
    agent, cockpit = agent_of(request), cockpit_of(request)
    async with cockpit.reads() as session:
        store = SqlTrackedLinks(session)
        links = await store.for_cluster(agent.cluster)
        counts = await store.counts_by_source(agent.cluster)
    return page(request, "links.html", {"links": links, "counts": counts, "kinds": [k.value for k in LinkKind],
                                        "events": await _events(request), "errors": errors or {},
                                        "typed": typed or {}}, status=422 if errors else 200)


async def create(request: web.Request) -> web.StreamResponse:
    agent, cockpit = agent_of(request), cockpit_of(request)
    form = await request.post()
    label, kind, event = forms.text(form, "label", 200), forms.text(form, "kind", 16), forms.text(form, "event", 64)
    typed = {"label": label, "kind": kind, "event": event}
    if kind not in {k.value for k in LinkKind}:
        return await overview(request, {"kind": "missing"}, typed)
    if event and event not in {slug for slug, _ in await _events(request)}:
        return await overview(request, {"event": "unknown"}, typed)
    now = cockpit.app.clock.now()
    try:
        validate_label(label)
    except ValueError as error:
        return await overview(request, {"label": str(error)}, typed)
    async with cockpit.app.uow_factory() as uow:
        link = await SqlTrackedLinks(uow.session).add(agent.cluster, label, kind, agent.by, now,
                                                      target=f"event:{event}" if event else None)
        await uow.cockpit.record(now, agent.by, agent.cluster, "link_created", f"link:{link.source}",
                                 {"label": link.label, "kind": link.kind.value})
        await uow.commit()
    raise see_other(f"{BASE}/{link.id}", "link_created")


async def _link(request: web.Request) -> TrackedLink | None:
    link_id = _id(request)
    if link_id is None:
        return None
    agent, cockpit = agent_of(request), cockpit_of(request)
    async with cockpit.reads() as session:
        return await SqlTrackedLinks(session).get(agent.cluster, link_id)


def _url(request: web.Request, link: TrackedLink) -> str:
    return start_url(cockpit_of(request).bot_username, link.cluster, link.source)


async def detail(request: web.Request) -> web.Response:
    link = await _link(request)
    if link is None:
        return not_found(request)
    async with cockpit_of(request).reads() as session:
        came = (await SqlTrackedLinks(session).counts_by_source(link.cluster)).get(link.source, 0)
    return page(request, "link.html", {"link": link, "url": _url(request, link), "came": came})


async def picture(request: web.Request) -> web.StreamResponse:
    link = await _link(request)
    if link is None:
        return not_found(request)
    agent = agent_of(request)
    url, kind = _url(request, link), request.match_info["kind"]
    name = f"qr-{link.cluster}-{link.source}"
    if kind == "png":
        return web.Response(body=qr_png(url), content_type="image/png",
                            headers={"Content-Disposition": f'inline; filename="{name}.png"'})
    if kind == "svg":
        return web.Response(text=qr_svg(url, title=link.label), content_type="image/svg+xml",
                            headers={"Content-Disposition": f'inline; filename="{name}.svg"'})
    sheet = print_svg(link.label, url, agent.cluster_name,
                      hint=cockpit_of(request).app.catalog.render("label.qr_hint", formal=True))
    return web.Response(text=sheet, content_type="image/svg+xml",
                        headers={"Content-Disposition": f'inline; filename="{name}-a4.svg"'})


async def archive(request: web.Request) -> web.StreamResponse:
    agent, cockpit = agent_of(request), cockpit_of(request)
    link_id = _id(request)
    now = cockpit.app.clock.now()
    async with cockpit.app.uow_factory() as uow:
        store = SqlTrackedLinks(uow.session)
        link = await store.get(agent.cluster, link_id) if link_id is not None else None
        if link is None or not await store.archive(agent.cluster, link.id or 0, now):
            return not_found(request)
        await uow.cockpit.record(now, agent.by, agent.cluster, "link_archived", f"link:{link.source}")
        await uow.commit()
    raise see_other(BASE, "link_archived")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(BASE, overview)
    router.add_post(BASE, create)
    router.add_get(BASE + "/{id}", detail)
    router.add_get(BASE + "/{id}/qr.{kind:png|svg}", picture)
    router.add_get(BASE + "/{id}/{kind:druckbogen}.svg", picture)
    router.add_post(BASE + "/{id}/archivieren", archive)
