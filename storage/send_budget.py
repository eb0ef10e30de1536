"""One Telegram send budget for every process, in PostgreSQL: each process's RateLimiter asks it before
a send (flows/delivery/limiter.py). The decision is the limiter's own (shared_delay) over every
process's sends, made under an advisory lock so that two processes never take the same slot, in the
database's clock so that machines need not agree on the time. A 429 seen anywhere is stored as a hold
that every process's next question finds.

Costs one short transaction per send and one update after it (about 1–2 ms on a local server); at
Telegram's 30 messages per second that is nothing. On SQLite (one process) the limiter works alone."""
from __future__ import annotations

import itertools
from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from flows.delivery.limiter import CHATTING, BudgetView, SharedGrant, shared_delay, window_of
from storage.db import SEND_BUDGET_LOCK

WHOLE_BOT = 0  # the hold of every chat (no Telegram chat has id 0)
STALE_SECONDS = 120.0  # a send "in flight" this long belonged to a process that died: forgotten
KEEP_SECONDS = 60.0  # finished sends and idle buckets older than this are deleted
TIDY_EVERY = 500  # give-backs per process between two deletions of old rows

_VIEW = text(f"""
WITH clock AS MATERIALIZED (SELECT extract(epoch FROM clock_timestamp())::float8 AS now)
SELECT 'now', now FROM clock
UNION ALL SELECT 'finished', s.finished_at FROM send_budget_sends s, clock
    WHERE s.finished_at > clock.now - :length
UNION ALL SELECT 'running', s.started_at FROM send_budget_sends s, clock
    WHERE s.finished_at IS NULL AND s.started_at > clock.now - {STALE_SECONDS}
UNION ALL SELECT 'answer', s.started_at FROM send_budget_sends s, clock
    WHERE s.interactive AND s.started_at > clock.now - :answers
UNION ALL SELECT 'chat_running', s.started_at FROM send_budget_sends s, clock
    WHERE s.chat_id = :chat AND s.finished_at IS NULL AND s.started_at > clock.now - {STALE_SECONDS}
UNION ALL SELECT 'due', c.due FROM send_budget_chats c WHERE c.chat_id = :chat
UNION ALL SELECT 'chat_held', c.held_until FROM send_budget_chats c WHERE c.chat_id = :chat
UNION ALL SELECT 'bot_held', c.held_until FROM send_budget_chats c WHERE c.chat_id = {WHOLE_BOT}
""")

_TAKE = text("""
WITH sent AS (INSERT INTO send_budget_sends (chat_id, interactive, started_at) VALUES (:chat, :interactive, :now)
              RETURNING id),
     bucket AS (INSERT INTO send_budget_chats (chat_id, due, held_until) VALUES (:chat, :due, 0)
                ON CONFLICT (chat_id) DO UPDATE SET due = EXCLUDED.due)
SELECT id FROM sent
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

_TIDY = (
    text(f"""DELETE FROM send_budget_sends WHERE finished_at < extract(epoch FROM clock_timestamp()) - {KEEP_SECONDS}
             OR (finished_at IS NULL AND started_at < extract(epoch FROM clock_timestamp()) - {STALE_SECONDS})"""),
    text(f"""DELETE FROM send_budget_chats WHERE chat_id <> {WHOLE_BOT}
             AND due < extract(epoch FROM clock_timestamp()) - {KEEP_SECONDS}
             AND held_until < extract(epoch FROM clock_timestamp())"""),
)


class PostgresSendBudget:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._give_backs = itertools.count(1)

    async def take(self, chat_id: int, bulk: bool, per_second: float, per_chat_per_second: float,
                   chat_burst: int) -> SharedGrant:
        _, length = window_of(per_second)
        async with self._engine.begin() as connection:
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEND_BUDGET_LOCK})
            found: dict[str, list[float]] = defaultdict(list)
            for kind, value in await connection.execute(
                    _VIEW, {"chat": chat_id, "length": length, "answers": max(CHATTING, length)}):
                found[kind].append(value)
            [now] = found["now"]
            due, chat_held, bot_held = (max(found[kind], default=0.0) for kind in ("due", "chat_held", "bot_held"))
            view = BudgetView(now=now, finished=sorted(found["finished"]), running=len(found["running"]),
                              answers=found["answer"], chat_due=due, chat_running=sorted(found["chat_running"]),
                              held_until=max(chat_held, bot_held))
            holds = {"bot_held": max(0.0, bot_held - now), "chat_held": max(0.0, chat_held - now)}
            delay = shared_delay(view, bulk, per_second, per_chat_per_second, chat_burst)
            if delay is None or delay > 0:
                return SharedGrant(ticket=None, wait=delay, **holds)
            due = max(due, now) + 1.0 / per_chat_per_second
            ticket = (await connection.execute(
                _TAKE, {"chat": chat_id, "interactive": not bulk, "now": now, "due": due})).scalar_one()
        return SharedGrant(ticket=int(ticket), **holds)

    async def give_back(self, ticket: int, chat_id: int, per_chat_per_second: float) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(_GIVE_BACK, {"ticket": ticket})
        if next(self._give_backs) % TIDY_EVERY == 0:
            async with self._engine.begin() as connection:
                for statement in _TIDY:
                    await connection.execute(statement)

    async def hold(self, seconds: float, chat_id: int | None) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(_HOLD, {"chat": WHOLE_BOT if chat_id is None else chat_id,
                                             "seconds": max(0.0, seconds)})
