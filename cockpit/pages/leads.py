"""Leads: the cluster's pipeline by status and age, silent companies first, one lead's history, and
CSV/XLSX exports – contact details only when asked for and only where the consent covers them
(flows/domain/lead_pipeline.py); looking at or exporting contact details is recorded in the audit log."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from cockpit.exports import CSV_MIME_TYPE, XLSX_MIME_TYPE, export_columns, leads_csv, leads_xlsx
from cockpit.web import agent_of, cockpit_of, not_found, page
from flows.domain.lead import LeadStatus
from flows.domain.lead_pipeline import FUNNEL, AgeBucket, contact_allowed, silent_companies, status_by_age
from storage.pipeline import cluster_leads, lead_detail

BASE = "/anfragen"
PAGE_SIZE = 100  # leads per page of the list (silent ones first); the exports have all
STAGES = ("on_the_way", *(s.value for s in LeadStatus))


async def overview(request: web.Request) -> web.Response:
    agent, cockpit = agent_of(request), cockpit_of(request)
    wanted = request.query.get("stand", "")
    statuses = [LeadStatus(wanted)] if wanted in {s.value for s in LeadStatus} else None
    async with cockpit.reads() as session:
        everything = await cluster_leads(session, agent.cluster, cockpit.app.clock.now(), places=cockpit.places)
    listed = [lead for lead in everything if statuses is None or lead.status in statuses]
    pages = max(1, -(-len(listed) // PAGE_SIZE))
    number = int(raw) if (raw := request.query.get("seite", "1")).isdigit() and 1 <= int(raw) <= pages else 1
    return page(request, "leads.html", {"leads": listed[(number - 1) * PAGE_SIZE:number * PAGE_SIZE],
                                        "listed": len(listed), "page_number": number, "pages": pages,
                                        "total": len(everything), "wanted": wanted if statuses else "",
                                        "silent": silent_companies(everything), "table": status_by_age(everything),
                                        "funnel": FUNNEL, "buckets": list(AgeBucket)})


async def detail(request: web.Request) -> web.Response:
    agent, cockpit = agent_of(request), cockpit_of(request)
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 9:
        return not_found(request)
    with_contacts = request.query.get("kontakt") == "1"
    now = cockpit.app.clock.now()
    async with cockpit.reads() as session:
        lead = await lead_detail(session, agent.cluster, int(raw), now, places=cockpit.places,
                                 with_contacts=with_contacts)
    if lead is None:
        return not_found(request)
    allowed = contact_allowed(lead)
    if with_contacts and allowed:
        async with cockpit.app.uow_factory() as uow:
            await uow.cockpit.record(now, agent.by, agent.cluster, "lead_contact_viewed", f"lead:{lead.id}")
            await uow.commit()
    return page(request, "lead.html", {"lead": lead, "contact_allowed": allowed,
                                       "with_contacts": with_contacts and allowed})


async def export(request: web.Request) -> web.StreamResponse:
    agent, cockpit = agent_of(request), cockpit_of(request)
    kind = request.match_info["kind"]
    with_contacts = request.query.get("kontakte") == "1"
    catalog = cockpit.app.catalog
    columns = {key: catalog.render(f"label.csv.{key}", formal=True) for key in export_columns(with_contacts)}
    statuses = {stage: catalog.render(f"label.lead_status.{stage}", formal=True) for stage in STAGES}
    zone = ZoneInfo(cockpit.app.settings.timezone)
    now = cockpit.app.clock.now()
    async with cockpit.reads() as session:
        found = await cluster_leads(session, agent.cluster, now, places=cockpit.places, with_contacts=with_contacts)
    async with cockpit.app.uow_factory() as uow:
        await uow.cockpit.record(now, agent.by, agent.cluster, "leads_exported", f"leads.{kind}",
                                 {"with_contacts": with_contacts, "leads": len(found)})
        await uow.commit()
    name = f"anfragen-{agent.cluster}-{now.astimezone(zone):%Y-%m-%d}"
    if kind == "csv":
        body, mime = leads_csv(found, columns, zone=zone, statuses=statuses, with_contacts=with_contacts), CSV_MIME_TYPE
    else:
        body, mime = leads_xlsx(found, columns, zone=zone, statuses=statuses, with_contacts=with_contacts,
                                sheet=catalog.render("label.csv.sheet_leads", formal=True)), XLSX_MIME_TYPE
    return web.Response(body=body, headers={"Content-Type": mime,
                                            "Content-Disposition": f'attachment; filename="{name}.{kind}"'})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(BASE, overview)
    router.add_get(BASE + "/export.{kind:csv|xlsx}", export)
    router.add_get(BASE + "/{id}", detail)
