"""The Telegram adapter through Dispatcher.feed_update with a recording session."""
from __future__ import annotations

import json
import time

from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendMessage
from aiogram.types import BufferedInputFile

from flows.core.model import Event, EventKind, UserRef
from tests.fakes.bot_api_html import parse_html
from tests.telegram.conftest import Rig
from tests.telegram.recording import RecordingSession
from tests.unit.fakes import SteppableClock


def _assert_valid(session: RecordingSession) -> None:
    """Everything sent would pass Telegram's own checks: HTML, length, callback data size."""
    for call in session.calls:
        text = getattr(call, "text", None) or getattr(call, "caption", None)
        if text:
            parse_html(text)
        markup = getattr(call, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", None) or []:
            for button in row:
                assert 1 <= len(button.callback_data.encode()) <= 64


async def test_start_greets_with_role_buttons_in_html(rig: Rig) -> None:
    await rig.feed(rig.user.text("/start"))
    sent = rig.session.named("sendMessage")
    assert len(sent) == 2 and "Azubi-Lotse" in sent[0].text
    assert sent[1].reply_markup is not None
    assert rig.session.button("Jugendliche") == "ob:role:teen"
    _assert_valid(rig.session)


async def test_a_press_on_the_newest_question_turns_it_into_the_next_one(rig: Rig) -> None:
    await rig.feed(rig.user.text("/start"))
    question = rig.session.last_keyboard()
    rig.session.clear()
    await rig.feed(rig.user.press(question, "ob:role:teen"))
    names = [c.__api_method__ for c in rig.session.calls]
    assert names == ["answerCallbackQuery", "editMessageText"]  # one call that counts against the limits
    edit = rig.session.named("editMessageText")[0]
    assert edit.message_id == question.message_id and edit.text is not None and "Wie alt bist du" in edit.text
    assert edit.reply_markup is not None and rig.session.button("unter 16") == "ob:age:u16"
    _assert_valid(rig.session)


async def test_a_press_on_an_older_message_closes_its_keyboard_and_answers_below(rig: Rig) -> None:
    await rig.feed(rig.user.text("/start"))
    question = rig.session.last_keyboard()
    await rig.feed(rig.user.text("hallo"))  # the user wrote something after the question
    rig.session.clear()
    await rig.feed(rig.user.press(question, "ob:role:teen"))
    names = [c.__api_method__ for c in rig.session.calls]
    assert names == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    edit = rig.session.named("editMessageText")[0]
    assert edit.reply_markup is None and edit.text is not None
    assert "→ <i>🧑‍🎓 Jugendliche:r</i>" in edit.text  # history stays readable
    assert "Wie alt bist du" in rig.session.sent_texts()[0]
    _assert_valid(rig.session)


async def _to_place_question(rig: Rig) -> None:
    await rig.feed(rig.user.text("/start"))
    await rig.feed(rig.user.press(rig.session.last_keyboard(), "ob:role:teen"))
    await rig.feed(rig.user.press(rig.session.last_keyboard(), "ob:age:u16"))
    rig.session.clear()


async def test_html_like_input_is_escaped(rig: Rig) -> None:
    await _to_place_question(rig)
    await rig.feed(rig.user.text("<b>Tom & Jerry"))
    text = rig.session.sent_texts()[0]
    assert "&lt;b&gt;Tom &amp; Jerry" in text
    _assert_valid(rig.session)


async def test_4096_character_message_is_answered_without_echo(rig: Rig) -> None:
    await _to_place_question(rig)
    await rig.feed(rig.user.text("x" * 4096))
    texts = rig.session.sent_texts()
    assert "xxxx" not in "".join(texts) and "Postleitzahl" in texts[0]
    _assert_valid(rig.session)


async def test_town_search_and_confirmation_store_the_place(rig: Rig) -> None:
    await _to_place_question(rig)
    await rig.feed(rig.user.text("Löbau"))
    await rig.feed(rig.user.press(rig.session.last_keyboard(), "ob:place_confirm:yes"))
    assert any("Die Zukunftsmacher" in t for t in rig.session.sent_texts())
    async with rig.uow_factory() as uow:
        profile = await uow.users.get("telegram", rig.user.chat.id)
    assert profile is not None and (profile.plz, profile.cluster) == ("02708", "zukunftsmacher")


async def test_forged_callback_is_answered_and_refused(rig: Rig) -> None:
    await rig.feed(rig.user.text("/start"))
    question = rig.session.last_keyboard()
    rig.session.clear()
    await rig.feed(rig.user.press(question, "ob:role:admin' OR 1=1"))
    assert rig.session.named("answerCallbackQuery")
    assert not rig.session.named("editMessageText")  # not one of our buttons: nothing to close
    assert "passt gerade nicht" in rig.session.sent_texts()[0]


async def test_same_update_twice_is_answered_once(rig: Rig) -> None:
    update = rig.user.text("/start")
    await rig.feed(update)
    await rig.feed(update)
    assert len(rig.session.named("sendMessage")) == 2


async def test_media_and_location_get_helpful_answers(rig: Rig) -> None:
    from aiogram.types import Location, PhotoSize, Sticker, Voice

    await rig.feed(rig.user.text("/start"))
    rig.session.clear()
    await rig.feed(rig.user.message(sticker=Sticker(file_id="s", file_unique_id="s", type="regular",
                                                    width=1, height=1, is_animated=False, is_video=False)))
    await rig.feed(rig.user.message(photo=[PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]))
    await rig.feed(rig.user.message(voice=Voice(file_id="v", file_unique_id="v", duration=1)))
    await rig.feed(rig.user.message(location=Location(latitude=51.1, longitude=14.9)))
    texts = rig.session.sent_texts()
    assert "Sticker" in texts[0] and "Bilder" in texts[2] and "Sprachnachrichten" in texts[4]
    assert "Standort" in texts[6]


async def test_export_is_sent_as_a_json_document(rig: Rig) -> None:
    await rig.feed(rig.user.text("/start"))
    rig.session.clear()
    await rig.feed(rig.user.text("/meinedaten"))
    document = rig.session.named("sendDocument")[0]
    assert isinstance(document.document, BufferedInputFile)
    assert document.document.filename == "meine-daten.json"
    assert json.loads(document.document.data)["profile"]["channel"] == "telegram"


async def test_blocked_user_is_marked_inactive(rig: Rig) -> None:
    await rig.feed(rig.user.text("/start"))
    rig.session.fail("sendMessage", TelegramForbiddenError(SendMessage(chat_id=1, text="x"),
                                                           "Forbidden: bot was blocked by the user"))
    await rig.feed(rig.user.text("/menu"))
    async with rig.uow_factory() as uow:
        profile = await uow.users.get("telegram", rig.user.chat.id)
    assert profile is not None and profile.active is False


async def test_flood_control_waits_retry_after_then_sends(rig: Rig) -> None:
    rig.session.fail("sendMessage", TelegramRetryAfter(SendMessage(chat_id=1, text="x"), "Too Many Requests", 1))
    started = time.monotonic()
    await rig.feed(rig.user.text("/start"))
    assert time.monotonic() - started >= 1.0
    assert len(rig.session.named("sendMessage")) == 2


async def test_server_errors_are_retried_with_backoff(rig: Rig) -> None:
    error = TelegramServerError(SendMessage(chat_id=1, text="x"), "Bad Gateway")
    rig.session.fail("sendMessage", error, error)
    await rig.feed(rig.user.text("/start"))
    assert len(rig.session.named("sendMessage")) == 2


async def test_group_messages_are_ignored(rig: Rig) -> None:
    from datetime import UTC, datetime

    from aiogram.types import Chat, Message, Update

    group = Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=-100, type="group"),
                    from_user=rig.user.user, text="/start")
    await rig.feed(Update(update_id=999, message=group))
    assert rig.session.calls == []


