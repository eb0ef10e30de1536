from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.telegram.channel import TelegramChannel
from content import DEMO_DIR, default_directory, load_pack
from flows.core.engine import Engine
from flows.wiring import build_engine
from prompts import default_catalog
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.telegram.recording import RecordingSession, UpdateFactory, make_recording_bot
from tests.unit.fakes import SteppableClock


@dataclass
class Rig:
    bot: Bot
    session: RecordingSession
    dp: Dispatcher
    uow_factory: SqlUnitOfWorkFactory
    user: UpdateFactory
    channel: TelegramChannel
    engine: Engine

    async def feed(self, update: Update) -> None:
        await self.dp.feed_update(self.bot, update)


@pytest.fixture
async def rig(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> AsyncIterator[Rig]:
    await sync_pack(uow_factory, load_pack(DEMO_DIR, default_directory()), clock)
    engine = build_engine(uow_factory, default_directory(), clock)
    bot, session = make_recording_bot()
    channel = TelegramChannel(engine, default_catalog(), uow_factory)
    dp = Dispatcher()
    dp.include_router(channel.router())
    yield Rig(bot, session, dp, uow_factory, UpdateFactory(), channel, engine)
