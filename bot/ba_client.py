"""The Bundesagentur für Arbeit's job search (Jobsuche) over HTTP: `BaJobBoard` implements `JobBoard`.

Polite: at least `pace_seconds` between the starts of two requests; 429 waits what `Retry-After`
says (capped at `max_wait_seconds`); 5xx, timeouts and lost connections are retried with exponential
backoff and jitter, `retries` times; any other 4xx (a 400 past the page cap, 401/403/404) is final
at once. A body that is not JSON is asked for once more, then given up as "malformed". A JSON body
without a list of offers raises `BaShapeError` (from `parse_page`): the interface changed again.

Logs are one short line per problem: status, reason, page and attempt; never the query's text or a
response body. Sleeping and the clock are injected, so tests measure waits without waiting.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from flows.domain.ba_listing import PAGE_SIZE, BaPage, BaQuery, BaUnavailable, parse_page

DEFAULT_URL = "https://rest.arbeitsagentur.de/jobboerse/jobsuche-service/pc/v6/jobs"
API_KEY = "jobboerse-jobsuche"  # public: the BA's own web app sends it
USER_AGENT = "Azubi-Lotse/0.1 (Jobsuche-Import; Ausbildungsangebote fuer die Reviere)"
MAX_BODY_BYTES = 20_000_000  # a page of 100 offers is well below 1 MB

log = logging.getLogger(__name__)


class _Retry(Exception):
    """One attempt failed in a way worth another try."""

    def __init__(self, unavailable: BaUnavailable, wait: float | None = None) -> None:
        super().__init__(str(unavailable))
        self.unavailable = unavailable
        self.wait = wait  # what the server asked for (Retry-After), else None: backoff


class BaJobBoard:
    def __init__(self, url: str = DEFAULT_URL, *, timeout: float = 20.0, pace_seconds: float = 0.5,
                 retries: int = 4, backoff_seconds: float = 2.0, max_wait_seconds: float = 120.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.pace_seconds = max(0.0, pace_seconds)
        self.retries = max(0, retries)
        self.backoff_seconds = max(0.0, backoff_seconds)
        self.max_wait_seconds = max(0.0, max_wait_seconds)
        self._sleep = sleep
        self._monotonic = monotonic
        self._random = random.Random()
        self._last_start: float | None = None
        self._lock = asyncio.Lock()
        self.requests_made = 0
        logging.getLogger("httpx").setLevel(logging.WARNING)  # at INFO it logs every URL with its query
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=False,
            headers={"X-API-Key": API_KEY, "Accept": "application/json", "User-Agent": USER_AGENT})

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> BaJobBoard:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def page(self, query: BaQuery, page: int, size: int = PAGE_SIZE) -> BaPage:
        """One page of offers; raises BaUnavailable, BaShapeError."""
        params = query.params(page, size)
        failures = 0  # of the kind that is retried with backoff (5xx, timeout, connection, 429)
        malformed = 0
        while True:
            try:
                payload = await self._fetch(params)
            except _Retry as retry:
                failures += 1
                unavailable = retry.unavailable
                if failures > self.retries:
                    log.warning("ba: giving up page=%d reason=%s status=%s attempts=%d", page, unavailable.reason,
                                unavailable.status, failures)
                    raise unavailable from None
                wait = self._backoff(failures) if retry.wait is None else min(retry.wait, self.max_wait_seconds)
                log.warning("ba: %s status=%s page=%d attempt=%d, retrying in %.1fs", unavailable.reason,
                            unavailable.status, page, failures, wait)
                if wait > 0:
                    await self._sleep(wait)
                continue
            except BaUnavailable as unavailable:
                if unavailable.reason != "malformed":
                    log.warning("ba: %s status=%s page=%d", unavailable.reason, unavailable.status, page)
                    raise
                malformed += 1
                if malformed > 1:
                    log.warning("ba: malformed body again page=%d: %s", page, unavailable.detail)
                    raise
                log.warning("ba: malformed body page=%d (%s), asking once more", page, unavailable.detail)
                continue
            return parse_page(payload)

    def _backoff(self, failures: int) -> float:
        """Exponential, with full jitter in the upper half: base*2^(n-1) * [0.5, 1.0], capped."""
        ceiling = min(self.max_wait_seconds, self.backoff_seconds * float(2 ** min(failures - 1, 16)))
        return ceiling * (0.5 + self._random.random() / 2)

    async def _pace(self) -> None:
        """At least `pace_seconds` between the starts of two requests (of this client)."""
        if self._last_start is not None:
            remaining = self._last_start + self.pace_seconds - self._monotonic()
            if remaining > 0:
                await self._sleep(remaining)
        self._last_start = self._monotonic()

    async def _fetch(self, params: dict[str, str]) -> object:
        async with self._lock:  # starts are paced across concurrent callers too
            await self._pace()
            self.requests_made += 1
        try:
            async with self._client.stream("GET", self.url, params=params) as response:
                status = response.status_code
                if status == 429:
                    raise _Retry(BaUnavailable("rate_limited", status), self._retry_after(response))
                if status >= 500:
                    raise _Retry(BaUnavailable("server_error", status))
                if not 200 <= status < 300:  # 4xx; a redirect is not followed either
                    raise BaUnavailable("rejected", status, _short(response.headers.get("content-type", "")))
                body = await _read_capped(response)
        except httpx.TimeoutException:
            raise _Retry(BaUnavailable("timeout", detail=f"no answer within {self.timeout:g}s")) from None
        except (httpx.TransportError, OSError) as error:  # connect errors, resets, protocol errors
            raise _Retry(BaUnavailable("connection", detail=type(error).__name__)) from None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BaUnavailable("malformed", status, f"not JSON ({len(body)} bytes)") from None

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds from a Retry-After header (delta seconds or an HTTP date); None when missing or odd."""
        value = response.headers.get("retry-after", "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        if seconds != seconds:  # NaN
            return None
        return max(0.0, min(seconds, self.max_wait_seconds))


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BaUnavailable("malformed", response.status_code, f"body over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _short(text: str) -> str:
    return "".join(c for c in text[:60] if c.isprintable())
