"""Operations endpoints of `lotse run`: /healthz, /readyz and /metrics.

Webhook mode serves them on the webhook server (WEBHOOK_HOST/WEBHOOK_PORT); long polling on a small
server of their own (METRICS_HOST/METRICS_PORT, off with METRICS_PORT=0 or empty). They read the
database through their own read-only engine: a scrape never holds SQLite's write lock.

- /healthz: the process is alive (200 "ok"), nothing else is asked.
- /readyz: the database answers and its schema is at the code's migration head: 200, else 503 with a
  short JSON reason (never the URL or a password).
- /metrics: Prometheus text format (bot/metrics.py); what lives in the database is read right before.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from aiohttp import web
from alembic.runtime.migration import MigrationContext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from flows.core.ports import Clock
from storage.db import create_engine
from storage.migrate import head_revision

log = logging.getLogger(__name__)
DATABASE_TIMEOUT = 5.0  # seconds; a database that takes longer is "not ready"


@dataclass
class Ops:
    """What the endpoints need: the metrics, a read-only engine and the clock."""

    metrics: Metrics
    db: AsyncEngine
    clock: Clock
    head: str | None = field(default_factory=head_revision)
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def open(cls, metrics: Metrics, database_url: str, clock: Clock) -> Ops:
        return cls(metrics, create_engine(database_url, read_only=True), clock)

    async def close(self) -> None:
        await self.db.dispose()

    async def readiness(self) -> str | None:
        """None: ready; else why not, in a few words."""
        def revision(connection: Connection) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        async def ask() -> str | None:
            async with self.db.connect() as connection:
                await connection.execute(text("SELECT 1"))
                return await connection.run_sync(revision)
        try:
            current = await asyncio.wait_for(ask(), DATABASE_TIMEOUT)
        except TimeoutError:
            return "database: no answer within 5 s"
        except Exception as error:
            return f"database unreachable ({type(error).__name__})"
        if current != self.head:
            state = "no schema" if current is None else f"revision {current}"
            return f"migrations not current: database has {state}, code needs {self.head} (run: lotse db upgrade)"
        return None

    async def scrape(self) -> bytes:
        async with self._refreshing:  # two scrapes at once: one reads, the other waits for it
            try:
                await asyncio.wait_for(self.metrics.refresh(self.db, self.clock.now()), DATABASE_TIMEOUT)
            except TimeoutError:
                log.warning("metrics: database gave no answer within %.0f s", DATABASE_TIMEOUT)
                self.metrics.database_up.set(0)
            return generate_latest(self.metrics.registry)

    # ------------------------------------------------------------------ HTTP

    async def healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(self, _: web.Request) -> web.Response:
        reason = await self.readiness()
        if reason is None:
            return web.json_response({"status": "ready"})
        return web.Response(status=503, text=json.dumps({"status": "not ready", "reason": reason}),
                            content_type="application/json")

    async def metrics_text(self, _: web.Request) -> web.Response:
        body = await self.scrape()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics_text)

    def app(self) -> web.Application:
        app = web.Application()
        self.add_routes(app)
        return app


async def serve(ops: Ops, host: str, port: int) -> web.AppRunner | None:
    """The endpoints on a server of their own (long polling). A port that cannot be bound is logged,
    not fatal: answering users matters more than being scraped."""
    runner = web.AppRunner(ops.app(), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        log.warning("metrics server not started: cannot listen on %s:%s (%s); set METRICS_PORT to a free "
                    "port, or 0 to turn it off", host, port, error.strerror or type(error).__name__)
        await runner.cleanup()
        return None
    log.info("metrics, /healthz and /readyz on http://%s:%s", host, port)
    return runner
