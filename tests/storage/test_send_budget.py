"""Issue 14: two processes (each its own RateLimiter, Bot and database connections, as two webhook
workers) send through the real Bot API client to the fake Bot API, which enforces Telegram's limits:
with the budget they share in PostgreSQL they stay within 30/s and 1/s per chat together, and a 429
one of them sees holds the other too."""
from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.telegram.runner import make_bot
from flows.delivery.limiter import BudgetView, RateLimiter, shared_delay
from storage.db import create_engine
from storage.send_budget import STALE_SECONDS, PostgresSendBudget
from tests.fakes import TOKEN, FakeBotApi

pytestmark = pytest.mark.postgres_only("the budget several processes share lives in PostgreSQL; SQLite runs one process")

RATE, PER_CHAT, BURST = 30.0, 1.0, 3


@pytest.fixture
async def processes(db_url: str, api: FakeBotApi) -> AsyncIterator[list[tuple[RateLimiter, Bot]]]:
    engines: list[AsyncEngine] = [create_engine(db_url) for _ in range(2)]
    made = []
    for engine in engines:
        limiter = RateLimiter(RATE, PER_CHAT, chat_burst=BURST, shared=PostgresSendBudget(engine))
        made.append((limiter, make_bot(TOKEN, api.url, limiter=limiter)))
    yield made
    for limiter, bot in made:
        await limiter.close()
        await bot.session.close()
    for engine in engines:
        await engine.dispose()


def _too_many(api: FakeBotApi) -> list[object]:
    return [e for e in api.errors if e.status == 429]


async def test_two_processes_sending_at_full_speed_stay_within_telegrams_limits_together(
        processes: list[tuple[RateLimiter, Bot]], api: FakeBotApi) -> None:
    api.enforce_limits(RATE, PER_CHAT, chat_burst=BURST)
    shared_chat = 4242  # both processes also answer one person (their budget of 1/s is shared too)
    for chat in [shared_chat, *range(1000, 1080)]:
        api.add_chat(chat)

    async def send_all(bot: Bot, first: int) -> None:
        chats = [*range(first, first + 40), shared_chat, shared_chat]
        await asyncio.gather(*(bot.send_message(chat, f"Nachricht an {chat}") for chat in chats))

    (_, one), (_, other) = processes
    await asyncio.wait_for(asyncio.gather(send_all(one, 1000), send_all(other, 1040)), 60)
    assert _too_many(api) == [] and api.retry_after_violations == []
    assert len(api.sent()) == 84 and len(api.sent(shared_chat)) == 4


async def test_a_429_one_process_sees_holds_the_other(processes: list[tuple[RateLimiter, Bot]],
                                                      api: FakeBotApi, db: AsyncEngine) -> None:
    for chat in (1, 2, 3):
        api.add_chat(chat)
    api.fail_next("sendMessage", status=429, retry_after=2, scope="global")  # Telegram: the whole bot waits
    (_, one), (_, other) = processes
    first = asyncio.create_task(one.send_message(1, "eins"))  # answered 429, sent again after retry_after
    for _ in range(1000):  # until the hold is in the database (written right after the 429)
        async with db.connect() as connection:
            held = (await connection.execute(text(
                "SELECT held_until > extract(epoch FROM clock_timestamp()) FROM send_budget_chats"
                " WHERE chat_id = 0"))).scalar()
        if held:
            break
        await asyncio.sleep(0.01)
    assert held and len(_too_many(api)) == 1
    await asyncio.wait_for(asyncio.gather(first, other.send_message(2, "zwei"), other.send_message(3, "drei")), 30)
    assert api.retry_after_violations == []  # the other process waited out the same retry_after
    assert len(_too_many(api)) == 1
    assert [len(api.sent(chat)) for chat in (1, 2, 3)] == [1, 1, 1]


async def test_the_databases_decision_is_the_limiters_own(db: AsyncEngine) -> None:
    """send_budget_take (PostgreSQL) against shared_delay (the limiter's logic) on 300 random states of
    every process's sends, holds and buckets, at a fixed clock."""
    now, rng, chat = 1_000_000.0, random.Random(14), 77
    budget = PostgresSendBudget(db, now=lambda: now)
    for case in range(300):
        bulk = rng.random() < 0.5
        sends = [(rng.choice([chat, 5, 6]), rng.random() < 0.3, now - rng.uniform(0, 3.0), rng.random() < 0.8)
                 for _ in range(rng.choice([0, 5, 20, 28, 31, 40]))]
        rows = [(c, interactive, start, min(now, start + rng.uniform(0, 0.5)) if done else None)
                for c, interactive, start, done in sends]
        rows += [(5, False, now - 500.0, None)] * rng.choice([0, 3])  # in flight for ever: a dead process's
        due, chat_hold, bot_hold = (now + rng.uniform(-3, 3) for _ in range(3))
        async with db.begin() as connection:
            await connection.execute(text("DELETE FROM send_budget_sends"))
            await connection.execute(text("DELETE FROM send_budget_chats"))
            for c, interactive, start, finished in rows:
                await connection.execute(text(
                    "INSERT INTO send_budget_sends (chat_id, interactive, started_at, finished_at)"
                    " VALUES (:c, :i, :s, :f)"), {"c": c, "i": interactive, "s": start, "f": finished})
            await connection.execute(text("INSERT INTO send_budget_chats VALUES (:c, :d, :h), (0, 0, :b)"),
                                     {"c": chat, "d": due, "h": chat_hold, "b": bot_hold})
        view = BudgetView(
            now=now, finished=sorted(f for _, _, _, f in rows if f is not None and f > now - 1.0),
            running=sum(1 for _, _, s, f in rows if f is None and s > now - STALE_SECONDS),
            answers=[s for _, i, s, _ in rows if i],
            chat_due=due, chat_running=sorted(s for c, _, s, f in rows if c == chat and f is None
                                              and s > now - STALE_SECONDS),
            held_until=max(chat_hold, bot_hold))
        expected = shared_delay(view, bulk, RATE, PER_CHAT, BURST)
        grant = await budget.take(chat, bulk, RATE, PER_CHAT, BURST)
        if expected is None:
            assert grant.ticket is None and grant.wait is None, (case, view, bulk)
        elif expected > 0:
            assert grant.ticket is None and grant.wait == pytest.approx(expected), (case, view, bulk)
        else:
            assert grant.ticket is not None, (case, view, bulk, grant)
        assert grant.bot_held == pytest.approx(max(0.0, bot_hold - now))
        whole_bot = shared_delay(dataclasses.replace(view, chat_due=0.0, chat_running=[], held_until=bot_hold),
                                 bulk, RATE, PER_CHAT, BURST)  # the same sends, seen from an idle chat
        if grant.ticket is None:
            assert grant.bot_wait == (None if whole_bot is None else pytest.approx(whole_bot)), (case, grant)
