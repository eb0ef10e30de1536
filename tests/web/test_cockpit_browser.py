"""Issue 12, point 8: the cockpit in headless Chromium against the real `lotse run` and `lotse cockpit`:
the sign-in link from the bot, composing and scheduling an announcement, a forged form, and an
agent of another cluster who sees nothing of it."""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By

from flows.core.clock import SystemClock
from flows.core.model import Profile
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import BotProcess
from tests.fakes import FakeBotApi
from tests.web.conftest import CockpitProcess, heading, sign_in, wait

AGENT, SECOND_AGENT, OTHER_AGENT = 9100, 9101, 9102


async def _agents(url: str) -> None:
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            now = datetime.now(UTC)
            for chat, cluster in ((AGENT, "zukunftsmacher"), (SECOND_AGENT, "zukunftsmacher"),
                                  (OTHER_AGENT, "tab-mint")):
                await uow.users.save(Profile(channel="telegram", chat_id=chat, role="other", cluster=cluster,
                                             onboarded=True, created_at=now, last_seen_at=now))
            await uow.commit()
    finally:
        await engine.dispose()


def _seed_agents(bot: BotProcess) -> None:
    asyncio.run(_agents(bot.env["DATABASE_URL"]))


def _db(bot: BotProcess) -> sqlite3.Connection:
    return sqlite3.connect(bot.workdir / "lotse.db")


def test_sign_in_compose_schedule_and_nothing_for_another_cluster(
        api: FakeBotApi, bot: BotProcess, cockpit: CockpitProcess, browser_factory: Callable[[], Chrome]) -> None:
    _seed_agents(bot)
    driver = browser_factory()
    link = sign_in(api, driver, AGENT)
    assert "Die Zukunftsmacher" in driver.find_element(By.CLASS_NAME, "brand").text
    # The link was used up: opening it again in a fresh browser does not sign anyone in.
    thief = browser_factory()
    thief.get(link)
    thief.find_element(By.ID, "anmelden").click()
    wait(thief, lambda d: heading(d) == "Dieser Link gilt nicht (mehr)" or None)

    # Compose: the phone preview shows the bot's message with the example first name.
    driver.get(f"{cockpit.url}/ankuendigungen/neu")
    driver.find_element(By.CSS_SELECTOR, "input[name=roles][value=parent]").click()  # teens only
    driver.find_element(By.NAME, "text_du").send_keys("Hey {vorname}, am Samstag ist Ausbildungsmesse!")
    driver.find_element(By.CSS_SELECTOR, "#compose button[type=submit]").click()
    wait(driver, lambda d: "Ankündigung Nr." in heading(d) or None)
    assert "Gespeichert." in driver.page_source
    bubble = driver.find_element(By.CSS_SELECTOR, ".phone .bubble").text
    assert "Hey Alex, am Samstag ist Ausbildungsmesse!" in bubble
    broadcast_id = int(heading(driver).removeprefix("Ankündigung Nr. "))
    # The live count is filled in by the page's script from the server.
    wait(driver, lambda d: "Personen" in d.find_element(By.CSS_SELECTOR, "#live-count [data-count]").text or None)

    # Schedule for the day after tomorrow, 10:00 wall time where the bot's users live.
    zone = ZoneInfo(bot.env["TIMEZONE"])
    day = (datetime.now(zone) + timedelta(days=2)).date()
    when = driver.find_element(By.ID, "when")
    driver.execute_script("arguments[0].value = arguments[1]", when, f"{day.isoformat()}T10:00")
    driver.find_element(By.ID, "schedule").click()
    wait(driver, lambda d: "Die Ankündigung ist geplant" in d.page_source or None)
    assert driver.find_element(By.ID, "status").text == "Geplant"
    with _db(bot) as db:
        status, scheduled_at, cluster = db.execute("SELECT status, scheduled_at, cluster FROM broadcasts WHERE id = ?",
                                                   (broadcast_id,)).fetchone()
    assert (status, cluster) == ("scheduled", "zukunftsmacher")
    expected = datetime(day.year, day.month, day.day, 10, 0, tzinfo=zone).astimezone(UTC)
    assert datetime.fromisoformat(scheduled_at).replace(tzinfo=UTC) == expected

    # A form another page slipped in, without the CSRF token: refused, nothing changed.
    driver.execute_script("""
        const form = document.createElement('form');
        form.method = 'post'; form.action = '/ankuendigungen/' + arguments[0] + '/abbrechen';
        document.body.appendChild(form); form.submit();""", broadcast_id)
    wait(driver, lambda d: heading(d) == "Das wurde nicht ausgeführt" or None)
    with _db(bot) as db:
        assert db.execute("SELECT status FROM broadcasts WHERE id = ?", (broadcast_id,)).fetchone() == ("scheduled",)

    # An agent of another cluster: not in the list, and the address itself says "not found".
    other = browser_factory()
    sign_in(api, other, OTHER_AGENT)
    assert "TAB_MINT" in other.find_element(By.CLASS_NAME, "brand").text
    other.get(f"{cockpit.url}/ankuendigungen")
    assert f"Nr. {broadcast_id}" not in other.page_source
    other.get(f"{cockpit.url}/ankuendigungen/{broadcast_id}")
    assert heading(other) == "Nicht gefunden"
    assert "Ausbildungsmesse" not in other.page_source
