"""Signing in without passwords, sessions, CSRF protection and the security headers.

- /cockpit in the bot stores the hash of a single-use token (flows/conversations/cockpit.py). Its link
  opens GET /anmelden, a page with one button; the POST uses the token up (a link preview fetching the
  GET cannot). The agent must still be a configured agent with a cluster.
- A session is a random secret in a cookie (HttpOnly, SameSite=Lax, Secure and `__Host-` over https);
  the database keeps its hash, the CSRF token and the expiry (COCKPIT_SESSION_HOURS after sign-in).
  Every request checks again that the id is an agent's and reads the cluster from the profile.
- Every POST needs the session's CSRF token in the form, and a foreign Origin is refused outright.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from cockpit.web import AGENT_KEY, CSRF_KEY, SESSION_KEY, Agent, Cockpit, cockpit_of, page
from flows.domain.sign_in import SIGN_IN_PATH, token_hash
from storage.cockpit import SqlCockpitRepository
from storage.repositories import SqlContentReader, SqlUserRepository

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC = (SIGN_IN_PATH, "/abgemeldet", "/static/")
SIGNED_OUT = "/abgemeldet"
CSP = ("default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def cookie_name(cockpit: Cockpit) -> str:
    return "__Host-lotse" if cockpit.secure else "lotse"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _agent(cockpit: Cockpit, channel: str, chat_id: int) -> Agent | None:
    """The agent behind an id, if it still is a configured agent's with a cluster."""
    if (channel, chat_id) not in cockpit.admins:
        return None
    async with cockpit.reads() as session:  # every click: never take the database's write lock for it
        profile = await SqlUserRepository(session).get(channel, chat_id)
        if profile is None or profile.cluster is None:
            return None
        cluster = await SqlContentReader(session).cluster(profile.cluster)
    return Agent(profile=profile, cluster=profile.cluster, cluster_name=cluster.name if cluster else profile.cluster)


@web.middleware
async def friendly_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An unexpected error: a page that says so (nothing was half-saved: units of work roll back), and
    a log line with the route, not the URL (it may hold a token)."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
        log.exception("cockpit: error on %s %s", request.method, route)
        return page(request, "error.html", status=500)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        response = error
        if not isinstance(error, web.HTTPRedirection):
            raise
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # the sign-in token is in a URL: never to other sites (and "no-referrer" would make Chrome send "Origin: null")
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"  # personal data never in a shared cache
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages behind the sign-in: a valid session of a current agent, and on POST the CSRF token."""
    cockpit = cockpit_of(request)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        if origin is not None and origin != cockpit.origin or request.headers.get("Sec-Fetch-Site") == "cross-site":
            log.warning("cockpit: refused a %s from another site", request.method)
            return page(request, "refused.html", status=403)
    if request.path.startswith(PUBLIC):
        return await handler(request)
    secret = request.cookies.get(cookie_name(cockpit))
    now = cockpit.app.clock.now()
    session = None
    if secret:
        async with cockpit.reads() as reading:
            session = await SqlCockpitRepository(reading).active_session(_hash(secret), now)
    agent = await _agent(cockpit, session.channel, session.chat_id) if session else None
    if session is None or agent is None or secret is None:
        raise web.HTTPSeeOther(SIGNED_OUT)
    request[AGENT_KEY], request[CSRF_KEY], request[SESSION_KEY] = agent, session.csrf_token, _hash(secret)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        form = await request.post()
        sent = form.get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf_token):
            log.warning("cockpit: refused a %s without a valid CSRF token", request.method)
            return page(request, "refused.html", status=403)
    return await handler(request)


async def sign_in_page(request: web.Request) -> web.Response:
    """GET: a page with one button (the token is used by the POST only)."""
    token = request.query.get("t", "")
    return page(request, "sign_in.html", {"token": token[:100]}, status=200 if token else 400)


async def sign_in(request: web.Request) -> web.StreamResponse:
    cockpit = cockpit_of(request)
    form = await request.post()
    token = form.get("t")
    now = cockpit.app.clock.now()
    identity = None
    if isinstance(token, str) and 20 <= len(token) <= 100:
        async with cockpit.app.uow_factory() as uow:
            identity = await uow.cockpit.use_sign_in(token_hash(token), now)
            await uow.commit()
    agent = await _agent(cockpit, *identity) if identity else None
    if agent is None:
        return page(request, "sign_in_failed.html", status=403)
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    hours = cockpit.app.settings.cockpit_session_hours
    async with cockpit.app.uow_factory() as uow:
        await uow.cockpit.add_session(_hash(secret), agent.profile.channel, agent.profile.chat_id, csrf, now,
                                      now + timedelta(hours=hours))
        await uow.cockpit.record(now, agent.by, agent.cluster, "signed_in", "cockpit")
        await uow.commit()
    response = web.HTTPSeeOther("/")
    response.set_cookie(cookie_name(cockpit), secret, max_age=hours * 3600, path="/", httponly=True,
                        secure=cockpit.secure, samesite="Lax")
    raise response


async def sign_out(request: web.Request) -> web.StreamResponse:
    cockpit = cockpit_of(request)
    agent, session = request[AGENT_KEY], request[SESSION_KEY]
    now = cockpit.app.clock.now()
    async with cockpit.app.uow_factory() as uow:
        await uow.cockpit.end_session(session, now)
        await uow.cockpit.record(now, agent.by, agent.cluster, "signed_out", "cockpit")
        await uow.commit()
    response = web.HTTPSeeOther(SIGNED_OUT)
    response.del_cookie(cookie_name(cockpit), path="/")
    raise response


async def signed_out_page(request: web.Request) -> web.Response:
    return page(request, "signed_out.html")
