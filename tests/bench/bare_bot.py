"""The baseline of the press benchmark: a bare aiogram bot, as a tutorial writes one.

/start sends a greeting and question 1; each press answers the callback query and sends the next
question. No limiter, no retries, no database: aiogram's own polling and default session.
Run: TELEGRAM_API_URL=... BOT_TOKEN=... python -m tests.bench.bare_bot
"""
from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

QUESTIONS = 5


def question(number: int) -> tuple[str, InlineKeyboardMarkup]:
    button = InlineKeyboardButton(text=f"Antwort {number}", callback_data=f"bare:{number}")
    return f"Frage {number} von {QUESTIONS}", InlineKeyboardMarkup(inline_keyboard=[[button]])


async def main(api_url: str, token: str) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Willkommen!")
        text, keyboard = question(1)
        await message.answer(text, reply_markup=keyboard)

    @dp.callback_query(F.data.startswith("bare:"))
    async def pressed(query: CallbackQuery) -> None:
        await query.answer()
        number = int((query.data or "bare:0").split(":")[1])
        assert query.message is not None
        if number < QUESTIONS:
            text, keyboard = question(number + 1)
            await bot.send_message(query.message.chat.id, text, reply_markup=keyboard)
        else:
            await bot.send_message(query.message.chat.id, "Fertig!")

    await dp.start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main(os.environ["TELEGRAM_API_URL"], os.environ["BOT_TOKEN"]))
