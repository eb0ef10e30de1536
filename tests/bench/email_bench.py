"""Benchmark (issue 4, item 9, e-mail half): time from a lead's hand-over (the outbox row committed
with the young person's confirmation) to its e-mail being accepted by the SMTP server (the
aiosmtpd handler's timestamp), through the real e-mail dispatcher, SQLite and the demo pack.

Three runs:
- burst, production limits: BENCH_EMAIL_COUNT (default 1,000) lead e-mails to the 36 demo companies
  enqueued at once, sent at 5/s in total and 1/s per company. The latency is the queue: 1,000 / 5/s.
- burst, limits lifted (1,000/s): what the pipeline itself can do (one SMTP connection per e-mail).
- one lead at a time: BENCH_EMAIL_COUNT leads, each committed on its own at random moments
  (BENCH_EMAIL_RATE, default 4 per second on average, just under the 5/s limit) while the
  scheduler ticks every second and each commit wakes the dispatcher, as in `lotse run`: the
  latency a young person's lead really sees, at a busy hour.

The SMTP server runs in its own thread and event loop; the dispatcher in this one.
"""
from __future__ import annotations

import asyncio
import os
import platform
import random
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bot.delivery.channels import RATE_PER_COMPANY_PER_SECOND, RATE_PER_SECOND, company_dispatcher
from bot.delivery.email import EmailSender, SmtpConfig
from bot.scheduler import wake_on_commit
from content import DEMO_DIR, default_directory, load_pack
from flows.core.clock import SystemClock
from flows.delivery.company_delivery import EMAIL, company_message
from flows.delivery.dispatcher import OutboxDispatcher
from flows.delivery.limiter import RateLimiter
from flows.delivery.quiet_hours import QuietHours
from prompts import default_catalog
from storage.company_delivery import SqlCompanyDirectory
from storage.content_sync import sync_pack
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.tables import CompanyRow
from storage.uow import SqlUnitOfWorkFactory
from tests.bench.results import OUT, percentiles, run_and_save
from tests.delivery.conftest import new_lead
from tests.fakes.smtp_server import LocalSmtpServer

TICK_SECONDS = 1.0  # bot/scheduler.py's OUTBOX_EVERY_SECONDS
STALL_SECONDS = 60.0  # nothing accepted for this long: stop and report what was lost


@dataclass
class Run:
    label: str
    limits: str
    leads: int
    accepted: int
    duplicates: int
    seconds: float
    latencies: list[float]

    def row(self) -> dict[str, Any]:
        return {"run": self.label, "limits": self.limits, "leads": self.leads, "accepted": self.accepted,
                "duplicates": self.duplicates, "lost": self.leads - self.accepted,
                "seconds": round(self.seconds, 1),
                "rate_per_s": round(self.accepted / self.seconds, 1) if self.seconds else 0.0,
                **percentiles(self.latencies)}


class Bench:
    def __init__(self, uow_factory: SqlUnitOfWorkFactory, smtp: LocalSmtpServer, companies: list[int]) -> None:
        self.uow_factory = uow_factory
        self.smtp = smtp
        self.companies = companies
        self.directory = SqlCompanyDirectory(uow_factory)
        self.config = SmtpConfig(host="127.0.0.1", port=smtp.port, security="none", sender="lotse@lotse.example")
        self.next_lead = 1
        self.running: list[OutboxDispatcher] = []  # the run's dispatcher, woken by commits as in `lotse run`
        uow_factory.on_outbox_commit(wake_on_commit(self.running))

    def dispatcher(self, limiter: RateLimiter) -> OutboxDispatcher:
        clock = SystemClock()
        sender = EmailSender(self.directory, default_catalog(), self.config, clock)
        dispatcher = company_dispatcher(self.uow_factory, sender, clock, QuietHours.parse(), limiter=limiter)
        self.running[:] = [dispatcher]
        return dispatcher

    async def enqueue(self, count: int) -> dict[int, float]:
        """`count` leads in one transaction (as a confirmation commits them); lead id -> commit time."""
        ids = list(range(self.next_lead, self.next_lead + count))
        self.next_lead += count
        now = SystemClock().now()
        async with self.uow_factory() as uow:
            for lead_id in ids:
                company = self.companies[lead_id % len(self.companies)]
                await uow.outbox.enqueue(company_message(EMAIL, company, new_lead(lead_id=lead_id), now,
                                                         f"bench:lead:{lead_id}:{EMAIL}:{company}:new"))
            await uow.commit()
        committed = time.time()
        return dict.fromkeys(ids, committed)

    def accepted(self, enqueued: dict[int, float]) -> tuple[list[float], int, int, float]:
        """Latencies of the first acceptance per lead, leads accepted, duplicates, last acceptance."""
        first: dict[int, float] = {}
        seen: Counter[int] = Counter()
        last = 0.0
        for mail in list(self.smtp.mails):
            lead_id = _lead_id(mail.message["Message-ID"])
            if lead_id in enqueued:
                seen[lead_id] += 1
                first.setdefault(lead_id, mail.accepted_at - enqueued[lead_id])
                last = max(last, mail.accepted_at)
        return list(first.values()), len(first), sum(n - 1 for n in seen.values()), last

    async def until_accepted(self, enqueued: dict[int, float]) -> None:
        """Bounded: ends when every lead was accepted or nothing new came for STALL_SECONDS."""
        last, changed = -1, time.monotonic()
        for _ in range(int(10 * (len(enqueued) + STALL_SECONDS)) + 100):
            _, done, _, _ = self.accepted(enqueued)
            if done >= len(enqueued):
                return
            if done != last:
                last, changed = done, time.monotonic()
            elif time.monotonic() - changed > STALL_SECONDS:
                return
            await asyncio.sleep(0.1)

    @asynccontextmanager
    async def ticking(self, limiter: RateLimiter) -> AsyncIterator[None]:
        """A dispatcher as in `lotse run`: woken by commits, kicked every second, closed at the end."""
        dispatcher = self.dispatcher(limiter)
        stop = asyncio.Event()
        ticker = asyncio.create_task(_tick_every_second(dispatcher, stop))
        try:
            yield
        finally:
            stop.set()
            await ticker
            await dispatcher.close()

    async def burst(self, label: str, limits: str, count: int, limiter: RateLimiter) -> Run:
        async with self.ticking(limiter):
            enqueued = await self.enqueue(count)
            await self.until_accepted(enqueued)
        latencies, done, duplicates, last = self.accepted(enqueued)
        return Run(label, limits, count, done, duplicates, last - min(enqueued.values()), latencies)

    async def one_at_a_time(self, count: int, rate: float, limiter: RateLimiter) -> Run:
        """`count` leads, each confirmed on its own, `rate` per second on average (Poisson arrivals)."""
        enqueued: dict[int, float] = {}
        rng = random.Random(9)
        async with self.ticking(limiter):
            for _ in range(count):
                await asyncio.sleep(rng.expovariate(rate))  # arrivals unrelated to the tick's phase
                enqueued.update(await self.enqueue(1))
            await self.until_accepted(enqueued)
        latencies, done, duplicates, last = self.accepted(enqueued)
        return Run(f"one lead at a time, {rate:g}/s on average", _limits(limiter), count, done, duplicates, last - min(enqueued.values()),
                   latencies)


