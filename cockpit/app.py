"""The cockpit's web application (aiohttp): `lotse cockpit` serves it on COCKPIT_HOST:COCKPIT_PORT.

It runs beside the bot on the same database. It only writes through the flows' services (what the
bot applies applies here too); what goes out to people is put in the outbox, which the bot sends."""
from __future__ import annotations

import asyncio
import logging

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.app import App
from cockpit import auth
from cockpit.pages import announcements, audit, companies, dashboard, events, leads, links, offers, questions
from cockpit.web import COCKPIT, STATIC_DIR, Cockpit, template_environment
from content import default_directory
from flows.domain.sign_in import SIGN_IN_PATH
from prompts import DEFAULT_BOT_USERNAME
from storage.db import create_engine, session_factory

log = logging.getLogger(__name__)


def build_web_app(app: App, base_url: str, bot_username: str) -> web.Application:
    web_app = web.Application(middlewares=[auth.security_headers, auth.friendly_errors, auth.signed_in], client_max_size=1024 * 1024)
    read_engine = create_engine(app.settings.database_url, read_only=True)
    web_app[COCKPIT] = Cockpit(app=app, templates=template_environment(app.catalog), base_url=base_url,
                               bot_username=bot_username, places=default_directory(),
                               reads=session_factory(read_engine))

    async def close_reads(_: web.Application) -> None:
        await read_engine.dispose()
    web_app.on_cleanup.append(close_reads)
    web_app.router.add_get(SIGN_IN_PATH, auth.sign_in_page)
    web_app.router.add_post(SIGN_IN_PATH, auth.sign_in)
    web_app.router.add_get(auth.SIGNED_OUT, auth.signed_out_page)
    web_app.router.add_post("/abmelden", auth.sign_out)
    web_app.router.add_static("/static/", STATIC_DIR)
    dashboard.add_routes(web_app.router)
    announcements.add_routes(web_app.router)
    leads.add_routes(web_app.router)
    links.add_routes(web_app.router)
    events.add_routes(web_app.router)
    audit.add_routes(web_app.router)
    offers.add_routes(web_app.router)
    companies.add_routes(web_app.router)
    questions.add_routes(web_app.router)
    return web_app


async def bot_username(app: App) -> str:
    """BOT_USERNAME, else Telegram's getMe (for t.me links), else a placeholder with a warning."""
    settings = app.settings
    if settings.bot_username:
        return settings.bot_username
    if settings.bot_token is not None:
        url = f"{settings.api_base}/bot{settings.bot_token.get_secret_value()}/getMe"
        try:
            async with ClientSession(timeout=ClientTimeout(total=10)) as http, http.get(url) as response:
                body = await response.json()
            if body.get("ok") and isinstance(body["result"].get("username"), str):
                return str(body["result"]["username"])
        except (ClientError, TimeoutError, ValueError, KeyError):
            pass
    log.warning("cockpit: bot username unknown (set BOT_USERNAME): links show %s", DEFAULT_BOT_USERNAME)
    return DEFAULT_BOT_USERNAME


async def serve_cockpit(app: App, stop: asyncio.Event | None = None) -> None:
    settings = app.settings
    base_url = settings.cockpit_base
    assert base_url is not None, "checked by the command"
    username = await bot_username(app)
    app.catalog.globals["bot"] = username
    runner = web.AppRunner(build_web_app(app, base_url, username), access_log=None)  # no URLs with tokens in logs
    await runner.setup()
    site = web.TCPSite(runner, settings.cockpit_host, settings.cockpit_port)
    await site.start()
    log.info("cockpit: listening on %s:%s for %s", settings.cockpit_host, settings.cockpit_port, base_url)
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
