"""What every cockpit page shares: the signed-in agent, the templates, and small helpers.

The pages live in `cockpit/pages/`; their German words in `prompts/cockpit/*.html` (Jinja2, HTML
autoescaped). Product rules come from flows/ (the same services the bot uses); storage/ only reads.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App
from content.postcodes import PostcodeDirectory
from flows.core.model import Profile
from flows.delivery.broadcast_service import Actor
from flows.domain import funnel
from prompts import Catalog

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "prompts" / "cockpit"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def shown(count: int) -> str:
    """A count as the cockpit shows it: 1..4 masked (flows/domain/funnel.py), thousands with a dot."""
    return funnel.shown(count) if funnel.masked(count) else f"{count:,}".replace(",", ".")


@dataclass(frozen=True)
class Agent:
    """The signed-in cluster agent, checked again on every request."""

    profile: Profile
    cluster: str
    cluster_name: str

    @property
    def by(self) -> str:
        """As recorded in histories and the audit log (the same as in the bot)."""
        return f"{self.profile.channel}:{self.profile.chat_id}"

    @property
    def actor(self) -> Actor:
        return Actor(by=self.by, agent=True, cluster=self.cluster)


@dataclass
class Cockpit:
    app: App
    templates: Environment
    base_url: str  # COCKPIT_URL
    bot_username: str
    places: PostcodeDirectory  # postal codes: distances, and a company's federal state for its holidays
    reads: async_sessionmaker[AsyncSession]  # read-only sessions: never take SQLite's write lock

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def admins(self) -> frozenset[tuple[str, int]]:
        settings = self.app.settings
        return frozenset([*(("telegram", i) for i in settings.admin_telegram_ids),
                          *(("console", i) for i in settings.admin_console_ids)])


COCKPIT: web.AppKey[Cockpit] = web.AppKey("cockpit", Cockpit)
AGENT_KEY: web.RequestKey[Agent] = web.RequestKey("agent", Agent)
CSRF_KEY: web.RequestKey[str] = web.RequestKey("csrf", str)
SESSION_KEY: web.RequestKey[str] = web.RequestKey("session", str)  # the hash of the session's secret


def cockpit_of(request: web.Request) -> Cockpit:
    return request.app[COCKPIT]


def agent_of(request: web.Request) -> Agent:
    return request[AGENT_KEY]  # set by cockpit.auth.signed_in for every page behind the sign-in


def template_environment(catalog: Catalog) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html", "svg"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = catalog.local  # {{ at|local }} in TIMEZONE
    env.filters["shown"] = shown
    env.filters["de_number"] = lambda n: f"{n:,}".replace(",", ".")
    env.globals["label"] = lambda key: catalog.render(key, formal=True)  # the bot's words, e.g. a lead's status
    return env


def page(request: web.Request, template: str, values: Mapping[str, Any] | None = None,
         status: int = 200) -> web.Response:
    """A page in the layout, with the agent, the CSRF token for its forms and the current section."""
    cockpit = cockpit_of(request)
    context: dict[str, Any] = {"agent": request.get(AGENT_KEY), "csrf": request.get(CSRF_KEY, ""),
                               "path": request.path, "notice": request.query.get("hinweis", ""),
                               "notice_count": int(n) if (n := request.query.get("n", "")).isdigit() and len(n) < 7 else 0}
    context.update(values or {})
    html = cockpit.templates.get_template(template).render(**context)
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def see_other(location: str, notice: str | None = None) -> web.HTTPSeeOther:
    """After a change: back to a page (POST/redirect/GET), with a notice code the page words."""
    return web.HTTPSeeOther(f"{location}?hinweis={notice}" if notice else location)


def not_found(request: web.Request) -> web.Response:
    """Unknown, or another cluster's: the same answer, nothing of it is shown."""
    return page(request, "not_found.html", status=404)
