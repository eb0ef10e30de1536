"""A lease one process of all holds while it does a job (long polling, the offer import): taken at the
start (from a process on this machine that is gone, at once), renewed while the job runs, released at
its end. The lease itself is storage/leases.py."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from flows.core.ports import Clock
from storage.leases import Held, Leases

log = logging.getLogger(__name__)


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_here(holder: str) -> bool:
    """Whether `holder` was a process on this machine that is gone (a crash, a kill -9): its lease need
    not run out before a restart takes it."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, as another user
        return False
    return False


@asynccontextmanager
async def held_lease(leases: Leases, name: str, clock: Clock, ttl: timedelta, busy: Callable[[Held], Exception],
                     lost: Callable[[Held], None] | None = None) -> AsyncIterator[None]:
    """Holds the lease `name` while the block runs, renewing it every third of `ttl`. Raises `busy(held)`
    if another live process holds it; calls `lost(held)` if another process took it meanwhile (this one
    stalled for longer than `ttl`)."""
    holder = this_process()
    held = await leases.acquire(name, holder, clock.now(), ttl)
    if held is not None and dead_here(held.holder):
        log.info("the lease %s of %s, which is gone, is taken over", name, held.holder)
        held = await leases.acquire(name, holder, clock.now(), ttl, replacing=held.holder)
    if held is not None:
        raise busy(held)

    async def renew() -> None:
        while True:
            await asyncio.sleep(ttl.total_seconds() / 3)
            try:
                taken = await leases.acquire(name, holder, clock.now(), ttl)
            except Exception:  # the database is away for a moment: try again at the next round
                log.warning("could not renew the lease %s; trying again", name)
                continue
            if taken is not None and lost is not None:
                lost(taken)
                return

    renewing = asyncio.create_task(renew(), name=f"lease-{name}")
    try:
        yield
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
        try:
            await leases.release(name, holder)
        except Exception:  # it expires by itself
            log.warning("could not release the lease %s; it expires in %d s", name, ttl.total_seconds())
