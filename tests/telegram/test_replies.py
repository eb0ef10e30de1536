"""How an answer to a press goes out: as few calls as reads well, none that changes nothing, and
every call again after Telegram failed, until all went out once."""
from __future__ import annotations

from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.telegram.latest import LatestMessages
from bot.telegram.render import render_reply
from bot.telegram.replies import Press, ReplySender
from flows.core.engine import Outcome
from flows.core.model import Button, Reply
from prompts import default_catalog
from tests.telegram.recording import make_recording_bot

CHAT = 42
QUESTION = Reply(key="onboarding.ask_age", buttons=[[Button(key="btn.age.u16", data="ob:age:u16")]])
CATALOG = default_catalog()


def press_on(message_id: int, reply: Reply = QUESTION, label: str | None = "Jugendliche:r") -> Press:
    rendered = render_reply(reply, CATALOG, "de", False)
    rows = rendered.keyboard.inline_keyboard if rendered.keyboard is not None else []  # type: ignore[union-attr]
    return Press(CHAT, message_id, rendered.chunks[0], [[(b.text, b.callback_data) for b in row] for row in rows],
                 label)


async def no_pause(seconds: float) -> None:
    pass


def sender(newest: int | None = 7) -> ReplySender:
    latest = LatestMessages()
    if newest is not None:
        latest.record(CHAT, newest)
    return ReplySender(CATALOG, latest, sleep=no_pause)


async def test_one_question_replaces_the_newest_pressed_message() -> None:
    bot, session = make_recording_bot()
    welcome = Reply(key="onboarding.ask_role", buttons=[[Button(key="btn.role.teen", data="ob:role:teen")]])
    await sender(newest=7).deliver(bot, CHAT, Outcome(replies=[QUESTION]), press_on(7, welcome))
    assert [c.__api_method__ for c in session.calls] == ["editMessageText"]
    edit = session.calls[0]
    assert isinstance(edit, EditMessageText) and edit.message_id == 7 and edit.reply_markup is not None


async def test_identical_content_is_never_edited() -> None:
    bot, session = make_recording_bot()
    await sender(newest=7).deliver(bot, CHAT, Outcome(replies=[QUESTION]), press_on(7, QUESTION))
    assert session.calls == []


async def test_a_message_with_newer_ones_below_keeps_its_text_and_the_answer_comes_below() -> None:
    bot, session = make_recording_bot()
    await sender(newest=9).deliver(bot, CHAT, Outcome(replies=[QUESTION]), press_on(7))
    assert [c.__api_method__ for c in session.calls] == ["editMessageText", "sendMessage"]
    edit = session.calls[0]
    assert isinstance(edit, EditMessageText)
    assert edit.reply_markup is None and edit.text is not None and "→ <i>Jugendliche:r</i>" in edit.text


async def test_an_answer_without_buttons_or_of_several_messages_comes_as_new_messages() -> None:
    bot, session = make_recording_bot()
    plain = Reply(key="onboarding.ask_age")
    await sender(newest=7).deliver(bot, CHAT, Outcome(replies=[plain]), press_on(7))
    await sender(newest=8).deliver(bot, CHAT, Outcome(replies=[plain, QUESTION]), press_on(8))
    assert [c.__api_method__ for c in session.calls] == ["editMessageText", "sendMessage",
                                                         "editMessageText", "sendMessage", "sendMessage"]


async def test_after_telegram_failed_the_rest_goes_out_once_in_order() -> None:
    bot, session = make_recording_bot()
    # The first message goes out; the second meets a 429 storm longer than the middleware waits,
    # then a network error: nothing is lost and the first is not sent twice.
    first, second = Reply(key="onboarding.ask_age"), QUESTION
    storm = [TelegramRetryAfter(method=SendMessage(chat_id=CHAT, text="x"), message="Too Many Requests", retry_after=0)
             for _ in range(25)]
    calls = sender(newest=None).plan(CHAT, Outcome(replies=[first, second]), None)
    assert len(calls) == 2
    await calls[0](bot)
    session.fail("sendMessage", *storm, TelegramNetworkError(method=SendMessage(chat_id=CHAT, text="x"),
                                                            message="timeout"))
    await sender(newest=None).deliver(bot, CHAT, Outcome(replies=[second]))
    sent = [c for c in session.calls if isinstance(c, SendMessage)]
    assert len(sent) == 2 and "Wie alt" in sent[1].text


async def test_a_question_with_the_share_number_keyboard_still_shows_its_buttons() -> None:
    """One message carries one keyboard: "share my number" goes with the question, zurück and
    abbrechen follow in a message of their own, so no way out is hidden."""
    bot, session = make_recording_bot()
    question = Reply(key="leads.ask_age", contact_button="btn.leads.share_phone",
                     buttons=[[Button(key="btn.back", data="ld:b"), Button(key="btn.leads.cancel", data="ld:x")]])
    await sender(newest=None).deliver(bot, CHAT, Outcome(replies=[question]))
    assert [c.__api_method__ for c in session.calls] == ["sendMessage", "sendMessage"]
    first, second = session.calls
    assert isinstance(first, SendMessage) and isinstance(second, SendMessage)
    assert isinstance(first.reply_markup, ReplyKeyboardMarkup) and first.reply_markup.keyboard[0][0].request_contact
    assert isinstance(second.reply_markup, InlineKeyboardMarkup)
    assert [b.callback_data for b in second.reply_markup.inline_keyboard[0]] == ["ld:b", "ld:x"]
