"""End to end: the real `lotse run` sends lead notifications by e-mail and webhook, next to Telegram."""
from __future__ import annotations

import asyncio

from sqlmodel import col, select

from flows.core.clock import SystemClock
from flows.delivery.company_delivery import EMAIL, WEBHOOK, company_message
from storage.db import create_engine, session_factory
from storage.tables import CompanyRow
from storage.uow import SqlUnitOfWorkFactory
from tests.delivery.conftest import SIGNING_KEY, new_lead
from tests.delivery.test_webhook_sender import documented_secret
from tests.e2e.conftest import BotProcess
from tests.fakes import FakeBotApi
from tests.fakes.smtp_server import LocalSmtpServer
from tests.fakes.webhook_receiver import WebhookReceiver

SLUG = "neisse-metallbau"


def _company(bot: BotProcess, webhook_url: str) -> int:
    """The demo company's row id; its webhook URL pointed at the test's endpoint (through the ORM:
    the JSON column reads back as text on SQLite, as the driver decides on PostgreSQL)."""
    async def go() -> int:
        engine = create_engine(bot.database_url)
        try:
            async with session_factory(engine)() as session:
                query = select(CompanyRow).where(col(CompanyRow.slug) == SLUG)
                row: CompanyRow = (await session.execute(query)).scalar_one()
                row.data = {**row.data, "webhook_url": webhook_url}
                await session.commit()
                assert row.id is not None
                return row.id
        finally:
            await engine.dispose()
    return asyncio.run(go())


def _enqueue(bot: BotProcess, company_id: int) -> None:
    async def go() -> None:
        engine = create_engine(bot.database_url)
        try:
            async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
                now = SystemClock().now()
                for channel in (EMAIL, WEBHOOK):
                    await uow.outbox.enqueue(company_message(channel, company_id, new_lead(), now,
                                                             f"lead:42:{channel}:{company_id}:new"))
                await uow.commit()
        finally:
            await engine.dispose()
    asyncio.run(go())


def _statuses(bot: BotProcess) -> dict[str, str]:
    return {channel: status for channel, status in
            bot.rows("select channel, status from outbox where channel in ('email', 'webhook')")}


def test_lotse_run_delivers_a_lead_by_email_and_webhook(api: FakeBotApi, bot: BotProcess) -> None:
    with LocalSmtpServer() as smtp, WebhookReceiver(documented_secret(SIGNING_KEY, SLUG)) as receiver:
        _enqueue(bot, _company(bot, receiver.url("/lotse")))
        bot.env.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_SECURITY": "none",
                        "SMTP_FROM": "Azubi-Lotse <lotse@lotse.example>", "WEBHOOK_SIGNING_KEY": SIGNING_KEY,
                        "QUIET_HOURS_ADULTS": "22:00-07:00"})  # companies are not held by adults' quiet hours
        bot.start()
        mails = smtp.wait_for_sync(1)
        deliveries = receiver.wait_for_sync(1)
        api.wait_for_sync(lambda: _statuses(bot) == {"email": "sent", "webhook": "sent"}, timeout=20,
                          message=f"outbox rows not recorded as sent: {_statuses(bot)}")
        assert bot.stop() == 0
    assert [m.rcpt_tos for m in mails] == [[f"ausbildung@{SLUG}.example"]]
    assert "Jördis" in mails[0].body
    assert len(deliveries) == 1 and deliveries[0].signature_ok and deliveries[0].timestamp_ok
    assert deliveries[0].json["event"] == "leads.company_new"
