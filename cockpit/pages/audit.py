"""The audit log (every change made in the cockpit of this cluster, who and when, newest first) and the help page."""
from __future__ import annotations

from aiohttp import web

from cockpit.web import agent_of, cockpit_of, page
from storage.cockpit import SqlCockpitRepository

SHOWN = 200


async def audit_log(request: web.Request) -> web.Response:
    agent, cockpit = agent_of(request), cockpit_of(request)
    async with cockpit.reads() as session:
        entries = await SqlCockpitRepository(session).audit(agent.cluster, limit=SHOWN)
    return page(request, "audit.html", {"entries": entries, "limit": SHOWN})


async def help_page(request: web.Request) -> web.Response:
    return page(request, "help.html", {"session_hours": cockpit_of(request).app.settings.cockpit_session_hours})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/protokoll", audit_log)
    router.add_get("/hilfe", help_page)
