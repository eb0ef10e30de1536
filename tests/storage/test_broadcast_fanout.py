"""Announcements fanned out on real SQLite: one recipient row per person however often the tick runs,
two dispatchers (two engines, like two processes) competing, and a crash between claim and send
that loses nothing and repeats at most what was in flight."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from flows.core.model import ConsentRecord, Profile, Reply, UserRef
from flows.delivery.broadcast_sending import BroadcastChecks, outbox_key
from flows.delivery.dispatcher import DispatchPolicy, OutboxDispatcher
from flows.delivery.limiter import RateLimiter
from flows.delivery.outbox import OutboxStatus, SendResult
from flows.delivery.quiet_hours import QuietHours
from flows.domain.broadcast import CONSENT_VERSION, Broadcast, BroadcastStatus, RecipientStatus, Topic, consent_purpose
from flows.jobs.broadcasts import BroadcastPolicy, broadcast_tick
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

CLUSTER = "zukunftsmacher"
LEASE = 30.0


class Recording:
    channel = "telegram"

    def __init__(self, hang: asyncio.Event | None = None) -> None:
        self.calls: list[int] = []
        self.hang = hang  # set: every send "reaches Telegram" and then never returns (the process dies)

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        self.calls.append(recipient.chat_id)
        if self.hang is not None:
            await self.hang.wait()
        await asyncio.sleep(0)
        return SendResult.ok()


def dispatcher(uow_factory: SqlUnitOfWorkFactory, sender: Recording, clock: SteppableClock,
               rate: float = 1000) -> OutboxDispatcher:
    return OutboxDispatcher(uow_factory, sender, RateLimiter(rate, 100), clock, QuietHours.parse("21:00-07:00", "off"),
                            DispatchPolicy(lease_seconds=LEASE, batch_size=10), hooks=[BroadcastChecks(2)])


async def audience(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, count: int) -> int:
    now = clock.now()
    async with uow_factory() as uow:
        for i in range(count):
            profile = await uow.users.save(Profile(channel="telegram", chat_id=5000 + i, role="teen",
                                                   age_band="18plus", cluster=CLUSTER, onboarded=True,
                                                   created_at=now, last_seen_at=now))
            assert profile.id is not None
            await uow.consents.add(profile.id, ConsentRecord(purpose=consent_purpose(Topic.EVENTS),
                                                             text_version=CONSENT_VERSION, given_by="self",
                                                             given_at=now))
        stored = await uow.broadcasts.add(Broadcast(
            cluster=CLUSTER, topic=Topic.EVENTS, text_du="Komm vorbei!", text_sie="Kommen Sie vorbei!",
            status=BroadcastStatus.SCHEDULED, scheduled_at=now, created_by="telegram:900", created_at=now))
        await uow.commit()
    assert stored.id is not None
    return stored.id


async def statuses(uow_factory: SqlUnitOfWorkFactory, broadcast_id: int) -> Counter[RecipientStatus]:
    counts: Counter[RecipientStatus] = Counter()
    async with uow_factory() as uow:
        for status in RecipientStatus:
            counts[status] = len(await uow.broadcasts.recipients(broadcast_id, status, 100_000))
    return +counts


async def test_ticks_in_two_processes_fan_out_once(db_url: str, clock: SteppableClock) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        factories = [SqlUnitOfWorkFactory(session_factory(e), clock) for e in engines]
        b = await audience(factories[0], clock, 40)
        policy = BroadcastPolicy(batch=15)
        await asyncio.gather(*(broadcast_tick(f, clock.now(), policy) for f in factories))
        await asyncio.gather(*(broadcast_tick(f, clock.now(), policy) for f in factories))
        counts = await statuses(factories[0], b)
        assert sum(counts.values()) == 40  # one row per person
        assert counts[RecipientStatus.QUEUED] == 15  # the outbox holds one batch, however many ticks ran
        async with factories[0]() as uow:
            broadcast = await uow.broadcasts.get(b)
            assert broadcast is not None and [a.action for a in broadcast.history].count("started") == 1
            keys = [outbox_key(b, r.user_id) for r in await uow.broadcasts.recipients(b, RecipientStatus.QUEUED, 99)]
            for key in keys:
                message = await uow.outbox.get(key)
                assert message is not None and message.status is OutboxStatus.PENDING
    finally:
        for engine in engines:
            await engine.dispose()


async def test_two_dispatchers_compete_and_each_person_gets_it_once(db_url: str, clock: SteppableClock) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        factories = [SqlUnitOfWorkFactory(session_factory(e), clock) for e in engines]
        b = await audience(factories[0], clock, 60)
        senders = [Recording(), Recording()]
        dispatchers = [dispatcher(f, s, clock) for f, s in zip(factories, senders)]
        policy = BroadcastPolicy(batch=25)
        for _ in range(6):
            await broadcast_tick(factories[0], clock.now(), policy)
            await asyncio.gather(*(d.tick() for d in dispatchers))
        calls = senders[0].calls + senders[1].calls
        assert sorted(calls) == [5000 + i for i in range(60)]  # none twice, none lost
        assert senders[0].calls and senders[1].calls  # both took part
        assert await statuses(factories[0], b) == Counter({RecipientStatus.SENT: 60})
        await broadcast_tick(factories[0], clock.now(), policy)
        async with factories[0]() as uow:
            done = await uow.broadcasts.get(b)
        assert done is not None and done.status is BroadcastStatus.DONE
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_crash_between_claim_and_send_loses_nothing(uow_factory: SqlUnitOfWorkFactory,
                                                           clock: SteppableClock) -> None:
    b = await audience(uow_factory, clock, 30)
    policy = BroadcastPolicy(batch=30)
    await broadcast_tick(uow_factory, clock.now(), policy)
    # A dispatcher claims all 30 and starts sending 5 (its rate), then its process dies while those
    # 5 are on their way and the rest wait for the rate (its tick is cancelled).
    crashed = Recording(hang=asyncio.Event())
    doomed = dispatcher(uow_factory, crashed, clock, rate=5)
    task = asyncio.create_task(doomed.tick())
    for _ in range(200):
        await asyncio.sleep(0.01)
        if len(crashed.calls) == 5:
            break
    await asyncio.sleep(0.3)  # the others' checks are done; they sleep in the limiter
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    in_flight = set(crashed.calls)
    assert len(in_flight) == 5
    # Its claims come back once their lease ran out; another dispatcher sends them.
    survivor = Recording()
    await dispatcher(uow_factory, survivor, clock).tick()
    assert survivor.calls == []  # leases still running: nobody else touches them
    clock.advance(seconds=LEASE + 1)
    for _ in range(3):
        await dispatcher(uow_factory, survivor, clock).tick()
        await broadcast_tick(uow_factory, clock.now(), policy)
    everyone = {5000 + i for i in range(30)}
    assert set(survivor.calls) | in_flight == everyone  # nothing lost
    assert len(survivor.calls) == len(set(survivor.calls))  # the survivor sent each at most once
    repeated = set(survivor.calls) & in_flight
    assert repeated == in_flight and len(survivor.calls) == 30  # only the 5 in flight arrive twice
    assert await statuses(uow_factory, b) == Counter({RecipientStatus.SENT: 30})


async def test_an_opt_out_in_the_database_stops_the_send(uow_factory: SqlUnitOfWorkFactory,
                                                        clock: SteppableClock) -> None:
    b = await audience(uow_factory, clock, 3)
    await broadcast_tick(uow_factory, clock.now(), BroadcastPolicy())
    async with uow_factory() as uow:
        leaving = (await uow.broadcasts.recipients(b, RecipientStatus.QUEUED, 1))[0]
        consent = (await uow.consents.list_for_user(leaving.user_id))[0]
        assert consent.id is not None
        await uow.consents.withdraw(consent.id, clock.now() + timedelta(seconds=1))
        await uow.commit()
    sender = Recording()
    await dispatcher(uow_factory, sender, clock).tick()
    assert leaving.chat_id not in sender.calls and len(sender.calls) == 2
    assert await statuses(uow_factory, b) == Counter({RecipientStatus.SENT: 2, RecipientStatus.OPTED_OUT: 1})


