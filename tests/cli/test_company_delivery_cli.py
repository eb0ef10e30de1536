"""`lotse` with the e-mail and webhook settings: errors name the variable; `lotse company secret`."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from tests.cli.conftest import Lotse

KEY = "0123456789abcdef0123456789abcdef-signing"


@pytest.mark.parametrize("env,variable", [
    ({"SMTP_HOST": "smtp://mail.example.org"}, "SMTP_HOST"),
    ({"SMTP_HOST": "mail.example.org:587", "SMTP_FROM": "l@example.org"}, "SMTP_HOST"),
    ({"SMTP_HOST": "mail.example.org"}, "SMTP_FROM"),
    ({"SMTP_HOST": "mail.example.org", "SMTP_FROM": "lotse"}, "SMTP_FROM"),
    ({"SMTP_PORT": "0"}, "SMTP_PORT"),
    ({"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY"),
    ({"SMTP_USER": "lotse"}, "SMTP_PASSWORD"),
    ({"SMTP_PASSWORD": "geheim"}, "SMTP_PASSWORD"),
    ({"SMTP_TIMEOUT_SECONDS": "0"}, "SMTP_TIMEOUT_SECONDS"),
    ({"WEBHOOK_SIGNING_KEY": "kurz"}, "WEBHOOK_SIGNING_KEY"),
])
def test_invalid_delivery_settings_name_the_variable(lotse: Lotse, env: dict[str, str], variable: str) -> None:
    done = lotse("db", "current", env=env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in done.stderr


def test_complete_smtp_settings_are_accepted(lotse: Lotse) -> None:
    env = {"SMTP_HOST": "mail.example.org", "SMTP_PORT": "465", "SMTP_SECURITY": "tls", "SMTP_USER": "lotse",
           "SMTP_PASSWORD": "geheim", "SMTP_FROM": "Azubi-Lotse <lotse@example.org>", "WEBHOOK_SIGNING_KEY": KEY}
    assert lotse("db", "current", env=env).returncode == 0


def test_company_secret_is_the_documented_hmac_of_the_slug(lotse: Lotse) -> None:
    assert lotse("db", "upgrade").returncode == 0
    assert lotse("content", "load").returncode == 0
    done = lotse("company", "secret", "saalefunke-automation", env={"WEBHOOK_SIGNING_KEY": KEY})
    assert done.returncode == 0
    expected = hmac.new(KEY.encode(), b"saalefunke-automation", hashlib.sha256).hexdigest()
    assert done.stdout.strip() == expected
    unknown = lotse("company", "secret", "gibt-es-nicht", env={"WEBHOOK_SIGNING_KEY": KEY})
    assert unknown.returncode == 1 and "gibt-es-nicht" in unknown.stderr and unknown.stdout == ""


def test_company_secret_needs_the_signing_key(lotse: Lotse) -> None:
    done = lotse("company", "secret", "saalefunke-automation", env={"WEBHOOK_SIGNING_KEY": ""})
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "WEBHOOK_SIGNING_KEY" in done.stderr
