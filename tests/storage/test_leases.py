"""Issue 14: the polling lease (storage/leases.py): one holder at a time across processes; renewal keeps
it, a dead holder's lease is taken when it expires, release frees it."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.process_lease import held_lease, this_process
from storage.db import create_engine, session_factory
from storage.leases import Held, Leases
from tests.unit.fakes import SteppableClock

TTL = timedelta(seconds=30)


async def test_one_holder_at_a_time_renewal_expiry_and_release(db: AsyncEngine, db_url: str,
                                                                clock: SteppableClock) -> None:
    other_process = create_engine(db_url)
    try:
        mine, theirs = Leases(session_factory(db)), Leases(session_factory(other_process))
        now = clock.now()
        assert await mine.acquire("poll:1", "a:1", now, TTL) is None
        held = await theirs.acquire("poll:1", "b:2", now, TTL)
        assert held is not None and held.holder == "a:1" and held.acquired_at == now
        assert await theirs.acquire("poll:2", "b:2", now, TTL) is None  # another bot: its own lease
        clock.advance(seconds=20)
        assert await mine.acquire("poll:1", "a:1", clock.now(), TTL) is None  # renewed ...
        clock.advance(seconds=20)
        held = await theirs.acquire("poll:1", "b:2", clock.now(), TTL)
        assert held is not None and held.acquired_at == now  # ... so still a's, since the start
        clock.advance(seconds=31)  # a died
        assert await theirs.acquire("poll:1", "b:2", clock.now(), TTL) is None
        assert await mine.acquire("poll:1", "a:1", clock.now(), TTL) is not None
        await mine.release("poll:1", "a:1")  # not a's any more: releasing changes nothing
        assert await mine.acquire("poll:1", "a:1", clock.now(), TTL) is not None
        await theirs.release("poll:1", "b:2")
        assert await mine.acquire("poll:1", "a:1", clock.now(), TTL) is None
    finally:
        await other_process.dispose()


async def test_two_processes_racing_for_a_free_lease_one_wins(db: AsyncEngine, db_url: str,
                                                             clock: SteppableClock) -> None:
    engines = [create_engine(db_url) for _ in range(4)]
    try:
        leases = [Leases(session_factory(e)) for e in engines]
        results = await asyncio.gather(*(lease.acquire("poll:9", f"p:{n}", clock.now(), TTL)
                                         for n, lease in enumerate(leases)))
        assert sum(1 for r in results if r is None) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_lease_of_a_process_known_dead_is_taken_before_it_runs_out(db: AsyncEngine,
                                                                          clock: SteppableClock) -> None:
    leases = Leases(session_factory(db))
    assert await leases.acquire("poll:3", "host:111", clock.now(), TTL) is None
    assert await leases.acquire("poll:3", "host:222", clock.now(), TTL, replacing="host:333") is not None
    assert await leases.acquire("poll:3", "host:222", clock.now(), TTL, replacing="host:111") is None


async def test_a_held_lease_refuses_a_second_holder_renews_and_notices_when_it_is_taken(
        db: AsyncEngine, clock: SteppableClock) -> None:
    leases = Leases(session_factory(db))
    assert await leases.acquire("job", "elsewhere:1", clock.now(), TTL) is None  # a live process elsewhere
    try:
        async with held_lease(leases, "job", clock, TTL, lambda held: RuntimeError(held.holder)):
            raise AssertionError("held by another process: never entered")
    except RuntimeError as busy:
        assert str(busy) == "elsewhere:1"
    await leases.release("job", "elsewhere:1")
    lost: asyncio.Queue[Held] = asyncio.Queue()
    short = timedelta(seconds=0.3)  # renewed every 0.1 s of real time
    async with held_lease(leases, "job", clock, short, lambda held: RuntimeError("busy"), lost.put_nowait):
        assert (await leases.acquire("job", "elsewhere:1", clock.now(), TTL)) is not None  # still ours
        clock.advance(seconds=1)  # this process stalled past the lease: another takes it
        assert await leases.acquire("job", "elsewhere:1", clock.now(), TTL) is None
        taken = await asyncio.wait_for(lost.get(), timeout=10)  # the next renewal notices
    assert taken.holder == "elsewhere:1"
    assert (await leases.acquire("job", this_process(), clock.now(), TTL)) is not None  # not released as ours
