"""The polling loop against the fake Bot API: a slow chat holds up nobody else, one chat's updates
stay in order, and only finished updates are confirmed."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiogram import Dispatcher, Router
from aiogram.types import Message

from bot.telegram.polling import poll, update_stored
from bot.telegram.runner import make_bot
from tests.fakes import FakeBotApi

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"
SLOW, OTHER = 101, 202


def echo_dispatcher(gate: asyncio.Event, waiting: asyncio.Event, handled: list[tuple[int, str]]) -> Dispatcher:
    """Echoes every text; the SLOW chat's first message waits for `gate` (like a reply waiting
    out a long retry_after)."""
    router = Router()

    @router.message()
    async def on_text(message: Message) -> None:
        if message.chat.id == SLOW and message.text == "erste":
            waiting.set()
            await gate.wait()
        if message.text == "gespeichert":  # the engine committed; the answer waits out a 429
            update_stored()
            waiting.set()
            await gate.wait()
        handled.append((message.chat.id, message.text or ""))
        await message.answer(f"echo {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


@dataclass
class Polling:
    api: FakeBotApi
    gate: asyncio.Event  # opens the waiting handlers
    waiting: asyncio.Event  # a handler waits at the gate
    handled: list[tuple[int, str]]


@asynccontextmanager
async def polling() -> AsyncIterator[Polling]:
    """The real polling loop with the echo dispatcher against the fake Bot API; stopped cleanly."""
    world = Polling(FakeBotApi(TOKEN), asyncio.Event(), asyncio.Event(), [])
    async with world.api as api:
        bot = make_bot(TOKEN, api.url)
        stop = asyncio.Event()
        task = asyncio.create_task(poll(echo_dispatcher(world.gate, world.waiting, world.handled), bot, stop, timeout=1))
        try:
            yield world
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await bot.session.close()


async def test_a_waiting_chat_holds_up_nobody_and_stays_in_order() -> None:
    async with polling() as world:
        api = world.api
        api.user_sends_text(SLOW, "erste")
        await asyncio.wait_for(world.waiting.wait(), 5)
        api.user_sends_text(SLOW, "zweite")
        api.user_sends_text(OTHER, "hallo")  # comes with a later getUpdates
        await api.wait_for_messages(OTHER, 1)  # answered while the slow chat still waits
        assert api.sent(SLOW) == []
        # Unfinished updates are not confirmed: a crash now and Telegram sends them again.
        assert [u["message"]["text"] for u in api.pending_updates()] == ["erste", "zweite", "hallo"]

        world.gate.set()
        await api.wait_for_messages(SLOW, 2)
        assert [m.text for m in api.sent(SLOW)] == ["echo erste", "echo zweite"]
        assert world.handled.count((SLOW, "erste")) == 1 and world.handled.count((OTHER, "hallo")) == 1  # none twice
        await api.wait_for(lambda: api.pending_updates() == [], timeout=5)  # all done: all confirmed


async def test_a_stored_update_is_confirmed_while_its_answer_still_waits() -> None:
    async with polling() as world:
        api = world.api
        api.user_sends_text(OTHER, "gespeichert")
        await asyncio.wait_for(world.waiting.wait(), 5)
        api.user_sends_text(SLOW, "danach")
        await api.wait_for_messages(SLOW, 1)
        # Both confirmed: the first is safe in the database, its answer goes out after a crash too.
        await api.wait_for(lambda: api.pending_updates() == [], timeout=5)
        assert api.sent(OTHER) == []
        world.gate.set()
        await api.wait_for_messages(OTHER, 1)
