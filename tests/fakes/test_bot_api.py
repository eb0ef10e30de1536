"""Tests of the fake Telegram Bot API, driven through a real aiogram Bot."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from .bot_api import NGINX_502_HTML, FakeBotApi, ThreadedFakeBotApi
from .bot_api_html import HtmlParseError, parse_html, utf16_len

TOKEN = "123456789:TEST-fake-token-for-azubi-lotse-tests"
CHAT = 4242


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


def make_bot(api: FakeBotApi, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    bot = make_bot(api)
    try:
        yield bot
    finally:
        await bot.session.close()


def message_of(update: Update) -> Message:
    assert update.message is not None
    return update.message


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in pairs]
    )


# --------------------------------------------------------------------------- basics


async def test_get_me(api: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "azubi_lotse_test_bot"
    assert api.url.startswith("http://127.0.0.1:")
    assert [r.method for r in api.requests] == ["getMe"]


async def test_send_and_receive(api: FakeBotApi, bot: Bot) -> None:
    update_id = api.user_sends_text(CHAT, "Hallo", first_name="Tom")
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [update_id]
    incoming = updates[0].message
    assert incoming is not None and incoming.text == "Hallo"
    assert incoming.from_user is not None and incoming.from_user.first_name == "Tom"
    assert incoming.from_user.language_code == "de"

    sent = await bot.send_message(CHAT, "<b>Hallo</b> Tom", parse_mode="HTML",
                                  reply_markup=keyboard(("Weiter", "next")))
    assert sent.message_id == incoming.message_id + 1  # ids are per chat, shared with the user
    assert sent.chat.id == CHAT and sent.from_user is not None and sent.from_user.is_bot
    assert sent.text == "Hallo Tom"
    assert sent.entities is not None and sent.entities[0].type == "bold"
    assert sent.reply_markup is not None  # inline keyboard is echoed

    stored = api.last_message(CHAT)
    assert stored is not None
    assert (stored.message_id, stored.text, stored.html) == (sent.message_id, "Hallo Tom", "<b>Hallo</b> Tom")
    assert api.buttons(stored) == [("Weiter", "next")]
    assert api.errors == []


async def test_user_command_and_other_message_kinds(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_command(CHAT, "/start", payload="ref42")
    api.user_sends_contact(CHAT, "+4915112345678")
    api.user_sends_location(CHAT, 51.76, 14.33)
    api.user_sends_sticker(CHAT)
    api.user_sends_photo(CHAT)
    api.user_sends_voice(CHAT)
    updates = await bot.get_updates()
    messages = [message_of(u) for u in updates]
    assert messages[0].text == "/start ref42"
    entities = messages[0].entities
    assert entities is not None and entities[0].type == "bot_command" and entities[0].length == 6
    contact, location = messages[1].contact, messages[2].location
    assert contact is not None and contact.user_id == CHAT
    assert location is not None and location.latitude == pytest.approx(51.76)
    assert messages[3].sticker is not None
    assert messages[4].photo is not None
    assert messages[5].voice is not None
    assert [m.message_id for m in messages] == [1, 2, 3, 4, 5, 6]


async def test_profile_persists_and_requests_are_tuples(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(7, first_name="Anna", language_code="en")
    api.user_sends_text(7, "hi")
    api.user_presses(7, 42, "stale", force=True)  # a button on a message the bot never sent
    [text_update, press] = await bot.get_updates()
    sender = message_of(text_update).from_user
    assert sender is not None
    assert sender.first_name == "Anna"
    assert sender.language_code == "en"
    assert press.callback_query is not None
    assert type(press.callback_query.message).__name__ == "InaccessibleMessage"
    [(method, params, at, status)] = api.requests
    assert (method, params, status) == ("getUpdates", {}, 200) and at <= time.monotonic()


async def test_unknown_chat_token_and_method(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "hi")
    wrong = make_bot(api, "987654321:TEST-wrong-token-for-azubi-lotse-tests")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await wrong.get_me()
    finally:
        await wrong.session.close()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.url}/bot{TOKEN}/sendPigeon", json={}) as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        # Method names are case-insensitive; JSON bodies work as well as forms.
        api.add_chat(CHAT)
        async with http.post(f"{api.url}/bot{TOKEN}/SENDMESSAGE", json={"chat_id": CHAT, "text": "x"}) as resp:
            assert resp.status == 200 and (await resp.json())["result"]["text"] == "x"
        async with http.get(f"{api.url}/bot{TOKEN}/getMe") as resp:
            assert (await resp.json())["ok"] is True
    assert [e.status for e in api.errors] == [400, 401, 404]


# --------------------------------------------------------------------------- text validation


async def test_html_escaping_is_enforced(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    ok = await bot.send_message(CHAT, "&lt;b&gt;Tom &amp; Jerry", parse_mode="HTML")
    assert ok.text == "<b>Tom & Jerry"
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(CHAT, "<b>Tom & Jerry", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "foo" at byte offset 4'):
        await bot.send_message(CHAT, "Hi! <foo>x</foo>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='corresponding to start tag "b"'):
        await bot.send_message(CHAT, "<b>bold", parse_mode="HTML")
    assert [e.status for e in api.bad_requests] == [400, 400, 400]
    assert len(api.sent(CHAT)) == 1


def test_html_parser_details() -> None:
    text, entities = parse_html('😀 <a href="https://x.de/?a=1&amp;b=2">Link</a> <code>&lt;</code>')
    assert text == "😀 Link <"
    assert entities == [
        {"type": "text_link", "offset": 3, "length": 4, "url": "https://x.de/?a=1&b=2"},
        {"type": "code", "offset": 8, "length": 1},
    ]
    assert parse_html('<pre><code class="language-py">x</code></pre>')[1] == [
        {"type": "pre", "offset": 0, "length": 1, "language": "py"}
    ]
    assert parse_html("<blockquote expandable>q</blockquote>")[1][0]["type"] == "expandable_blockquote"
    assert parse_html("Tom &#38; Jerry &#x27;s").__getitem__(0) == "Tom & Jerry 's"
    for bad in ("a < b", "<b>x</i>", "</b>", '<span class="x">y</span>', "a &nbsp; b", "x > y"):
        with pytest.raises(HtmlParseError):
            parse_html(bad)
    assert parse_html("Tom & Jerry > Spike", strict=False)[0] == "Tom & Jerry > Spike"


async def test_text_length_limits(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    await bot.send_message(CHAT, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    # Length is counted after entity parsing …
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    # … and in UTF-16 code units (emoji count twice).
    await bot.send_message(CHAT, "😀" * 2048)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "😀" * 2048 + "x")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(CHAT, "<b></b>  ", parse_mode="HTML")
    assert utf16_len("😀x") == 3
    assert len(api.sent(CHAT)) == 3


async def test_callback_data_limit_is_in_bytes(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    await bot.send_message(CHAT, "ok", reply_markup=keyboard(("A", "a" * 64)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "too long", reply_markup=keyboard(("A", "a" * 65)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "umlauts", reply_markup=keyboard(("A", "ä" * 33)))  # 66 bytes
    text_only = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="nothing")]])
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(CHAT, "no action", reply_markup=text_only)


async def test_reply_keyboards(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Nummer teilen", request_contact=True)],
                  [KeyboardButton(text="Standort", request_location=True)]],
        resize_keyboard=True, one_time_keyboard=True,
    )
    msg = await bot.send_message(CHAT, "Bitte teilen", reply_markup=markup)
    assert msg.reply_markup is None  # Telegram only echoes inline keyboards
    assert api.reply_keyboard(CHAT) == [["Nummer teilen"], ["Standort"]]
    await bot.send_message(CHAT, "Danke", reply_markup=ReplyKeyboardRemove())
    assert api.reply_keyboard(CHAT) is None


# --------------------------------------------------------------------------- getUpdates


async def test_get_updates_offset_semantics(api: FakeBotApi, bot: Bot) -> None:
    first = api.user_sends_text(CHAT, "eins")
    second = api.user_sends_text(CHAT, "zwei")
    third = api.user_sends_text(CHAT, "drei")

    # Unconfirmed updates are redelivered.
    assert [u.update_id for u in await bot.get_updates()] == [first, second, third]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == [first, second]
    # offset confirms everything below it.
    assert [u.update_id for u in await bot.get_updates(offset=second + 1)] == [third]
    assert [u["update_id"] for u in api.pending_updates()] == [third]
    assert [u.update_id for u in await bot.get_updates()] == [third]
    assert await bot.get_updates(offset=third + 1) == []
    assert api.pending_updates() == []


async def test_long_poll_returns_early_on_update(api: FakeBotApi, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await api.wait_until_polling(timeout=5)
    assert api.calls("getUpdates")[-1].status == 0  # visible while still in flight
    started = time.monotonic()
    update_id = api.user_sends_text(CHAT, "Bist du da?")
    updates = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 2
    assert [u.update_id for u in updates] == [update_id]
    assert api.calls("getUpdates")[-1].status == 200


async def test_long_poll_ends_at_timeout(api: FakeBotApi, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_stop_ends_waiting_polls(bot: Bot) -> None:
    server = FakeBotApi(TOKEN)
    await server.start()
    local_bot = make_bot(server)
    try:
        poll = asyncio.create_task(local_bot.get_updates(timeout=30))
        await server.wait_until_polling(timeout=5)
        started = time.monotonic()
        await server.stop()
        assert await asyncio.wait_for(poll, 5) == []
        assert time.monotonic() - started < 3
    finally:
        await local_bot.session.close()


async def test_concurrent_poll_gets_conflict(api: FakeBotApi, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await api.wait_until_polling(timeout=5)
    other = make_bot(api)
    try:
        second = asyncio.create_task(other.get_updates(timeout=1))
        with pytest.raises(TelegramConflictError):
            await asyncio.wait_for(first, 5)
        assert await asyncio.wait_for(second, 5) == []
    finally:
        await other.session.close()


async def test_webhook_calls_are_recorded(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_text(CHAT, "pending")
    await bot.delete_webhook()
    assert not api.drop_pending_updates_requested
    assert len(api.pending_updates()) == 1
    await bot.delete_webhook(drop_pending_updates=True)
    assert api.drop_pending_updates_requested
    assert api.pending_updates() == []
    assert await bot.get_updates() == []  # no webhook set: polling works


# --------------------------------------------------------------------------- failures and limits


async def test_injected_429_and_retry_after_violations(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    api.fail_next("sendMessage", status=429, retry_after=1)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "eins")
    assert caught.value.retry_after == 1
    # Ignoring retry_after is a violation and is answered with 429 again.
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(CHAT, "zu früh")
    violations = api.retry_after_violations
    assert [(v.method, v.chat_id, v.scope) for v in violations] == [("sendMessage", CHAT, "chat")]
    await asyncio.sleep(1.05)
    await bot.send_message(CHAT, "jetzt")
    assert len(api.retry_after_violations) == 1
    assert [m.text for m in api.sent(CHAT)] == ["jetzt"]


async def test_server_errors_and_blocked_chat(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    api.fail_next("sendMessage", status=500)
    with pytest.raises(TelegramServerError):
        await bot.send_message(CHAT, "x")
    api.block_chat(CHAT)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "x")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_document(CHAT, BufferedInputFile(b"x", filename="x.txt"))
    api.unblock_chat(CHAT)
    await bot.send_message(CHAT, "wieder da")
    api.fail_next("*", status=502, body=NGINX_502_HTML)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.url}/bot{TOKEN}/getMe") as resp:
            assert resp.status == 502 and "nginx" in await resp.text()
    assert [e.status for e in api.errors] == [500, 403, 403, 502]


async def test_enforced_rate_limits(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    api.add_chat(CHAT + 1)
    api.enforce_limits(global_per_second=30, per_chat_per_second=1, chat_burst=1)
    await bot.send_message(CHAT, "eins")
    await bot.send_message(CHAT + 1, "anderer Chat")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "zwei")
    assert caught.value.retry_after == 1
    await asyncio.sleep(1.05)
    await bot.send_message(CHAT, "zwei")
    assert api.retry_after_violations == []


async def test_a_short_burst_per_chat_is_tolerated_then_one_per_second_and_edits_count(api: FakeBotApi,
                                                                                        bot: Bot) -> None:
    api.add_chat(CHAT)
    api.enforce_limits(global_per_second=30, per_chat_per_second=1, chat_burst=3)
    first = await bot.send_message(CHAT, "eins")
    await bot.send_message(CHAT, "zwei")
    await bot.edit_message_text(text="eins!", chat_id=CHAT, message_id=first.message_id)  # the third: an edit
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "vier")
    assert caught.value.retry_after == 1


async def test_callback_answers_are_neither_limited_nor_held(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    api.enforce_limits(global_per_second=1, per_chat_per_second=1, chat_burst=1)
    msg = await bot.send_message(CHAT, "Frage?", reply_markup=keyboard(("Ja", "yes")))
    api.fail_next("sendMessage", 429, retry_after=5, scope="global")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(CHAT, "zu schnell")
    api.user_presses(CHAT, msg.message_id, "yes")
    query = api.callback_queries[-1]
    assert await bot.answer_callback_query(query.id)  # inside the global retry_after: still fine
    assert api.retry_after_violations == []


# --------------------------------------------------------------------------- edits, callbacks, documents


async def test_edit_message_rules(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends_text(CHAT, "hi")
    msg = await bot.send_message(CHAT, "Frage?", reply_markup=keyboard(("Ja", "yes")))
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=CHAT, message_id=msg.message_id + 10)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text(text="x", chat_id=CHAT, message_id=1)  # the user's message
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(text="Frage?", chat_id=CHAT, message_id=msg.message_id,
                                    reply_markup=keyboard(("Ja", "yes")))
    edited = await bot.edit_message_text(text="Frage? ✔", chat_id=CHAT, message_id=msg.message_id)
    assert isinstance(edited, Message)  # True is only for inline messages
    assert edited.edit_date is not None and edited.reply_markup is None  # keyboard removed
    stored = api.sent(CHAT)
    assert len(stored) == 1 and stored[0].text == "Frage? ✔" and stored[0].history[0]["text"] == "Frage?"
    await bot.edit_message_reply_markup(chat_id=CHAT, message_id=msg.message_id,
                                        reply_markup=keyboard(("Neu", "new")))
    assert api.buttons(api.last_message(CHAT)) == [("Neu", "new")]


async def test_callback_query_flow(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    msg = await bot.send_message(CHAT, "Wähle", reply_markup=keyboard(("Pflege", "job:pflege")))
    with pytest.raises(ValueError):
        api.user_presses(CHAT, msg.message_id, "job:unknown")
    api.user_presses(CHAT, msg.message_id, "job:pflege")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "job:pflege"
    assert query.message is not None and query.message.message_id == msg.message_id
    assert query.from_user.id == CHAT

    assert await bot.answer_callback_query(query.id, text="Gespeichert")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")
    assert api.callback_queries[0].answer == {"text": "Gespeichert"}

    api.user_presses_button(CHAT, "Pflege")
    assert len(api.pending_updates()) == 2  # first update not confirmed yet


async def test_send_document_is_stored(api: FakeBotApi, bot: Bot) -> None:
    api.add_chat(CHAT)
    data = b"%PDF-1.4 fake bewerbung"
    msg = await bot.send_document(
        CHAT, BufferedInputFile(data, filename="bewerbung.pdf"),
        caption="<b>Deine</b> Bewerbung", parse_mode="HTML",
    )
    assert msg.document is not None and msg.document.file_name == "bewerbung.pdf"
    assert msg.caption == "Deine Bewerbung"
    [doc] = api.documents(CHAT)
    assert (doc.filename, doc.data, doc.mime_type) == ("bewerbung.pdf", data, "application/pdf")
    assert api.calls("senddocument")[0].params["document"].startswith("attach://")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_document(CHAT, BufferedInputFile(data, filename="x.pdf"), caption="x" * 1025)
    # Re-sending by file_id works.
    again = await bot.send_document(CHAT, msg.document.file_id)
    assert again.document is not None and again.document.file_name == "bewerbung.pdf"


async def test_set_my_commands_validation(api: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Los geht's")], language_code="de")
    assert api.my_commands(language_code="de") == [{"command": "start", "description": "Los geht's"}]
    assert api.my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="x")])
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_DESCRIPTION_INVALID"):
        await bot.set_my_commands([BotCommand(command="help", description="x" * 257)])
    with pytest.raises(TelegramBadRequest, match="BOT_COMMANDS_TOO_MUCH"):
        await bot.set_my_commands([BotCommand(command=f"c{i}", description="x") for i in range(101)])


async def test_wait_for_is_bounded(api: FakeBotApi) -> None:
    with pytest.raises(TimeoutError, match="condition not met"):
        await api.wait_for(lambda: api.sent(CHAT)[0], timeout=0.2)


# --------------------------------------------------------------------------- threaded mode


def _post(url: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_threaded_server_from_sync_code() -> None:
    with ThreadedFakeBotApi(TOKEN) as api:
        base = f"{api.url}/bot{TOKEN}"
        api.user_sends_text(CHAT, "Hallo")
        status, body = _post(f"{base}/getUpdates", {"timeout": 1})
        assert status == 200 and body["result"][0]["message"]["text"] == "Hallo"

        status, body = _post(f"{base}/sendMessage", {"chat_id": CHAT, "text": "Tom & Jerry", "parse_mode": "HTML"})
        assert (status, body["error_code"]) == (400, 400)
        assert body["description"].startswith("Bad Request: can't parse entities")

        status, body = _post(f"{base}/sendMessage", {"chat_id": CHAT, "text": "Hi Tom"})
        assert status == 200
        assert [m.text for m in api.wait_for_messages_sync(CHAT, 1, timeout=2)] == ["Hi Tom"]
        with pytest.raises(TimeoutError):
            api.wait_for_sync(lambda: len(api.sent(CHAT)) > 1, timeout=0.2)
    assert not api.running
