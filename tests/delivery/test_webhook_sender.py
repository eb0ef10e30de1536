"""The webhook Sender against a local HTTP endpoint that checks the signature as documented for
companies' developers, and which answers become which outbox outcome."""
from __future__ import annotations

import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.delivery.webhook import WebhookSender
from flows.core.clock import SystemClock
from flows.core.model import Reply, UserRef
from flows.delivery.company_delivery import CompanyDelivery
from flows.delivery.outbox import SendKind, SendResult
from tests.delivery.conftest import SIGNING_KEY, FakeDirectory, new_lead
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.unit.fakes import SteppableClock

SLUG = "neisse-metallbau"
COMPANY_ID = 7
TO = UserRef(channel="webhook", chat_id=COMPANY_ID)


def documented_secret(key: str, slug: str) -> str:
    """As the README tells companies: hex HMAC-SHA256 of the slug under WEBHOOK_SIGNING_KEY."""
    return hmac.new(key.encode(), slug.encode(), hashlib.sha256).hexdigest()


def directory(url: str | None) -> FakeDirectory:
    return FakeDirectory((COMPANY_ID, CompanyDelivery(SLUG, "Neiße Metallbau (Beispiel)", None, url)))


def sender(url: str | None, key: str | None = SIGNING_KEY, clock: object = None, timeout: float = 5) -> WebhookSender:
    return WebhookSender(directory(url), key, clock or SystemClock(), timeout=timeout)  # type: ignore[arg-type]


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(documented_secret(SIGNING_KEY, SLUG)) as server:
        yield server


async def send(webhook: WebhookSender, reply: Reply | None = None) -> SendResult:
    try:
        return await webhook.send(TO, reply or new_lead(), "de", True)
    finally:
        await webhook.close()


async def test_a_signed_json_lead_arrives(receiver: WebhookReceiver) -> None:
    clock = SteppableClock(datetime.now(UTC).replace(microsecond=0))
    result = await send(sender(receiver.url("/hooks/lotse"), clock=clock))
    assert result.kind is SendKind.OK
    [delivery] = receiver.deliveries
    assert delivery.signature_ok and delivery.timestamp_ok and delivery.path == "/hooks/lotse"
    assert delivery.headers["X-Lotse-Timestamp"] == str(int(clock.now().timestamp()))
    assert delivery.headers["Idempotency-Key"] == "lead-42-leads.company_new"
    assert delivery.headers["Content-Type"].startswith("application/json")
    document = delivery.json
    assert document["event"] == "leads.company_new" and document["data"] == new_lead().values
    assert datetime.fromisoformat(document["sent_at"]) == clock.now()
    assert "Jördis" in delivery.body.decode("utf-8")  # UTF-8, not \u escapes


async def test_a_receiver_with_another_secret_sees_a_wrong_signature() -> None:
    async with WebhookReceiver(documented_secret(SIGNING_KEY, "another-company")) as other:
        result = await send(sender(other.url()))
    [delivery] = other.deliveries
    assert not delivery.signature_ok and delivery.status == 401
    assert result.kind is SendKind.PERMANENT  # 401: retrying with the same secret cannot help


async def test_a_replayed_old_request_is_detectable(receiver: WebhookReceiver) -> None:
    old = SteppableClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    receiver.now = old.now().timestamp() + 3600  # the receiver looks an hour later
    await send(sender(receiver.url(), clock=old))
    [delivery] = receiver.deliveries
    assert delivery.signature_ok and not delivery.timestamp_ok


@pytest.mark.parametrize(("status", "headers", "kind", "retry_after"), [
    (200, {}, SendKind.OK, 0.0),
    (202, {}, SendKind.OK, 0.0),
    (500, {}, SendKind.TRANSIENT, 0.0),
    (503, {}, SendKind.TRANSIENT, 0.0),
    (408, {}, SendKind.TRANSIENT, 0.0),
    (429, {"Retry-After": "30"}, SendKind.RETRY_AFTER, 30.0),
    (429, {}, SendKind.TRANSIENT, 0.0),
    (404, {}, SendKind.PERMANENT, 0.0),
    (410, {}, SendKind.PERMANENT, 0.0),
    (301, {"Location": "http://127.0.0.1:9/elsewhere"}, SendKind.PERMANENT, 0.0),
])
async def test_answers(receiver: WebhookReceiver, status: int, headers: dict[str, str], kind: SendKind,
                       retry_after: float) -> None:
    receiver.answers.append((status, headers))
    result = await send(sender(receiver.url()))
    assert (result.kind, result.retry_after) == (kind, retry_after)
    assert len(receiver.deliveries) == 1  # one request: no redirect followed, no retry of our own


async def test_retry_after_as_a_date(receiver: WebhookReceiver) -> None:
    clock = SteppableClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    receiver.now = clock.now().timestamp()
    receiver.answers.append((429, {"Retry-After": "Mon, 01 Mar 2027 09:02:00 GMT"}))
    result = await send(sender(receiver.url(), clock=clock))
    assert (result.kind, result.retry_after) == (SendKind.RETRY_AFTER, 120.0)


async def test_unreachable_and_slow_endpoints_are_transient(receiver: WebhookReceiver) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    assert (await send(sender(closed))).kind is SendKind.TRANSIENT
    receiver.delay = 1.0
    assert (await send(sender(receiver.url(), timeout=0.2))).kind is SendKind.TRANSIENT


async def test_without_key_or_url_nothing_is_sent(receiver: WebhookReceiver) -> None:
    no_key = await send(sender(receiver.url(), key=None))
    no_url = await send(sender(None))
    unknown = await WebhookSender(FakeDirectory(), SIGNING_KEY, SystemClock()).send(TO, new_lead(), "de", True)
    assert (no_key.kind, no_key.error) == (SendKind.PERMANENT, "WEBHOOK_SIGNING_KEY is not set")
    assert (no_url.kind, no_url.error) == (SendKind.PERMANENT, "no webhook URL")
    assert unknown.kind is SendKind.PERMANENT
    assert receiver.deliveries == []


async def test_values_that_are_not_json_are_permanent(receiver: WebhookReceiver) -> None:
    result = await send(sender(receiver.url()), Reply(key="leads.company_new", values={"lead_id": 1, "x": {1, 2}}))
    assert result.kind is SendKind.PERMANENT and receiver.deliveries == []


async def test_one_session_serves_many_sends(receiver: WebhookReceiver) -> None:
    webhook = sender(receiver.url())
    try:
        for lead_id in (1, 2, 3):
            assert (await webhook.send(TO, new_lead(lead_id=lead_id), "de", True)).kind is SendKind.OK
    finally:
        await webhook.close()
    assert [d.headers["Idempotency-Key"] for d in receiver.deliveries] == [
        "lead-1-leads.company_new", "lead-2-leads.company_new", "lead-3-leads.company_new"]
