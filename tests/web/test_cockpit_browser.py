"""Issue 12, point 8: the cockpit in headless Chromium against the real `lotse run` and `lotse cockpit`:
the sign-in link from the bot, composing and scheduling an announcement, a forged form, and an
agent of another cluster who sees nothing of it."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By

from flows.core.clock import SystemClock
from flows.core.model import Profile
from flows.domain.content import Rsvp
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import BotProcess, utc, wait_for_text
from tests.fakes import FakeBotApi
from tests.web.conftest import CockpitProcess, heading, sign_in, wait

AGENT, SECOND_AGENT, OTHER_AGENT = 9100, 9101, 9102


EVENT = "karrieretage-loebau-2027"  # Die Zukunftsmacher, September 2027
ATTENDEES = range(9400, 9407)  # young people of the cluster who RSVP'd to it
NEWCOMERS = range(9450, 9455)  # came through a poster, not onboarded yet


async def _people(url: str) -> None:
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            now = datetime.now(UTC)
            for chat, cluster in ((AGENT, "zukunftsmacher"), (SECOND_AGENT, "zukunftsmacher"),
                                  (OTHER_AGENT, "tab-mint")):
                await uow.users.save(Profile(channel="telegram", chat_id=chat, role="other", cluster=cluster,
                                             onboarded=True, created_at=now, last_seen_at=now))
            for chat in ATTENDEES:
                young = await uow.users.save(Profile(channel="telegram", chat_id=chat, role="teen",
                                                     age_band="18plus", plz="02708", place="Löbau",
                                                     cluster="zukunftsmacher", onboarded=True, created_at=now,
                                                     last_seen_at=now))
                assert young.id is not None
                await uow.events.save_rsvp(young.id, Rsvp(event=EVENT, offsets=[], created_at=now))
            for chat in NEWCOMERS:
                await uow.users.save(Profile(channel="telegram", chat_id=chat, cluster="zukunftsmacher",
                                             source="plakat-mensa", created_at=now, last_seen_at=now))
            await uow.commit()
    finally:
        await engine.dispose()


def _seed_agents(bot: BotProcess) -> None:
    asyncio.run(_people(bot.database_url))


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
    [(status, scheduled_at, cluster)] = bot.rows("SELECT status, scheduled_at, cluster FROM broadcasts WHERE id = :id",
                                                 id=broadcast_id)
    assert (status, cluster) == ("scheduled", "zukunftsmacher")
    expected = datetime(day.year, day.month, day.day, 10, 0, tzinfo=zone).astimezone(UTC)
    assert utc(scheduled_at) == expected

    # A form another page slipped in, without the CSRF token: refused, nothing changed.
    driver.execute_script("""
        const form = document.createElement('form');
        form.method = 'post'; form.action = '/ankuendigungen/' + arguments[0] + '/abbrechen';
        document.body.appendChild(form); form.submit();""", broadcast_id)
    wait(driver, lambda d: heading(d) == "Das wurde nicht ausgeführt" or None)
    assert bot.rows("SELECT status FROM broadcasts WHERE id = :id", id=broadcast_id) == [("scheduled",)]

    # An agent of another cluster: not in the list, and the address itself says "not found".
    other = browser_factory()
    sign_in(api, other, OTHER_AGENT)
    assert "TAB_MINT" in other.find_element(By.CLASS_NAME, "brand").text
    other.get(f"{cockpit.url}/ankuendigungen")
    assert f"Nr. {broadcast_id}" not in other.page_source
    other.get(f"{cockpit.url}/ankuendigungen/{broadcast_id}")
    assert heading(other) == "Nicht gefunden"
    assert "Ausbildungsmesse" not in other.page_source


def _cells(driver: Chrome, selector: str) -> list[str]:
    return [str(cell.text) for cell in driver.find_elements(By.CSS_SELECTOR, selector)]


def test_dashboard_matches_the_database_and_moving_an_event_tells_who_rsvpd(
        api: FakeBotApi, bot: BotProcess, cockpit: CockpitProcess, browser_factory: Callable[[], Chrome]) -> None:
    _seed_agents(bot)
    for chat in ATTENDEES:
        api.add_chat(chat)  # they wrote to the bot before (Telegram knows their chats)
    driver = browser_factory()
    sign_in(api, driver, AGENT)
    # The funnel's numbers are the database's: everyone of the cluster is new, the onboarded got further.
    [(new, onboarded)] = bot.rows("SELECT count(*), sum(CASE WHEN onboarded THEN 1 ELSE 0 END) FROM users"
                                  " WHERE cluster = 'zukunftsmacher' AND (role IS NULL OR role != 'company')")
    assert _cells(driver, "#funnel tr[data-step=new] td.count") == [str(new)]
    assert _cells(driver, "#funnel tr[data-step=onboarded] td.count") == [str(onboarded)]
    assert _cells(driver, "#sources tr[data-source=plakat-mensa] td")[0] == str(len(NEWCOMERS))
    assert driver.find_element(By.CSS_SELECTOR, ".chart svg[role=img]")

    # Move the event: everyone who RSVP'd gets "hat sich geändert" in Telegram, with the new day.
    driver.get(f"{cockpit.url}/termine/{EVENT}")
    assert driver.find_element(By.ID, "rsvp-count").text == f"{len(ATTENDEES)} Personen"
    for field, value in (("move-starts", "2027-09-25T10:00"), ("move-ends", "2027-09-25T15:00")):
        driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, field), value)
    driver.find_element(By.ID, "move-submit").click()
    wait(driver, lambda d: f"Verschoben. {len(ATTENDEES)} Personen bekommen eine Nachricht" in d.page_source or None)
    for chat in ATTENDEES:
        message = wait_for_text(api, chat, "hat sich geändert", timeout=30)
        assert "25.09." in message.text and "10:00" in message.text
    assert not any("hat sich geändert" in m.text for m in api.sent(AGENT))

    # On a phone: no page is wider than the screen (wide tables scroll inside their card).
    driver.set_window_size(390, 844)
    for path in ("/", "/anfragen", "/ankuendigungen/neu", f"/termine/{EVENT}", "/termine", "/angebote", "/betriebe",
                 "/links", "/protokoll", "/hilfe"):
        driver.get(cockpit.url + path)
        width, screen = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width <= screen, f"{path} is {width} px wide on a {screen} px screen"

