"""Answers and proactive messages share one limiter: together they keep Telegram's limits, and a
429 seen by one holds the other."""
from __future__ import annotations

import asyncio

from bot.telegram.runner import make_bot
from flows.delivery.limiter import RateLimiter
from tests.fakes import FakeBotApi

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"


async def test_two_answers_to_one_chat_keep_the_limit_instead_of_hitting_a_429() -> None:
    async with FakeBotApi(TOKEN) as api:
        api.add_chat(301)
        api.enforce_limits(30, 1)
        bot = make_bot(TOKEN, api.url, limiter=RateLimiter(30, 1))
        try:
            await bot.send_message(301, "Erledigt!")
            await bot.send_message(301, "Was möchtest du machen?")
        finally:
            await bot.session.close()
        assert [m.text for m in api.sent(301)] == ["Erledigt!", "Was möchtest du machen?"]
        assert api.errors == []


async def test_a_429_on_an_answer_holds_the_outbox_for_that_chat() -> None:
    async with FakeBotApi(TOKEN) as api:
        api.add_chat(302)
        limiter = RateLimiter(30, 1)
        bot = make_bot(TOKEN, api.url, limiter=limiter)
        outbox_bot = make_bot(TOKEN, api.url, retry=False)
        try:
            api.fail_next("sendMessage", status=429, retry_after=1, chat_id=302)
            answer = asyncio.create_task(bot.send_message(302, "Antwort"))
            await api.wait_for(lambda: api.errors, timeout=5)  # the 429 came back
            async with limiter.slot(302):  # the outbox's turn for the same chat waits out the hold
                await outbox_bot.send_message(302, "Erinnerung")
            await asyncio.wait_for(answer, 5)
        finally:
            await bot.session.close()
            await outbox_bot.session.close()
        assert api.retry_after_violations == []
        assert sorted(m.text for m in api.sent(302)) == ["Antwort", "Erinnerung"]


async def test_a_429_holds_the_whole_bot_and_edits_wait_their_turn_too() -> None:
    async with FakeBotApi(TOKEN) as api:
        for chat in (303, 304):
            api.add_chat(chat)
        limiter = RateLimiter(30, 1, chat_burst=3)
        bot = make_bot(TOKEN, api.url, limiter=limiter)
        try:
            question = await bot.send_message(303, "Frage?")
            # Telegram's 429 does not say which limit it was: the overall one holds every chat.
            api.fail_next("sendMessage", status=429, retry_after=1, chat_id=303, scope="global")
            answer = asyncio.create_task(bot.send_message(303, "Antwort"))
            await api.wait_for(lambda: api.errors, timeout=5)
            assert limiter.held_for(304) > 0.5  # another chat is held as well
            await bot.edit_message_text(text="Frage, bearbeitet", chat_id=303, message_id=question.message_id)
            await bot.send_message(304, "Andere")
            await asyncio.wait_for(answer, 5)
        finally:
            await bot.session.close()
        assert api.retry_after_violations == []  # nothing, edits included, went out inside the hold


async def test_callback_answers_go_out_during_a_hold() -> None:
    async with FakeBotApi(TOKEN) as api:
        api.add_chat(305)
        limiter = RateLimiter(30, 1)
        bot = make_bot(TOKEN, api.url, limiter=limiter)
        try:
            message = await bot.send_message(305, "Frage?")
            api.user_presses(305, message.message_id, "x", force=True)
            limiter.hold(30)  # a long global retry_after: messages wait, the spinner must not
            answered = await asyncio.wait_for(bot.answer_callback_query(api.callback_queries[-1].id), 2)
        finally:
            await bot.session.close()
        assert answered is True
