"""The outbox's Sender for webhooks: one lead notification = one signed JSON POST to the company.

Body: {"event": <message key>, "data": <the message's values>, "sent_at": <ISO 8601 UTC>}, UTF-8.
Headers: X-Lotse-Timestamp, X-Lotse-Signature (see bot/delivery/signing.py) and Idempotency-Key,
the same for every attempt of one notification, so a receiver can drop repeats.

Redirects are not followed: a signed request goes only to the URL in the content pack.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from bot.delivery.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, company_secret, signature
from flows.core.model import Reply, UserRef
from flows.core.ports import Clock, CompanyDirectory
from flows.delivery.company_delivery import WEBHOOK, delivery_id
from flows.delivery.outbox import SendResult

USER_AGENT = "Azubi-Lotse-Webhook/1"
MAX_RETRY_AFTER = 3600.0  # a longer Retry-After is treated as an hour; the outbox keeps the message


class WebhookSender:
    channel = WEBHOOK

    def __init__(self, directory: CompanyDirectory, signing_key: str | None, clock: Clock,
                 timeout: float = 10.0) -> None:
        self._directory = directory
        self._signing_key = signing_key
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:  # created in the running loop, on first use
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers={"User-Agent": USER_AGENT})
        return self._session

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        if not self._signing_key:
            return SendResult.permanent("WEBHOOK_SIGNING_KEY is not set")
        company = await self._directory.delivery(recipient.chat_id)
        if company is None:
            return SendResult.permanent("unknown company")
        if not company.webhook_url:
            return SendResult.permanent("no webhook URL")
        now = self._clock.now().astimezone(UTC)
        try:
            body = encode_body(reply, now)
        except (TypeError, ValueError) as error:  # values that are not JSON: they never will be
            return SendResult.permanent(f"cannot encode {reply.key}: {type(error).__name__}")
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(company_secret(self._signing_key, company.slug), timestamp, body),
            IDEMPOTENCY_HEADER: delivery_id(reply),
        }
        try:
            async with self._client().post(company.webhook_url, data=body, headers=headers,
                                           allow_redirects=False) as response:
                return outcome(response.status, response.headers.get("Retry-After"), now)
        except (TimeoutError, aiohttp.ClientError, OSError) as error:  # refused, reset, timeout, TLS
            return SendResult.transient(f"{type(error).__name__}: {error}".rstrip(": "))


def encode_body(reply: Reply, now: datetime) -> bytes:
    document = {"event": reply.key, "data": reply.values, "sent_at": now.isoformat().replace("+00:00", "Z")}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def outcome(status: int, retry_after: str | None, now: datetime) -> SendResult:
    """2xx ok; 429 wait (Retry-After); 408 and 5xx again later; any other answer is final."""
    if 200 <= status < 300:
        return SendResult.ok()
    if status == 429:
        seconds = _seconds(retry_after, now)
        return SendResult.wait(seconds) if seconds is not None else SendResult.transient("429 without Retry-After")
    if status == 408 or status >= 500:
        return SendResult.transient(f"HTTP {status}")
    if 300 <= status < 400:
        return SendResult.permanent(f"HTTP {status}: redirects are not followed, correct webhook_url")
    return SendResult.permanent(f"HTTP {status}")


def _seconds(retry_after: str | None, now: datetime) -> float | None:
    """Retry-After as seconds ("120") or an HTTP date; None if absent or unreadable."""
    if not retry_after:
        return None
    text = retry_after.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)