async def _tick_every_second(dispatcher: OutboxDispatcher, stop: asyncio.Event) -> None:
    """What bot/scheduler.py does in `lotse run`: kick a tick every second unless one runs."""
    for _ in range(100_000):
        dispatcher.kick()
        try:
            await asyncio.wait_for(stop.wait(), TICK_SECONDS)
            return
        except TimeoutError:
            pass


def _lead_id(message_id: str | None) -> int:
    # "<lead-42-leads.company_new@azubi-lotse>"
    try:
        return int((message_id or "").split("-", 2)[1])
    except (IndexError, ValueError):
        return -1


def _limits(limiter: RateLimiter) -> str:
    return f"{limiter.per_second:g}/s, {limiter.per_chat_per_second:g}/s per company"


async def _run_all(url: str, count: int, rate: float, smtp: LocalSmtpServer) -> list[Run]:
    engine = create_engine(url)
    try:
        uow_factory = SqlUnitOfWorkFactory(session_factory(engine), SystemClock())
        await sync_pack(uow_factory, load_pack(DEMO_DIR, default_directory()), SystemClock())
        async with uow_factory() as uow:
            ids = (await uow.session.execute(select(col(CompanyRow.id)).order_by(col(CompanyRow.id)))).scalars()
            companies = [company_id for company_id in ids if company_id is not None]  # stored rows all have one
        bench = Bench(uow_factory, smtp, companies)
        lifted = RateLimiter(1000, 1000)
        production = RateLimiter(RATE_PER_SECOND, RATE_PER_COMPANY_PER_SECOND)
        return [
            await bench.burst("burst, limits lifted", _limits(lifted), count, lifted),
            await bench.burst("burst, production limits", _limits(production), count, production),
            await bench.one_at_a_time(count, rate, RateLimiter(RATE_PER_SECOND, RATE_PER_COMPANY_PER_SECOND)),
        ]
    finally:
        await engine.dispose()


def run(count: int | None = None) -> dict[str, Any]:
    count = count or int(os.environ.get("BENCH_EMAIL_COUNT", "1000"))
    rate = float(os.environ.get("BENCH_EMAIL_RATE", "4"))
    with tempfile.TemporaryDirectory() as tmp, LocalSmtpServer() as smtp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'lotse.db'}"
        upgrade(url)
        runs = asyncio.run(_run_all(url, count, rate, smtp))
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "companies": 36, "runs": [r.row() for r in runs]}


def print_table(result: dict[str, Any]) -> None:
    print("| run | limits | leads | accepted | duplicates | seconds | e-mails/s | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in result["runs"]:
        print(f"| {r['run']} | {r['limits']} | {r['leads']:,} | {r['accepted']:,} | {r['duplicates']} | {r['seconds']} "
              f"| {r['rate_per_s']} | {r['p50_ms']} | **{r['p95_ms']}** | {r['max_ms']} |")


def main(out: Path = OUT) -> dict[str, Any]:
    return run_and_save("email", run, print_table, out)


if __name__ == "__main__":
    main()
