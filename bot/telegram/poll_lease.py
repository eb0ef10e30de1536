"""One long poller per bot token: Telegram answers a second getUpdates with 409 Conflict and the two
pollers take turns losing updates' order. `lotse run` (polling) holds a lease in the database while it
polls; a second one on the same database refuses to start with a clear message. Several workers:
webhook mode (`lotse run --webhook`), where Telegram spreads updates over them."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from flows.core.ports import Clock
from storage.leases import Leases

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=30)  # a poller that died frees the token after this
RENEW_EVERY = LEASE_TTL / 3


class AnotherPoller(Exception):
    """Another `lotse run` polls this bot: one line for the operator."""


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_here(holder: str) -> bool:
    """Whether `holder` was a process on this machine that is gone (a crash, a kill -9): its lease need
    not run out before a restart polls again."""
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
async def polling_lease(leases: Leases, bot_id: int, clock: Clock, stop: asyncio.Event) -> AsyncIterator[None]:
    """Holds the bot's polling lease while the block runs; renews it, and sets `stop` if it is lost
    (another process took it after this one stalled for longer than LEASE_TTL)."""
    name, holder = f"poll:{bot_id}", this_process()
    held = await leases.acquire(name, holder, clock.now(), LEASE_TTL)
    if held is not None and dead_here(held.holder):
        log.info("the polling lease of %s, which is gone, is taken over", held.holder)
        held = await leases.acquire(name, holder, clock.now(), LEASE_TTL, replacing=held.holder)
    if held is not None:
        raise AnotherPoller(
            f"another `lotse run` ({held.holder}, since {held.acquired_at:%Y-%m-%d %H:%M:%S} UTC) is already "
            "polling this bot: Telegram allows one poller per bot token. Stop it, or run several workers in "
            "webhook mode (lotse run --webhook)")

    async def renew() -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), RENEW_EVERY.total_seconds())
                return
            except TimeoutError:
                pass
            try:
                lost = await leases.acquire(name, holder, clock.now(), LEASE_TTL)
            except Exception:  # the database is away for a moment: try again at the next round
                log.warning("could not renew the polling lease; trying again")
                continue
            if lost is not None:
                log.error("the polling lease went to %s; stopping this poller", lost.holder)
                stop.set()

    renewing = asyncio.create_task(renew(), name="poll-lease")
    try:
        yield
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
        try:
            await leases.release(name, holder)
        except Exception:  # it expires by itself
            log.warning("could not release the polling lease; it expires in %d s", LEASE_TTL.total_seconds())
