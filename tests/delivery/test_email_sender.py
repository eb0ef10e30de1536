"""The e-mail Sender against a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, and which
SMTP answers become which outbox outcome."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.delivery.email import EmailSender, SmtpConfig
from flows.core.model import Reply, UserRef
from flows.delivery.company_delivery import CompanyDelivery
from flows.delivery.outbox import SendKind
from prompts import default_catalog
from tests.delivery.conftest import FakeDirectory, new_lead
from tests.fakes.smtp_server import LocalSmtpServer
from tests.unit.fakes import SteppableClock

COMPANY_ID = 7
TO = UserRef(channel="email", chat_id=COMPANY_ID)
ADDRESS = "ausbildung@neisse-metallbau.example"
DIRECTORY = FakeDirectory((COMPANY_ID, CompanyDelivery("neisse-metallbau", "Neiße Metallbau (Beispiel)", ADDRESS)),
                          (8, CompanyDelivery("ohne-mail", "Ohne Mail (Beispiel)", None, "http://127.0.0.1:9/x")))


def config(port: int, **changes: object) -> SmtpConfig:
    base = SmtpConfig(host="127.0.0.1", port=port, security="none", sender="Azubi-Lotse <lotse@lotse.example>",
                      timeout=5)
    return replace(base, **changes)  # type: ignore[arg-type]


def sender(smtp_config: SmtpConfig | None, directory: FakeDirectory = DIRECTORY) -> EmailSender:
    return EmailSender(directory, default_catalog(), smtp_config, SteppableClock())


@pytest.fixture
async def smtp() -> AsyncIterator[LocalSmtpServer]:
    async with LocalSmtpServer() as server:
        yield server


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_lead_arrives_as_utf8_plain_text(smtp: LocalSmtpServer) -> None:
    result = await sender(config(smtp.port)).send(TO, new_lead(), "de", True)
    assert result.kind is SendKind.OK
    [mail] = smtp.mails
    assert mail.rcpt_tos == [ADDRESS] and mail.mail_from == "lotse@lotse.example"
    message = mail.message
    assert message["To"] == ADDRESS and message["From"] == "Azubi-Lotse <lotse@lotse.example>"
    assert message["Message-ID"] == "<lead-42-leads.company_new@azubi-lotse>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"].startswith("Neue Anfrage Nr. 42") and "Jördis" in message["Subject"]
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    body = mail.body
    for shown in ("Jördis", "Neiße Metallbau", "Löbau", "02708", "16–17", "+491701234567", "joerdis@example.org",
                  "Ich schraube gern an Mopeds – und mag Mathe.", "Industriemechaniker:in", "nachmittags"):
        assert shown in body, shown
    assert "01.03.2027, 09:00" in body  # consent time in Europe/Berlin, not the stored UTC
    assert mail.raw.isascii()  # quoted-printable: any relay can carry it


async def test_english_texts_and_a_minimal_lead(smtp: LocalSmtpServer) -> None:
    lead = new_lead(offer_title=None, profession_name=None, school_status=None, school_class=None, phone=None,
                    preferred_time=None, message=None, consent_given_by="parent")
    assert (await sender(config(smtp.port)).send(TO, lead, "en", True)).kind is SendKind.OK
    body = smtp.mails[0].body
    assert "A parent consented" in body and "Phone: –" in body and "None" not in body


async def test_withdrawal_and_reminder_have_their_own_texts(smtp: LocalSmtpServer) -> None:
    email = sender(config(smtp.port))
    withdrawn = Reply(key="leads.company_withdrawn", values={"lead_id": 42, "company_name": "N", "first_name": "Jördis"})
    reminder = Reply(key="leads.company_reminder",
                     values={"lead_id": 42, "company_name": "N", "first_name": "Jördis", "days": 2})
    assert (await email.send(TO, withdrawn, "de", True)).kind is SendKind.OK
    assert (await email.send(TO, reminder, "de", True)).kind is SendKind.OK
    first, second = smtp.mails
    assert "löschen" in first.body and first.message["Message-ID"] == "<lead-42-leads.company_withdrawn@azubi-lotse>"
    assert "vor 2 Werktagen" in second.body and second.message["Message-ID"] == "<lead-42-leads.company_reminder@azubi-lotse>"


async def test_a_value_cannot_add_headers(smtp: LocalSmtpServer) -> None:
    lead = new_lead(first_name="Eve\r\nBcc: spy@example.org")
    assert (await sender(config(smtp.port)).send(TO, lead, "de", True)).kind is SendKind.OK
    [mail] = smtp.mails
    assert mail.rcpt_tos == [ADDRESS] and mail.message["Bcc"] is None
    assert "\n" not in mail.message["Subject"]


async def test_server_down_is_transient() -> None:
    result = await sender(config(closed_port())).send(TO, new_lead(), "de", True)
    assert result.kind is SendKind.TRANSIENT


async def test_a_server_that_never_answers_is_transient() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # no greeting, ever (until the client gives up)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        result = await sender(config(port, timeout=0.5)).send(TO, new_lead(), "de", True)
    finally:
        server.close()
    assert result.kind is SendKind.TRANSIENT


async def test_recipient_refused_with_550_is_permanent(smtp: LocalSmtpServer) -> None:
    smtp.refuse[ADDRESS] = "550 5.1.1 No such user"
    result = await sender(config(smtp.port)).send(TO, new_lead(), "de", True)
    assert result.kind is SendKind.PERMANENT and "550" in (result.error or "")
    assert smtp.mails == []


async def test_recipient_refused_with_450_is_transient(smtp: LocalSmtpServer) -> None:
    smtp.refuse[ADDRESS] = "450 4.2.1 Mailbox busy, try later"
    assert (await sender(config(smtp.port)).send(TO, new_lead(), "de", True)).kind is SendKind.TRANSIENT


@pytest.mark.parametrize(("answer", "kind"), [("451 4.3.0 Try again later", SendKind.TRANSIENT),
                                             ("554 5.6.0 Content refused", SendKind.PERMANENT)])
async def test_data_answers(smtp: LocalSmtpServer, answer: str, kind: SendKind) -> None:
    smtp.data_answers.append(answer)
    assert (await sender(config(smtp.port)).send(TO, new_lead(), "de", True)).kind is kind
    assert smtp.mails == []


async def test_starttls_is_required_never_skipped(smtp: LocalSmtpServer) -> None:
    # The test server offers no STARTTLS: the lead must not go out in plain text instead.
    result = await sender(config(smtp.port, security="starttls")).send(TO, new_lead(), "de", True)
    assert result.kind is SendKind.TRANSIENT and smtp.mails == []


async def test_login_is_used_and_a_wrong_one_is_transient() -> None:
    async with LocalSmtpServer(login=("lotse", "geheim")) as smtp:
        wrong = await sender(config(smtp.port, user="lotse", password="falsch")).send(TO, new_lead(), "de", True)
        right = await sender(config(smtp.port, user="lotse", password="geheim")).send(TO, new_lead(), "de", True)
    assert wrong.kind is SendKind.TRANSIENT  # our configuration, not the message: retried, then failed
    assert right.kind is SendKind.OK and len(smtp.mails) == 1


async def test_what_cannot_be_sent_at_all_is_permanent(smtp: LocalSmtpServer) -> None:
    email = sender(config(smtp.port))
    no_address = await email.send(UserRef(channel="email", chat_id=8), new_lead(), "de", True)
    unknown = await email.send(UserRef(channel="email", chat_id=999), new_lead(), "de", True)
    no_text = await email.send(TO, Reply(key="leads.no_such_message", values={"lead_id": 1}), "de", True)
    not_configured = await sender(None).send(TO, new_lead(), "de", True)
    assert (no_address.kind, no_address.error) == (SendKind.PERMANENT, "no e-mail address")
    assert unknown.kind is SendKind.PERMANENT and no_text.kind is SendKind.PERMANENT
    assert (not_configured.kind, not_configured.error) == (SendKind.PERMANENT, "SMTP_HOST is not set")
    assert smtp.mails == []


def test_config_comes_from_the_settings() -> None:
    from pydantic import SecretStr

    from bot.settings import Settings

    settings = Settings(_env_file=None, smtp_host="mail.example.org", smtp_from="lotse@example.org",  # type: ignore[call-arg]
                        smtp_user="lotse", smtp_password=SecretStr("pw"), smtp_security="tls", smtp_port=465)
    assert SmtpConfig.from_settings(settings) == SmtpConfig(
        host="mail.example.org", sender="lotse@example.org", port=465, security="tls", user="lotse", password="pw",
        timeout=10.0)
    assert SmtpConfig.from_settings(Settings(_env_file=None)) is None  # type: ignore[call-arg]
