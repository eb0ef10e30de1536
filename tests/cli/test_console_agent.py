"""Cluster agents in the terminal: `lotse chat --agent` and ADMIN_CONSOLE_IDS."""
from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from typing import Any

from bot.app import build_app
from bot.console import ConsoleChat
from bot.settings import Settings
from flows.core.engine import Outcome
from flows.core.model import UserRef
from flows.jobs.lead_followup import alert_agents
from prompts import default_catalog
from tests.cli.conftest import Lotse

# A young adult (no parents' consent needed) sends one request to a company of the Löbau cluster.
LEAD = "\n".join(["Jugendliche:r", "18+", "Löbau", "Ja", "Ich gehe noch zur Schule", "Klasse 10",
                  "Stellen & Praktika", "Interessiert mich", "Weiter", "Tom", "0171 2345678", "Anruf",
                  "nachmittags", "Überspringen", "Einverstanden – abschicken"]) + "\n"
# An agent's cluster comes from their own profile: onboarding as a parent (an adult) in Löbau.
ONBOARD_IN_LOEBAU = "Elternteil\nLöbau\nJa\n"
AGENT_COMMANDS = ONBOARD_IN_LOEBAU + "/leads\n/einladung zittauer-gebirgsbau\n"  # both in that cluster
NO_ADMINS = {"ADMIN_CONSOLE_IDS": "", "ADMIN_TELEGRAM_IDS": ""}


def prepared(lotse: Lotse, lead: bool = False) -> None:
    assert lotse("db", "upgrade").returncode == 0
    assert lotse("content", "load").returncode == 0
    if lead:
        done = lotse("chat", "--user", "2", input=LEAD, env=NO_ADMINS, timeout=120)
        assert "Erledigt!" in done.stdout, done.stdout[-2000:]


def assert_agent(out: str) -> None:
    assert "kenne ich nicht" not in out
    assert "Anfragen im Cluster" in out
    assert "?start=ci-" in out  # the invite link for the company


def test_agent_flag_runs_leads_and_einladung(lotse: Lotse) -> None:
    prepared(lotse, lead=True)
    done = lotse("chat", "--user", "7", "--agent", input=AGENT_COMMANDS, env=NO_ADMINS)
    assert done.returncode == 0, done.stderr
    assert_agent(done.stdout)
    assert "Anfragen im Cluster Die Zukunftsmacher (offen: 1)" in done.stdout
    assert "Nr. 1 · " in done.stdout and " · Tom · " in done.stdout  # the young adult's request


def test_admin_console_ids_makes_listed_terminal_users_agents(lotse: Lotse) -> None:
    prepared(lotse)
    env = {**NO_ADMINS, "ADMIN_CONSOLE_IDS": "3, 7"}
    agent = lotse("chat", "--user", "7", input=AGENT_COMMANDS, env=env)
    assert agent.returncode == 0, agent.stderr
    assert_agent(agent.stdout)
    other = lotse("chat", "--user", "4", input="/leads\n", env=env)
    assert "Den Befehl /leads kenne ich nicht" in other.stdout


def test_a_plain_terminal_user_is_refused(lotse: Lotse) -> None:
    prepared(lotse)
    lotse("chat", "--user", "7", "--agent", input="/leads\n", env=NO_ADMINS)  # --agent holds for its run only
    env = {**NO_ADMINS, "ADMIN_TELEGRAM_IDS": "7"}  # a Telegram id makes no terminal user an agent
    done = lotse("chat", "--user", "7", input=AGENT_COMMANDS, env=env)
    assert done.returncode == 0, done.stderr
    assert "Den Befehl /leads kenne ich nicht" in done.stdout and "Den Befehl /einladung kenne ich nicht" in done.stdout
    assert "Anfragen im Cluster" not in done.stdout and "?start=ci-" not in done.stdout


async def alert_silent_company(database_url: str) -> int:
    """What the lead follow-up does after 5 working days, with the admins `lotse` builds."""
    settings = Settings(database_url=database_url, admin_console_ids="7")  # type: ignore[arg-type]
    app = await build_app(settings)
    try:
        async with app.uow_factory() as uow:
            companies = [c.slug for c in await uow.content.companies()]
            leads = await uow.leads.for_companies(companies)
            for lead in leads:
                await alert_agents(uow, app.engine.admins, lead, "silent", datetime.now(UTC))
            await uow.commit()
        return len(leads)
    finally:
        await app.close()


def test_a_terminal_agent_gets_alerts_in_the_running_chat(lotse: Lotse) -> None:
    prepared(lotse, lead=True)
    env = {**NO_ADMINS, "ADMIN_CONSOLE_IDS": "7", "QUIET_HOURS_ADULTS": "off"}  # any time of day
    onboarded = lotse("chat", "--user", "7", input=ONBOARD_IN_LOEBAU, env=env)
    assert "Die Zukunftsmacher" in onboarded.stdout
    assert asyncio.run(alert_silent_company(lotse.database_url)) == 1
    done = lotse("chat", "--user", "7", input="", env=env)
    assert done.returncode == 0, done.stderr
    assert "hat auf Anfrage Nr. 1 (Tom," in done.stdout and "seit 5 Werktagen nicht reagiert" in done.stdout


class _Engine:
    admins = frozenset({("console", 7)})

    async def resume(self, user: UserRef) -> Outcome:
        return Outcome()


def test_the_interactive_greeting_names_the_agent_mode() -> None:
    for chat_id, shown in ((7, True), (8, False)):
        out = io.StringIO()
        engine: Any = _Engine()
        chat = ConsoleChat(engine, default_catalog(), out, chat_id=chat_id, interactive=True)
        asyncio.run(chat.run(io.StringIO("")))
        assert out.getvalue().startswith("Azubi-Lotse im Terminal")
        assert ("Als Clusteragent:in: /leads" in out.getvalue()) is shown
