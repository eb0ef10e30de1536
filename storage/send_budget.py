"""One Telegram send budget for every process, in PostgreSQL: each process's RateLimiter asks it before
a send (flows/delivery/limiter.py). The decision is the limiter's own (shared_delay) over every
process's sends, made by the database function send_budget_take (migration 0015) under an advisory
lock, so that two processes never take the same slot, in the database's clock, so that machines need
not agree on the time. The lock is held only while the server decides: one statement, no round trip
to a worker in between. A 429 seen anywhere is stored as a hold that every process's next question
finds.

Each call is one statement in autocommit (no BEGIN/COMMIT round trips): a take before the send, a
give-back after it."""
from __future__ import annotations

import itertools
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from flows.delivery.limiter import ANSWER_HEADROOM, CHATTING, SharedGrant, window_of

WHOLE_BOT = 0  # the hold of every chat (no Telegram chat has id 0)
STALE_SECONDS = 120.0  # a send "in flight" this long belonged to a process that died: forgotten
KEEP_SECONDS = 60.0  # finished sends and idle buckets older than this are deleted
TIDY_EVERY = 500  # give-backs per process between two deletions of old rows

_TAKE = text("""
SELECT ticket, wait, bot_held, chat_held, bot_wait
FROM send_budget_take(:chat, :bulk, :capacity, :length, :interval, :burst, :chatting, :headroom, :stale, :now)
""")

# The chat's bucket also counts the send's own duration (as RateLimiter's does): the server counts
# arrivals, which may come closer together than our starts did.
_GIVE_BACK = text("""
WITH done AS (UPDATE send_budget_sends SET finished_at = extract(epoch FROM clock_timestamp())
              WHERE id = :ticket RETURNING chat_id, greatest(0, finished_at - started_at) AS took)
UPDATE send_budget_chats c SET due = c.due + done.took FROM done WHERE c.chat_id = done.chat_id
""")

_HOLD = text("""
INSERT INTO send_budget_chats (chat_id, due, held_until)
VALUES (:chat, 0, extract(epoch FROM clock_timestamp()) + :seconds)
ON CONFLICT (chat_id) DO UPDATE SET held_until = greatest(send_budget_chats.held_until, EXCLUDED.held_until)
""")

_TIDY = text(f"""
WITH sends AS (DELETE FROM send_budget_sends
               WHERE finished_at < extract(epoch FROM clock_timestamp()) - {KEEP_SECONDS}
                  OR (finished_at IS NULL AND started_at < extract(epoch FROM clock_timestamp()) - {STALE_SECONDS}))
DELETE FROM send_budget_chats WHERE chat_id <> {WHOLE_BOT}
    AND due < extract(epoch FROM clock_timestamp()) - {KEEP_SECONDS}
    AND held_until < extract(epoch FROM clock_timestamp())
""")


class PostgresSendBudget:
    def __init__(self, engine: AsyncEngine, now: Callable[[], float] | None = None) -> None:
        """now: the tests' clock (seconds); None: the database's."""
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")  # one statement, one round trip
        self._now = now
        self._give_backs = itertools.count(1)

    async def take(self, chat_id: int, bulk: bool, per_second: float, per_chat_per_second: float,
                   chat_burst: int) -> SharedGrant:
        capacity, length = window_of(per_second)
        async with self._engine.connect() as connection:
            row = (await connection.execute(_TAKE, {
                "chat": chat_id, "bulk": bulk, "capacity": capacity, "length": length,
                "interval": 1.0 / per_chat_per_second, "burst": chat_burst, "chatting": CHATTING,
                "headroom": ANSWER_HEADROOM, "stale": STALE_SECONDS,
                "now": None if self._now is None else self._now()})).one()
        return SharedGrant(ticket=row.ticket, wait=row.wait, bot_held=row.bot_held, chat_held=row.chat_held,
                           bot_wait=row.bot_wait)

    async def give_back(self, ticket: int, chat_id: int, per_chat_per_second: float) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(_GIVE_BACK, {"ticket": ticket})
            if next(self._give_backs) % TIDY_EVERY == 0:
                await connection.execute(_TIDY)

    async def hold(self, seconds: float, chat_id: int | None) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(_HOLD, {"chat": WHOLE_BOT if chat_id is None else chat_id,
                                             "seconds": max(0.0, seconds)})
