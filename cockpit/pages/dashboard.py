"""The start page: the funnel of the agent's cluster."""
from __future__ import annotations

from aiohttp import web

from cockpit.web import page


async def dashboard(request: web.Request) -> web.Response:
    return page(request, "dashboard.html")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", dashboard)
