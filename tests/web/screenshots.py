"""Screenshots of the cockpit's main pages for the README (docs/cockpit/*.png).

    .venv/bin/python -m tests.web.screenshots [FOLDER]

Starts the fake Bot API, `lotse run` and `lotse cockpit` on a fresh demo database with made-up people
(a few weeks of sign-ups, quiz results, leads in every status, a tracked link, RSVPs, an announcement),
signs in through /cockpit like an agent and saves each page at laptop width, the dashboard at phone
width too. Needs Debian's chromium and chromium-driver (as the browser tests)."""
from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from flows.core.clock import SystemClock
from flows.core.model import ConsentRecord, Profile, QuizAttempt
from flows.domain.content import Rsvp
from flows.domain.lead import CONSENT_PURPOSE, CONSENT_VERSION, Lead, LeadStatus
from storage.db import create_engine, session_factory
from storage.links import SqlTrackedLinks
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import BotProcess
from tests.fakes import TOKEN, FakeBotApi
from tests.web.conftest import CHROMEDRIVER, CHROMIUM, CockpitProcess, _chromium_options, sign_in

AGENT = 9100
COMPANIES = ["zittauer-gebirgsbau", "neisse-metallbau", "loebauer-elektrotechnik"]
SOURCES = [None, "plakat-mensa", "stand-karrieretage", "plakat-mensa", None, "oberschule-loebau"]


async def _seed(url: str) -> None:
    rng = random.Random(7)
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            now = datetime.now(UTC)
            await uow.users.save(Profile(channel="telegram", chat_id=AGENT, role="other", cluster="zukunftsmacher",
                                         onboarded=True, created_at=now, last_seen_at=now))
            links = SqlTrackedLinks(uow.session)
            for label, kind in (("Plakat Mensa Oberschule Löbau", "poster"), ("Stand Oberlausitzer Karrieretage", "stand"),
                                ("Oberschule Löbau", "school")):
                await links.add("zukunftsmacher", label, kind, f"telegram:{AGENT}", now - timedelta(days=60))
            for i in range(140):
                created = now - timedelta(days=rng.randint(0, 80), hours=rng.randint(0, 23))
                step = rng.random()
                source = rng.choice(SOURCES)
                source = {"plakat-mensa": "plakat-mensa-oberschule-loebau",
                          "stand-karrieretage": "stand-oberlausitzer-karrieretage"}.get(source or "", source)
                young = await uow.users.save(Profile(
                    channel="telegram", chat_id=20000 + i, role="teen", age_band=rng.choice(["u16", "16_17", "18plus"]),
                    plz="02708", place="Löbau", cluster="zukunftsmacher", source=source, onboarded=step > 0.15,
                    created_at=created, last_seen_at=created,
                    offers_viewed_at=created + timedelta(minutes=5) if step > 0.35 else None))
                assert young.id is not None
                if step > 0.3:
                    await uow.quiz.save(young.id, QuizAttempt(started_at=created, finished_at=created,
                                                              scores={"R": 0.8}, top=["maurer-in"]))
                if step > 0.6:
                    status = rng.choice([LeadStatus.DELIVERED, LeadStatus.DELIVERED, LeadStatus.CONTACTED,
                                         LeadStatus.INTERVIEW, LeadStatus.HIRED, LeadStatus.WAITING_PARENT])
                    company = rng.choice(COMPANIES)
                    consent = None
                    if status is not LeadStatus.WAITING_PARENT:
                        consent = (await uow.consents.add(young.id, ConsentRecord(
                            purpose=CONSENT_PURPOSE, text_version=CONSENT_VERSION, given_by="self",
                            given_at=created, recipients=[company]))).id
                    await uow.leads.add_once(Lead(
                        user_id=young.id, company=company, target=f"company:{company}", status=status,
                        created_at=created, status_at=created, consent_id=consent,
                        delivered_at=created if status is not LeadStatus.WAITING_PARENT else None,
                        shared={"first_name": "Alex", "title": "Ausbildung als Maurer:in"}))
                if step > 0.5 and i % 3 == 0:
                    await uow.events.save_rsvp(young.id, Rsvp(event="karrieretage-loebau-2027", offsets=["1d"],
                                                              created_at=created))
            await uow.commit()
    finally:
        await engine.dispose()


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    api = FakeBotApi(TOKEN)
    api.start_in_thread()
    with tempfile.TemporaryDirectory() as work:
        bot = BotProcess(api, Path(work), {"ADMIN_TELEGRAM_IDS": str(AGENT)})
        bot.cli("db", "upgrade")
        bot.cli("content", "load")
        asyncio.run(_seed(bot.env["DATABASE_URL"]))
        cockpit = CockpitProcess(bot)
        bot.start()
        cockpit.start()
        driver = webdriver.Chrome(options=_chromium_options(Path(work) / "chromium"),
                                  service=Service(str(CHROMEDRIVER)))
        try:
            sign_in(api, driver, AGENT)
            pages = [("dashboard", "/"), ("leads", "/anfragen"), ("announcement", "/ankuendigungen/neu"),
                     ("event", "/termine/karrieretage-loebau-2027"), ("links", "/links/1")]
            for name, path in pages:
                driver.get(cockpit.url + path)
                if name == "announcement":
                    driver.find_element(By.NAME, "text_du").send_keys(
                        "Hey {vorname}! 👋 Am 24.09. sind die Oberlausitzer Karrieretage in Löbau – "
                        "über 60 Betriebe, Ausbildung zum Anfassen. Tipp auf „Ich komme“, dann erinnere ich dich.")
                    driver.find_element(By.NAME, "text_sie").send_keys(
                        "Am 24.09. sind die Oberlausitzer Karrieretage in Löbau: Betriebe der Region stellen ihre "
                        "Ausbildungen vor. Kommen Sie gern mit Ihrem Kind vorbei.")
                    driver.find_element(By.CSS_SELECTOR, "#compose button[type=submit]").click()
                height = driver.execute_script("return document.body.scrollHeight")
                driver.set_window_size(1280, min(max(int(height) + 40, 900), 2600))
                driver.save_screenshot(str(folder / f"{name}.png"))
                driver.set_window_size(1280, 900)
            driver.set_window_size(390, 1700)
            driver.get(cockpit.url + "/")
            driver.save_screenshot(str(folder / "dashboard-phone.png"))
        finally:
            driver.quit()
            cockpit.stop()
            bot.stop()
            api.stop_in_thread()
    print(f"screenshots in {folder}")


if __name__ == "__main__":
    if not CHROMIUM.exists():
        sys.exit("needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver")
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/cockpit"))
