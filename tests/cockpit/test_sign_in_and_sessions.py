"""Issue 12, point 1: signing in without passwords, sessions, sign-out and CSRF – like an adversary."""
from __future__ import annotations

import re

from yarl import URL

from cockpit.auth import CSP
from tests.cockpit.conftest import AGENT, NOT_AN_AGENT, CockpitUnderTest

PAGES = ("/", "/ankuendigungen", "/ankuendigungen/neu", "/ankuendigungen/1")


async def test_a_link_signs_in_once_and_the_session_opens_the_pages(cockpit: CockpitUnderTest) -> None:
    token = await cockpit.link_for(AGENT)
    browser = await cockpit.browser()
    page = await browser.get(f"/anmelden?t={token}")  # what a link preview fetches: uses nothing up
    assert page.status == 200 and 'value="' + token + '"' in await page.text()
    response = await browser.post("/anmelden", {"t": token}, csrf=False)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    home = await browser.get("/")
    assert home.status == 200 and "Die Zukunftsmacher" in await home.text()
    # The same link again, in another browser: refused.
    thief = await cockpit.browser()
    again = await thief.post("/anmelden", {"t": token}, csrf=False)
    assert again.status == 403 and "gilt nicht" in await again.text()
    assert (await thief.get("/")).headers["Location"] == "/abgemeldet"


async def test_a_link_expires_after_ten_minutes(cockpit: CockpitUnderTest) -> None:
    token = await cockpit.link_for(AGENT)
    cockpit.clock.advance(minutes=10, seconds=1)
    browser = await cockpit.browser()
    assert (await browser.post("/anmelden", {"t": token}, csrf=False)).status == 403
    fresh = await cockpit.link_for(AGENT)
    cockpit.clock.advance(minutes=9, seconds=59)
    assert (await browser.post("/anmelden", {"t": fresh}, csrf=False)).status == 303


async def test_no_way_in_without_being_an_agent(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.browser()
    # A link stored for someone who is not a configured agent (e.g. an agent who was removed since).
    assert (await browser.post("/anmelden", {"t": await cockpit.link_for(NOT_AN_AGENT)}, csrf=False)).status == 403
    # Guessed or malformed tokens.
    for token in ("", "x", "a" * 43, "' OR 1=1 --", "a" * 5000):
        assert (await browser.post("/anmelden", {"t": token}, csrf=False)).status == 403
    # No session, a made-up cookie: every page sends to the signed-out page, nothing is shown.
    for path in PAGES:
        response = await browser.get(path)
        assert response.status == 303 and response.headers["Location"] == "/abgemeldet"
    browser.http.cookie_jar.update_cookies({"lotse": "made-up"})
    assert (await browser.get("/")).headers["Location"] == "/abgemeldet"


async def test_sessions_expire_and_sign_out_ends_them(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    cockpit.clock.advance(hours=7, minutes=59)
    assert (await browser.get("/")).status == 200
    cockpit.clock.advance(minutes=2)  # COCKPIT_SESSION_HOURS = 8 after signing in
    assert (await browser.get("/")).headers["Location"] == "/abgemeldet"
    other = await cockpit.signed_in()
    stolen = dict(other.http.cookie_jar.filter_cookies(URL(other.base)))  # a copy of the cookie, kept by someone
    signed_out = await other.post("/abmelden")
    assert signed_out.status == 303 and signed_out.headers["Location"] == "/abgemeldet"
    replay = await cockpit.browser()
    replay.http.cookie_jar.update_cookies({name: morsel.value for name, morsel in stolen.items()})
    assert (await replay.get("/")).headers["Location"] == "/abgemeldet"


async def test_an_agent_removed_from_the_configuration_is_out_at_the_next_click(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    cockpit.app.settings.admin_telegram_ids.remove(AGENT)
    assert (await browser.get("/")).headers["Location"] == "/abgemeldet"


async def test_forms_without_the_csrf_token_or_from_another_site_are_refused(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    form = {"topic": "events", "roles": "teen", "text_du": "Hallo"}
    for response in (await browser.post("/ankuendigungen/neu", form, csrf=False),
                     await browser.post("/ankuendigungen/neu", [*form.items(), ("csrf", "forged")], csrf=False),
                     await browser.post("/ankuendigungen/neu", form, headers={"Origin": "https://evil.example"}),
                     await browser.post("/ankuendigungen/neu", form, headers={"Sec-Fetch-Site": "cross-site"}),
                     await browser.post("/abmelden", csrf=False)):
        assert response.status == 403 and "nicht ausgeführt" in await response.text()
    async with cockpit.app.uow_factory() as uow:
        assert await uow.broadcasts.for_cluster("zukunftsmacher") == []
    assert (await browser.get("/")).status == 200  # still signed in: the forged sign-out did nothing
    # Another agent's token does not fit this session.
    second = await cockpit.signed_in()
    assert second.csrf != browser.csrf
    browser.csrf = second.csrf
    assert (await browser.post("/ankuendigungen/neu", form)).status == 403


async def test_pages_carry_the_security_headers(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    response = await browser.get("/")
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    html = await response.text()
    assert not re.search(r"""(src|href)=["']https?://""", html), "no external resources"
