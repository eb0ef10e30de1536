"""Lead notifications through the real outbox on SQLite with the demo pack: enqueued as the lead
flow does, sent by the e-mail / webhook dispatcher to a real SMTP server and HTTP endpoint,
recorded once."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.delivery.channels import BACKOFF_BASE_SECONDS, company_dispatcher
from bot.delivery.email import EmailSender, SmtpConfig
from bot.delivery.webhook import WebhookSender
from content import DEMO_DIR, default_directory, load_pack
from flows.delivery.company_delivery import EMAIL, WEBHOOK, company_message
from flows.delivery.dispatcher import OutboxDispatcher
from flows.delivery.outbox import OutboxMessage, OutboxStatus
from flows.delivery.quiet_hours import QuietHours
from prompts import default_catalog
from storage.company_delivery import SqlCompanyDirectory
from storage.content_sync import sync_pack
from storage.tables import CompanyRow
from storage.uow import SqlUnitOfWorkFactory
from tests.delivery.conftest import SIGNING_KEY, new_lead
from tests.delivery.test_webhook_sender import documented_secret
from tests.fakes.smtp_server import LocalSmtpServer
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())
SLUG = "saalefunke-automation"
QUIET = QuietHours.parse("21:00-07:00", "22:00-07:00", "Europe/Berlin")


@pytest.fixture
async def directory(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> SqlCompanyDirectory:
    await sync_pack(uow_factory, PACK, clock)
    return SqlCompanyDirectory(uow_factory)


@pytest.fixture
async def smtp() -> AsyncIterator[LocalSmtpServer]:
    async with LocalSmtpServer() as server:
        yield server


def email_dispatcher(uow_factory: SqlUnitOfWorkFactory, directory: SqlCompanyDirectory, clock: SteppableClock,
                     port: int) -> OutboxDispatcher:
    config = SmtpConfig(host="127.0.0.1", port=port, security="none", sender="lotse@lotse.example", timeout=5)
    return company_dispatcher(uow_factory, EmailSender(directory, default_catalog(), config, clock), clock, QUIET)


async def enqueue(uow_factory: SqlUnitOfWorkFactory, message: OutboxMessage) -> bool:
    async with uow_factory() as uow:
        stored = await uow.outbox.enqueue(message)
        await uow.commit()
    return stored


async def stored(uow_factory: SqlUnitOfWorkFactory, key: str) -> OutboxMessage:
    async with uow_factory() as uow:
        message = await uow.outbox.get(key)
    assert message is not None
    return message


async def lead_message(directory: SqlCompanyDirectory, channel: str, clock: SteppableClock,
                       minor: bool = False) -> OutboxMessage:
    company_id = await directory.id_of(SLUG)
    assert company_id is not None
    message = company_message(channel, company_id, new_lead(), clock.now(), f"lead:42:{channel}:{company_id}:new")
    return message.model_copy(update={"minor": minor})


async def test_the_e_mail_goes_out_once_and_is_recorded_sent(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, directory: SqlCompanyDirectory,
        smtp: LocalSmtpServer) -> None:
    message = await lead_message(directory, EMAIL, clock)
    assert await enqueue(uow_factory, message)
    dispatcher = email_dispatcher(uow_factory, directory, clock, smtp.port)
    assert (await dispatcher.tick()).sent == 1
    assert not await enqueue(uow_factory, message)  # the lead flow planning it again changes nothing
    assert not await dispatcher.tick()
    [mail] = smtp.mails
    assert mail.rcpt_tos == [f"ausbildung@{SLUG}.example"]
    assert mail.message["Message-ID"] == "<lead-42-leads.company_new@azubi-lotse>"
    assert (await stored(uow_factory, message.idempotency_key)).status is OutboxStatus.SENT


async def test_companies_get_mail_at_night_unless_a_message_is_for_minors(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, directory: SqlCompanyDirectory,
        smtp: LocalSmtpServer) -> None:
    clock.current = datetime(2027, 3, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin: adults' quiet hours too
    adult = await lead_message(directory, EMAIL, clock)
    minor = (await lead_message(directory, EMAIL, clock, minor=True)).model_copy(
        update={"idempotency_key": "minor", "reply": new_lead(lead_id=43)})
    await enqueue(uow_factory, adult)
    await enqueue(uow_factory, minor)
    report = await email_dispatcher(uow_factory, directory, clock, smtp.port).tick()
    assert (report.sent, report.deferred) == (1, 1)
    assert [m.message["Message-ID"] for m in smtp.mails] == ["<lead-42-leads.company_new@azubi-lotse>"]
    waiting = await stored(uow_factory, "minor")
    assert waiting.status is OutboxStatus.PENDING and waiting.due_at == datetime(2027, 3, 2, 6, 0, tzinfo=UTC)


async def test_a_server_that_is_down_means_a_retry_later(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, directory: SqlCompanyDirectory) -> None:
    message = await lead_message(directory, EMAIL, clock)
    await enqueue(uow_factory, message)
    async with LocalSmtpServer() as smtp:
        port = smtp.port
    report = await email_dispatcher(uow_factory, directory, clock, port).tick()  # nobody listens now
    assert report.retried == 1
    retry = await stored(uow_factory, message.idempotency_key)
    assert retry.status is OutboxStatus.PENDING and retry.attempts == 1 and retry.last_error
    assert retry.due_at == clock.now() + timedelta(seconds=BACKOFF_BASE_SECONDS)


async def test_the_webhook_goes_out_once_signed_and_is_recorded_sent(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, directory: SqlCompanyDirectory) -> None:
    async with WebhookReceiver(documented_secret(SIGNING_KEY, SLUG), now=clock.now().timestamp()) as receiver:
        async with uow_factory() as uow:  # the demo company's URL points nowhere; point it here
            row = (await uow.session.execute(select(CompanyRow).where(col(CompanyRow.slug) == SLUG))).scalar_one()
            row.data = {**row.data, "webhook_url": receiver.url(f"/hooks/{SLUG}")}
            await uow.commit()
        message = await lead_message(directory, WEBHOOK, clock)
        await enqueue(uow_factory, message)
        sender = WebhookSender(directory, SIGNING_KEY, clock)
        try:
            dispatcher = company_dispatcher(uow_factory, sender, clock, QUIET)
            assert (await dispatcher.tick()).sent == 1
            assert not await dispatcher.tick()
        finally:
            await sender.close()
    [delivery] = receiver.deliveries
    assert delivery.signature_ok and delivery.timestamp_ok and delivery.json["data"]["lead_id"] == 42
    assert (await stored(uow_factory, message.idempotency_key)).status is OutboxStatus.SENT