def test_any_bot_api_server_url_is_used_as_the_base() -> None:
    from bot.telegram.runner import make_bot
    from tests.telegram.recording import TOKEN

    bot = make_bot(TOKEN, "http://127.0.0.1:8081/tg-api")
    assert bot.session.api.api_url(TOKEN, "getMe") == f"http://127.0.0.1:8081/tg-api/bot{TOKEN}/getMe"


async def test_quiz_result_comes_with_the_profile_picture(rig: Rig) -> None:
    await rig.feed(rig.user.text("/berufecheck"))
    for _ in range(20):  # bounded: the demo quiz has 12-16 questions
        question = rig.session.last_keyboard()
        assert question.reply_markup is not None
        data = next(b.callback_data for row in question.reply_markup.inline_keyboard for b in row
                    if b.callback_data is not None and b.callback_data.startswith("qz:a:"))
        rig.session.clear()
        await rig.feed(rig.user.press(question, data))
        if rig.session.named("sendPhoto"):
            break
    photo = rig.session.named("sendPhoto")[0]
    assert isinstance(photo.photo, BufferedInputFile) and photo.caption is not None
    assert photo.photo.data.startswith(b"\x89PNG") and "Interessenprofil" in photo.caption
    result = rig.session.sent_texts()[-1]
    assert "Geschafft" in result and "1." in result and "3." in result
    _assert_valid(rig.session)


async def test_replies_stored_before_a_crash_are_sent_at_the_next_start(rig: Rig, clock: SteppableClock) -> None:
    since = clock.now()
    event = Event(user=UserRef(channel="telegram", chat_id=555), kind=EventKind.COMMAND, text="start", update_id=9)
    await rig.engine.handle(event)  # stored and confirmed to Telegram, then the process died

    assert await rig.channel.resend_unanswered(rig.bot, since) == 1
    sent = [c for c in rig.session.calls if isinstance(c, SendMessage)]
    assert {c.chat_id for c in sent} == {555} and "Wer bist du?" in sent[-1].text
    count = len(sent)
    assert await rig.channel.resend_unanswered(rig.bot, since) == 0  # once only
    assert len([c for c in rig.session.calls if isinstance(c, SendMessage)]) == count
    _assert_valid(rig.session)


async def test_a_redelivered_message_another_worker_is_still_handling_is_left_to_it(
        rig: Rig, clock: SteppableClock) -> None:
    update = rig.user.text("/start")
    async with rig.uow_factory() as uow:  # another worker claimed it and is still at it
        await uow.updates.claim("telegram", update.update_id, update.message.chat.id if update.message else 0,
                                clock.now())
        await uow.commit()
    await rig.feed(update)  # Telegram's redelivery reaches this worker
    assert rig.session.named("sendMessage") == []
    async with rig.uow_factory() as uow:
        stored = await uow.updates.get("telegram", update.update_id)
    assert stored is not None and not stored.answered  # the other worker's answers still count as open
