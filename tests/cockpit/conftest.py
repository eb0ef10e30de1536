"""The cockpit's web application in this process (aiohttp's TestServer on 127.0.0.1) on a migrated
SQLite database with the demo pack, with an injected clock: sign-in, sessions, CSRF and the pages'
rules, fast and without a browser. tests/web/ drives the real `lotse cockpit` in Chromium."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from bot.app import App, build_app
from bot.settings import Settings
from cockpit.app import build_web_app
from cockpit.web import COCKPIT
from content import DEMO_DIR, default_directory
from content.loader import load_pack
from flows.core.model import Profile
from flows.domain.sign_in import new_sign_in
from storage.content_sync import sync_pack
from tests.unit.fakes import SteppableClock

AGENT, SECOND_AGENT, OTHER_AGENT, NOT_AN_AGENT = 900, 901, 902, 903
CLUSTER, OTHER_CLUSTER = "zukunftsmacher", "tab-mint"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    """One browser: its own cookies; `base` is the cockpit's address."""

    http: ClientSession
    base: str
    csrf: str = ""

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        response = await self.http.get(self.base + path, allow_redirects=False, **kwargs)
        await response.read()
        if response.content_type == "text/html" and (found := CSRF_RE.search(await response.text())):
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]] | None = None, csrf: bool = True,
                   headers: dict[str, str] | None = None) -> ClientResponse:
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            fields.append(("csrf", self.csrf))
        response = await self.http.post(self.base + path, data=fields, allow_redirects=False,
                                        headers={"Origin": self.base, **(headers or {})})
        await response.read()
        return response


@dataclass
class CockpitUnderTest:
    app: App
    clock: SteppableClock
    base: str
    browsers: list[Browser]

    async def browser(self) -> Browser:
        browser = Browser(ClientSession(cookie_jar=CookieJar(unsafe=True)), self.base)
        self.browsers.append(browser)
        return browser

    async def link_for(self, chat_id: int) -> str:
        """What /cockpit stores for this id: the token of a fresh sign-in link."""
        now = self.clock.now()
        sign_in = new_sign_in(now)
        async with self.app.uow_factory() as uow:
            await uow.cockpit.add_sign_in(sign_in.token_hash, "telegram", chat_id, now, sign_in.expires_at)
            await uow.commit()
        return sign_in.token

    async def signed_in(self, chat_id: int = AGENT) -> Browser:
        browser = await self.browser()
        response = await browser.post("/anmelden", {"t": await self.link_for(chat_id)}, csrf=False)
        assert response.status == 303 and response.headers["Location"] == "/", await response.text()
        await browser.get("/")
        return browser


async def _person(app: App, chat_id: int, cluster: str | None, now: Any) -> Profile:
    async with app.uow_factory() as uow:
        profile = await uow.users.save(Profile(channel="telegram", chat_id=chat_id, role="other", cluster=cluster,
                                               onboarded=True, created_at=now, last_seen_at=now))
        await uow.commit()
    return profile


@pytest.fixture
async def cockpit(db_url: str) -> AsyncIterator[CockpitUnderTest]:
    clock = SteppableClock()
    # The clusters' own zone, whatever TIMEZONE the suite runs with (test-at-night sets another).
    settings = Settings(_env_file=None, database_url=db_url, timezone="Europe/Berlin",  # type: ignore[call-arg]
                        admin_telegram_ids=[AGENT, SECOND_AGENT, OTHER_AGENT], bot_username="AzubiLotseTestBot")
    app = await build_app(settings, clock=clock)
    await sync_pack(app.uow_factory, load_pack(DEMO_DIR, default_directory()), clock)
    for chat_id, cluster in ((AGENT, CLUSTER), (SECOND_AGENT, CLUSTER), (OTHER_AGENT, OTHER_CLUSTER),
                             (NOT_AN_AGENT, CLUSTER)):
        await _person(app, chat_id, cluster, clock.now())
    web_app = build_web_app(app, "http://127.0.0.1", "AzubiLotseTestBot")
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    web_app[COCKPIT].base_url = base  # the port is known now: Origin checks compare with it
    under_test = CockpitUnderTest(app=app, clock=clock, base=base, browsers=[])
    try:
        yield under_test
    finally:
        for browser in under_test.browsers:
            await browser.http.close()
        await server.close()
        await app.close()
