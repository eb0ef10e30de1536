"""One long poller per bot token: Telegram answers a second getUpdates with 409 Conflict and the two
pollers take turns losing updates' order. `lotse run` (polling) holds a lease in the database while it
polls; a second one on the same database refuses to start with a clear message. Several workers:
webhook mode (`lotse run --webhook`), where Telegram spreads updates over them."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from bot.process_lease import held_lease
from flows.core.ports import Clock
from storage.leases import Held, Leases

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=30)  # a poller that died frees the token after this


class AnotherPoller(Exception):
    """Another `lotse run` polls this bot: one line for the operator."""


@asynccontextmanager
async def polling_lease(leases: Leases, bot_id: int, clock: Clock, stop: asyncio.Event) -> AsyncIterator[None]:
    """Holds the bot's polling lease while the block runs; renews it, and sets `stop` if it is lost
    (another process took it after this one stalled for longer than LEASE_TTL)."""
    def busy(held: Held) -> Exception:
        return AnotherPoller(
            f"another `lotse run` ({held.holder}, since {held.acquired_at:%Y-%m-%d %H:%M:%S} UTC) is already "
            "polling this bot: Telegram allows one poller per bot token. Stop it, or run several workers in "
            "webhook mode (lotse run --webhook)")

    def lost(held: Held) -> None:
        log.error("the polling lease went to %s; stopping this poller", held.holder)
        stop.set()

    async with held_lease(leases, f"poll:{bot_id}", clock, LEASE_TTL, busy, lost):
        yield
