"""Configuration errors are one clear line with exit code 2; content check and load."""
from __future__ import annotations

from pathlib import Path

import pytest

from content import DEMO_DIR
from tests.cli.conftest import Lotse


@pytest.mark.parametrize("env,variable", [
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
    ({"ADMIN_TELEGRAM_IDS": "12,abc"}, "ADMIN_TELEGRAM_IDS"),
    ({"ADMIN_CONSOLE_IDS": "7,x"}, "ADMIN_CONSOLE_IDS"),
    ({"ADMIN_CONSOLE_IDS": "-7"}, "ADMIN_CONSOLE_IDS"),
    ({"TELEGRAM_API_URL": "ftp://example"}, "TELEGRAM_API_URL"),
    ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"CONTENT_DIR": "/nirgends"}, "CONTENT_DIR"),
    ({"BOT_TOKEN": "kein-token"}, "BOT_TOKEN"),
    ({"WEBHOOK_PORT": "99999"}, "WEBHOOK_PORT"),
    ({"WEBHOOK_URL": "http://plain.example"}, "WEBHOOK_URL"),
    ({"COCKPIT_URL": "http://cockpit.example.org"}, "COCKPIT_URL"),  # plain http only on this machine
    ({"COCKPIT_URL": "https://cockpit.example.org/?t=1"}, "COCKPIT_URL"),
    ({"COCKPIT_PORT": "0"}, "COCKPIT_PORT"),
    ({"COCKPIT_SESSION_HOURS": "48"}, "COCKPIT_SESSION_HOURS"),
    ({"BOT_USERNAME": "Azubi Lotse"}, "BOT_USERNAME"),
])
def test_invalid_configuration_names_the_variable(lotse: Lotse, env: dict[str, str], variable: str) -> None:
    done = lotse("db", "current", env=env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in done.stderr


def test_run_without_token_says_what_is_missing(lotse: Lotse) -> None:
    done = lotse("run")
    assert done.returncode == 2 and "BOT_TOKEN" in done.stderr


def test_cockpit_without_an_address_says_what_is_missing(lotse: Lotse) -> None:
    done = lotse("cockpit")
    assert done.returncode == 2 and "COCKPIT_URL" in done.stderr and "Traceback" not in done.stderr


def test_secrets_are_read_from_a_dotenv_file(lotse: Lotse, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADMIN_TELEGRAM_IDS=1,x\n")
    done = lotse("db", "current")
    assert done.returncode == 2 and "ADMIN_TELEGRAM_IDS" in done.stderr


def test_content_check_passes_on_the_demo_pack(lotse: Lotse) -> None:
    done = lotse("content", "check", str(DEMO_DIR))
    assert done.returncode == 0 and "3 clusters" in done.stdout


def test_content_check_lists_every_problem_with_file_and_path(lotse: Lotse, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    for file in DEMO_DIR.glob("*.yaml"):
        (pack / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    companies = (pack / "companies.yaml").read_text(encoding="utf-8")
    first_plz = companies.split('plz: "', 1)[1].split('"', 1)[0]
    (pack / "companies.yaml").write_text(companies.replace(f'plz: "{first_plz}"', 'plz: "0282"', 1),
                                         encoding="utf-8")
    done = lotse("content", "check", str(pack))
    assert done.returncode == 1
    assert 'companies.yaml: [0].plz: unknown postal code "0282"' in done.stderr


def test_content_load_is_idempotent_and_archives_removed_entries(lotse: Lotse, tmp_path: Path) -> None:
    assert lotse("db", "upgrade").returncode == 0
    first = lotse("content", "load", str(DEMO_DIR))
    assert first.returncode == 0 and "archived" in first.stdout
    second = lotse("content", "load", str(DEMO_DIR))
    assert " 0 new, 0 updated, 0 archived" in second.stdout
    assert "new" in second.stdout and all(" 0 new, 0 updated, 0 archived" in line
                                          for line in second.stdout.strip().splitlines())
    assert "content already loaded" in lotse("content", "load", "--if-empty").stdout


def test_company_invite_prints_a_single_use_link(lotse: Lotse) -> None:
    lotse("db", "upgrade")
    lotse("content", "load")
    done = lotse("company", "invite", "zittauer-gebirgsbau", "--bot", "@azubi_lotse_bot")
    assert done.returncode == 0 and done.stdout.strip().startswith("https://t.me/azubi_lotse_bot?start=ci-")
    unknown = lotse("company", "invite", "gibt-es-nicht", "--bot", "azubi_lotse_bot")
    assert unknown.returncode == 1 and "unknown company" in unknown.stderr
