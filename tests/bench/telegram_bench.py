"""Onboarding button presses through the whole Telegram adapter, engine and SQLite, next to a
bare aiogram handler that only answers. Both talk HTTP to the same stub Bot API."""
from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot, Dispatcher, Router
from aiogram.types import CallbackQuery, Message

from bot.telegram.channel import TelegramChannel
from bot.telegram.polling import feed
from bot.telegram.runner import make_bot
from content import DEMO_DIR, default_directory, load_pack
from flows.core.clock import SystemClock
from flows.wiring import build_engine
from prompts import default_catalog
from storage.content_sync import sync_pack
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.telegram.recording import TOKEN, UpdateFactory, make_recording_bot

PRESSES = ["ob:role:teen", "ob:age:u16", "ob:place:skip", "ob:school:pupil", "ob:class:9"]


@dataclass
class Result:
    name: str
    updates: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def row(self) -> dict[str, float | str | int]:
        return {"name": self.name, "updates": self.updates, "updates_per_s": round(self.per_second, 1),
                "p50_ms": round(self.percentile(50), 2), "p99_ms": round(self.percentile(99), 2),
                "mean_ms": round(statistics.fmean(self.latencies_ms), 2)}


def bare_dispatcher() -> Dispatcher:
    router = Router()

    @router.message()
    async def on_message(message: Message, bot: Bot) -> None:
        await bot.send_message(message.chat.id, "ok")

    @router.callback_query()
    async def on_press(query: CallbackQuery, bot: Bot) -> None:
        await bot.answer_callback_query(query.id)
        await bot.send_message(query.from_user.id, "ok")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def _presses(dp: Dispatcher, bot: Bot, users: int, concurrency: int, name: str,
                   before: Callable[[Dispatcher, Bot, UpdateFactory], Awaitable[Message]]) -> Result:
    """Every user presses the five onboarding buttons in order; `concurrency` users at a time."""
    factories = [UpdateFactory(chat_id=10_000 + i) for i in range(users)]
    questions = [await before(dp, bot, f) for f in factories]  # /start: not measured
    latencies: list[float] = []

    async def user(factory: UpdateFactory, question: Message) -> None:
        for data in PRESSES:
            update = factory.press(question, data)
            started = time.perf_counter()
            await feed(dp, bot, update)
            latencies.append((time.perf_counter() - started) * 1000)

    semaphore = asyncio.Semaphore(concurrency)

    async def limited(factory: UpdateFactory, question: Message) -> None:
        async with semaphore:
            await user(factory, question)

    started = time.perf_counter()
    await asyncio.gather(*(limited(f, q) for f, q in zip(factories, questions)))
    return Result(name, len(latencies), time.perf_counter() - started, latencies)


async def run(stub_url: str | None, users: int = 400, concurrency: int = 32) -> list[Result]:
    """stub_url None: no network at all (a recording session), to see the bare CPU cost."""
    if stub_url is None:
        bot, _ = make_recording_bot()
    else:
        bot = make_bot(TOKEN, stub_url)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        db = create_engine(url)
        clock = SystemClock()
        uow_factory = SqlUnitOfWorkFactory(session_factory(db), clock)
        await sync_pack(uow_factory, load_pack(DEMO_DIR, default_directory()), clock)
        full = Dispatcher()
        full.include_router(TelegramChannel(build_engine(uow_factory, default_directory(), clock),
                                            default_catalog(), uow_factory).router())

        async def start_full(dp: Dispatcher, bot_: Bot, factory: UpdateFactory) -> Message:
            await dp.feed_update(bot_, factory.text("/start"))
            # A question message as Telegram would show it, with every button of the walk on it.
            from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
            markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=d, callback_data=d)]
                                                           for d in PRESSES])
            return factory._message(text="Frage", reply_markup=markup).model_copy(
                update={"from_user": None})

        async def start_bare(dp: Dispatcher, bot_: Bot, factory: UpdateFactory) -> Message:
            return await start_full(dp, bot_, factory)

        # Warm up both (imports, connection pools, SQLite caches), then measure each in turn.
        await _presses(bare_dispatcher(), bot, 20, concurrency, "warm-up", start_bare)
        results.append(await _presses(bare_dispatcher(), bot, users, concurrency,
                                      "bare aiogram handler (answer + reply)", start_bare))
        results.append(await _presses(full, bot, users, concurrency,
                                      "Azubi-Lotse: adapter + engine + SQLite", start_full))
        await db.dispose()
    await bot.session.close()
    return results
