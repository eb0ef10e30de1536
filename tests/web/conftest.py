"""The real cockpit in a real browser: `lotse run` (against the fake Bot API) and `lotse cockpit` on
one database (the suite's backend), driven by Debian's headless Chromium through Selenium and its chromedriver.

Chromium and chromedriver come from Debian (`apt-get install chromium chromium-driver`, which
.ci/run does); Selenium is pointed at them, so nothing is downloaded."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e import conftest as e2e
from tests.e2e.conftest import BotProcess
from tests.fakes import FakeBotApi

bot = e2e.bot  # `lotse run`, as in the end-to-end tests (the fake Bot API `api`: tests/conftest.py)

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
T = TypeVar("T")
PAGE_CHANGING = (NoSuchElementException, StaleElementReferenceException)  # while the next page loads
NODE_REPLACED = "does not belong to the document"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class CockpitProcess:
    """`lotse cockpit` beside the bot, same settings and database."""

    def __init__(self, bot: BotProcess) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.bot = bot
        self.log = bot.workdir / "cockpit.log"
        bot.env.update({"COCKPIT_URL": self.url, "COCKPIT_PORT": str(self.port), "COCKPIT_HOST": "127.0.0.1",
                        "BOT_USERNAME": "AzubiLotseTestBot"})
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "cockpit"], cwd=self.bot.workdir,
                                            env=self.bot.env, stdout=log, stderr=subprocess.STDOUT)

        def up() -> bool | None:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"lotse cockpit ended:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/abgemeldet", timeout=2) as response:
                    return response.status == 200 or None
            except (urllib.error.URLError, OSError):
                return None
        self.bot.api.wait_for_sync(up, timeout=30, message=f"lotse cockpit did not start:\n{self.output()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def cockpit(bot: BotProcess) -> Iterator[CockpitProcess]:
    """The bot and the cockpit, both running; the agents are configured before either starts."""
    bot.env["ADMIN_TELEGRAM_IDS"] = "9100,9101,9102"
    process = CockpitProcess(bot)
    bot.start()
    process.start()
    try:
        yield process
    finally:
        process.stop()
        bot.stop()


def _chromium_options(profile: Path) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--lang=de-DE", f"--user-data-dir={profile}",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    return options


@pytest.fixture
def browser_factory(tmp_path: Path) -> Iterator[Callable[[], webdriver.Chrome]]:
    """New, separate browsers (each its own profile: its own cookies)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"browser tests need Debian's Chromium: apt-get install chromium chromium-driver "
                    f"(.ci/run installs them); missing {missing}")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not try to download anything
    started: list[webdriver.Chrome] = []

    def start() -> webdriver.Chrome:
        profile = tmp_path / f"chromium-{len(started)}"
        driver = webdriver.Chrome(options=_chromium_options(profile), service=Service(str(CHROMEDRIVER)))
        driver.set_page_load_timeout(30)
        started.append(driver)
        return driver

    try:
        yield start
    finally:
        for driver in started:
            driver.quit()
        shutil.rmtree(tmp_path / "chromium-0", ignore_errors=True)


def wait(driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], T], timeout: float = 15) -> T:
    """Until the condition holds; on timeout the message names the page the browser shows."""
    def checked(d: webdriver.Chrome) -> T | None:
        try:
            return condition(d)
        except WebDriverException as error:
            # Chromium, when an element is read while the next page replaces it (a stale element by
            # another name): "unhandled inspector error: … Node with given id does not belong to the document"
            if NODE_REPLACED in str(error) and not isinstance(error, PAGE_CHANGING):
                return None
            raise

    try:
        found = WebDriverWait(driver, timeout, ignored_exceptions=PAGE_CHANGING).until(checked)
        assert found is not None  # until() returns only what the condition found
        return found
    except TimeoutException:
        shown = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"waited in vain on {driver.current_url}:\n{shown}") from None


def heading(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.TAG_NAME, "h1").text)


def sign_in(api: FakeBotApi, driver: webdriver.Chrome, agent: int) -> str:
    """The agent asks the bot for /cockpit, opens the link and presses the button; returns the link."""
    before = len([m for m in api.sent(agent) if "/anmelden?t=" in m.text])
    api.user_sends_command(agent, "/cockpit")
    api.wait_for_sync(lambda: len([m for m in api.sent(agent) if "/anmelden?t=" in m.text]) > before or None,
                      timeout=15, message=f"no sign-in link for {agent}")
    message = [m for m in api.sent(agent) if "/anmelden?t=" in m.text][-1]
    link = next(word for word in message.text.split() if "/anmelden?t=" in word)
    driver.get(link)
    driver.find_element(By.ID, "anmelden").click()
    wait(driver, lambda d: heading(d) == "Übersicht" or None)
    return link
