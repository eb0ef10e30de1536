"""The start page: the funnel of the agent's cluster over a period, per week and per source (deep
link / QR code), with drop-off per step. Counts of 1..4 are never shown as numbers (flows/domain/funnel.py);
sources with fewer than 5 new people are shown together, so no small group stands alone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from cockpit.charts import drop_off_text, funnel_svg, weekly_svg
from cockpit.web import agent_of, cockpit_of, page
from flows.domain.funnel import MASK_BELOW, STEPS, Funnel, FunnelStep, by_source, by_week, funnel, week_of
from storage.funnel import journeys
from storage.links import SqlTrackedLinks

PERIODS = {"4": 4, "12": 12, "52": 52}  # weeks; "alle": everything
DEFAULT_PERIOD = "12"
SOURCE_STEPS = (FunnelStep.NEW, FunnelStep.ONBOARDED, FunnelStep.INTERESTED, FunnelStep.DELIVERED, FunnelStep.HIRED)


@dataclass(frozen=True)
class SourceRow:
    source: str | None  # None: came without a link; "": the pooled small sources
    label: str | None  # the tracked link's label, if the source is one
    funnel: Funnel
    others: int = 0  # how many small sources are pooled here


def merge(funnels: list[Funnel]) -> Funnel:
    return Funnel(tuple(map(sum, zip(*(f.counts for f in funnels)))), tuple(map(sum, zip(*(f.done for f in funnels)))))


async def dashboard(request: web.Request) -> web.Response:
    agent, cockpit = agent_of(request), cockpit_of(request)
    period = request.query.get("zeitraum", DEFAULT_PERIOD)
    if period not in PERIODS and period != "alle":
        period = DEFAULT_PERIOD
    zone = ZoneInfo(cockpit.app.settings.timezone)
    now = cockpit.app.clock.now()
    this_monday = week_of(now, zone)
    first = this_monday - timedelta(weeks=PERIODS[period] - 1) if period in PERIODS else None
    since = None
    if first is not None:  # the local Monday 00:00 of the first week, as UTC
        since = now.astimezone(zone).replace(year=first.year, month=first.month, day=first.day, hour=0, minute=0,
                                             second=0, microsecond=0)
    async with cockpit.reads() as session:
        found = await journeys(session, agent.cluster, since)
        links = {link.source: link for link in await SqlTrackedLinks(session).for_cluster(agent.cluster,
                                                                                          include_archived=True)}
    catalog = cockpit.app.catalog
    labels = {step: catalog.render(f"label.funnel.{step.value}", formal=True) for step in STEPS}
    total = funnel(found)
    weeks = by_week(found, zone, first=first, last=this_monday) if found or first else []
    sources = by_source(found)
    big = [(source, f) for source, f in sources if f.total >= MASK_BELOW]
    small = [f for _, f in sources if f.total < MASK_BELOW]
    rows = [SourceRow(source, links[source].label if source in links else None, f) for source, f in big]
    if small:
        rows.append(SourceRow("", None, merge(small), others=len(small)))
    steps = [{"step": step, "label": labels[step], "count": total[step],
              "drop_off": drop_off_text(total.drop_off(step))} for step in STEPS]
    return page(request, "dashboard.html", {
        "period": period, "periods": [*PERIODS, "alle"], "total": total, "steps": steps,
        "funnel_chart": funnel_svg(total, labels, catalog.render("label.funnel_title", formal=True)),
        "weekly_chart": weekly_svg(weeks, labels, catalog.render("label.funnel_weekly_title", formal=True))
        if weeks else None,
        "sources": rows, "source_steps": SOURCE_STEPS, "labels": labels, "first": first})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", dashboard)
