"""A company's webhook endpoint on 127.0.0.1 that checks signatures the way our README tells
companies to, written from that description (not with bot/delivery/signing.py):

    expected = "sha256=" + hex(HMAC-SHA256(key=secret, msg=f"{X-Lotse-Timestamp}." + raw body))

It answers 401 to a wrong signature or a timestamp more than five minutes off, else the next
queued answer (status, headers), else 204.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.threaded import LocalHttpServer, wait_for_count

TOLERANCE_SECONDS = 300


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    timestamp_ok: bool
    status: int  # what the receiver answered

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class WebhookReceiver(LocalHttpServer):
    def __init__(self, secret: str, now: float | None = None) -> None:
        self.secret = secret
        self.now = now  # the receiver's clock (Unix seconds); None: the real one
        self.deliveries: list[Delivery] = []
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.delay = 0.0  # seconds to wait before answering (a slow endpoint)

    def url(self, path: str = "/hooks/lotse") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def verify(self, timestamp: str, body: bytes, signature: str) -> bool:
        expected = "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        timestamp = request.headers.get("X-Lotse-Timestamp", "")
        signature_ok = self.verify(timestamp, body, request.headers.get("X-Lotse-Signature", ""))
        now = self.now if self.now is not None else time.time()
        timestamp_ok = timestamp.isdigit() and abs(now - int(timestamp)) <= TOLERANCE_SECONDS
        if self.delay:
            await asyncio.sleep(self.delay)
        status, headers = (401, {}) if not (signature_ok and timestamp_ok) else (
            self.answers.pop(0) if self.answers else (204, {}))
        self.deliveries.append(Delivery(request.path, dict(request.headers), body, signature_ok, timestamp_ok,
                                        status))
        return web.Response(status=status, headers=headers)

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        return app

    def wait_for_sync(self, count: int, timeout: float = 20.0) -> list[Delivery]:
        return wait_for_count(self.deliveries, count, timeout)
