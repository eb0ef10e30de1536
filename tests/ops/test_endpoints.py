"""/healthz, /readyz and /metrics in this process (aiohttp's test client), on the suite's database."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import generate_latest

from bot.metrics import Metrics
from bot.ops import Ops
from flows.core.model import Reply, UserRef
from flows.delivery.outbox import OutboxMessage, SendResult
from storage.uow import SqlUnitOfWorkFactory
from tests import databases
from tests.ops.helpers import has, value
from tests.unit.fakes import SteppableClock


@asynccontextmanager
async def _client(url: str, clock: SteppableClock, metrics: Metrics | None = None) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    ops = Ops.open(metrics or Metrics(), url, clock)
    client = TestClient(TestServer(ops.app()))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await ops.close()


async def _ready(url: str, clock: SteppableClock) -> tuple[int, dict[str, str]]:
    async with _client(url, clock) as client:
        response = await client.get("/readyz")
        assert response.content_type == "application/json"
        return response.status, json.loads(await response.text())


async def test_healthz_and_readyz_on_a_migrated_database(db_url: str, clock: SteppableClock) -> None:
    async with _client(db_url, clock) as client:
        health = await client.get("/healthz")
        assert (health.status, await health.text()) == (200, "ok")
        ready = await client.get("/readyz")
        assert ready.status == 200 and (await ready.json()) == {"status": "ready"}


async def test_readyz_is_503_while_migrations_are_missing(empty_database_url: str, clock: SteppableClock) -> None:
    status, body = await _ready(empty_database_url, clock)
    assert status == 503
    assert body["status"] == "not ready" and "migrations not current" in body["reason"]
    assert "lotse db upgrade" in body["reason"]


async def test_readyz_is_503_without_the_database_and_names_no_path(tmp_path: Path, clock: SteppableClock) -> None:
    url = databases.sqlite_url(tmp_path / "no-such-folder-s3cret" / "lotse.db")  # cannot be opened
    status, body = await _ready(url, clock)
    assert status == 503 and body["reason"].startswith("database unreachable")
    assert "s3cret" not in json.dumps(body)


def _message(channel: str, chat: int, key: str, due: datetime) -> OutboxMessage:
    return OutboxMessage(recipient=UserRef(channel=channel, chat_id=chat), due_at=due,
                         reply=Reply(key="fallback.unknown_command", values={"command": key}),
                         idempotency_key=f"ops:{channel}:{chat}:{key}")


async def test_metrics_show_the_outbox_and_leads_from_the_database(
        db_url: str, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    async with uow_factory() as uow:
        assert await uow.outbox.enqueue(_message("telegram", 4711, "late", now - timedelta(seconds=90)))
        assert await uow.outbox.enqueue(_message("telegram", 4712, "due", now - timedelta(seconds=5)))
        assert await uow.outbox.enqueue(_message("telegram", 4713, "tomorrow", now + timedelta(days=1)))
        assert await uow.outbox.enqueue(_message("email", 4714, "lead", now))
        await uow.commit()
    metrics = Metrics(channels=("telegram", "webhook"))
    async with _client(db_url, clock, metrics) as client:
        response = await client.get("/metrics")
        assert response.status == 200 and response.content_type == "text/plain"
        text = await response.text()
    assert value(text, "lotse_database_up") == 1
    assert value(text, "lotse_outbox_depth", channel="telegram") == 2
    assert value(text, "lotse_outbox_scheduled", channel="telegram") == 1
    assert value(text, "lotse_outbox_oldest_due_age_seconds", channel="telegram") == 90
    assert value(text, "lotse_outbox_depth", channel="email") == 1  # found in the database
    assert has(text, "lotse_outbox_depth", channel="webhook")  # known, empty: shown as 0
    assert value(text, "lotse_outbox_depth", channel="webhook") == 0
    assert has(text, "lotse_leads", status="delivered") and value(text, "lotse_leads") == 0
    assert has(text, "lotse_broadcasts", status="running")
    assert not has(text, "lotse_broadcast_recipients")  # no announcement is running
    assert "4711" not in text and "4714" not in text  # no chat id anywhere

    # Sent: the depth goes down on the next scrape (the gauges are read again, not kept).
    async with uow_factory() as uow:
        for message in await uow.outbox.claim_due(now, 10, 60, "telegram"):
            await uow.outbox.mark_sent(message)
        await uow.commit()
    async with _client(db_url, clock, metrics) as client:
        text = await (await client.get("/metrics")).text()
    assert value(text, "lotse_outbox_depth", channel="telegram") == 0
    assert value(text, "lotse_outbox_oldest_due_age_seconds", channel="telegram") == 0


async def test_metrics_without_the_database_still_answer(tmp_path: Path, clock: SteppableClock) -> None:
    metrics = Metrics()
    with metrics.update("telegram", "message"):
        pass
    async with _client(databases.sqlite_url(tmp_path / "missing" / "x.db"), clock, metrics) as client:
        response = await client.get("/metrics")
        text = await response.text()
    assert response.status == 200
    assert value(text, "lotse_database_up") == 0
    assert not has(text, "lotse_outbox_depth")  # left out, not stale
    assert value(text, "lotse_updates_total", kind="message", outcome="handled") == 1


class _Sender:
    channel = "telegram"

    def __init__(self, *results: SendResult) -> None:
        self.results = list(results)

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        return self.results.pop(0)


async def test_outbox_sends_are_counted_by_outcome() -> None:
    metrics = Metrics()
    sender = metrics.metered_sender(_Sender(SendResult.wait(3), SendResult.ok(), SendResult.transient("502"),
                                            SendResult.permanent("bad"), SendResult.blocked()))
    for _ in range(5):
        await sender.send(UserRef(channel="telegram", chat_id=1), Reply(key="x"), "de", False)
    assert sender.channel == "telegram"
    text = generate_latest(metrics.registry).decode()
    counted = {outcome: value(text, "lotse_sends_total", channel="telegram", source="outbox", outcome=outcome)
               for outcome in ("sent", "retry", "rate_limited", "failed", "dropped")}
    assert counted == {"sent": 1, "retry": 1, "rate_limited": 1, "failed": 1, "dropped": 1}


async def test_updates_count_handled_duplicate_failed_and_latency() -> None:
    metrics = Metrics()
    with metrics.update("telegram", "button") as meter:
        meter.replied()
    with metrics.update("telegram", "button") as meter:
        meter.duplicate = True
    with pytest.raises(RuntimeError), metrics.update("telegram", "message"):
        raise RuntimeError("engine failed")
    text = generate_latest(metrics.registry).decode()
    assert value(text, "lotse_updates_total", kind="button", outcome="handled") == 1
    assert value(text, "lotse_updates_total", kind="button", outcome="duplicate") == 1
    assert value(text, "lotse_updates_total", kind="message", outcome="failed") == 1
    assert value(text, "lotse_reply_latency_seconds_count", kind="button") == 1
