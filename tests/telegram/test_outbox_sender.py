"""The Telegram Sender against the fake Bot API: every answer becomes the right SendResult."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.telegram.runner import make_bot
from bot.telegram.sender import TelegramSender
from flows.core.model import Button, Document, Reply, UserRef
from flows.delivery.outbox import SendKind
from prompts import default_catalog
from tests.fakes import NGINX_502_HTML, FakeBotApi

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"
CHAT = 4242
TO = UserRef(channel="telegram", chat_id=CHAT)
REPLY = Reply(key="fallback.unknown_command", values={"command": "erinnerung"},
              buttons=[[Button(key="btn.menu.help", data="menu:help")]])


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as fake:
        fake.add_chat(CHAT)
        yield fake


@pytest.fixture
async def sender(api: FakeBotApi) -> AsyncIterator[TelegramSender]:
    bot = make_bot(TOKEN, api.url, retry=False)
    try:
        yield TelegramSender(bot, default_catalog(), request_timeout=5)
    finally:
        await bot.session.close()


async def test_a_message_goes_out_with_its_buttons(api: FakeBotApi, sender: TelegramSender) -> None:
    result = await sender.send(TO, REPLY, "de", False)
    assert result.kind is SendKind.OK
    [message] = api.sent(CHAT)
    assert "/erinnerung" in message.text and message.buttons and message.buttons[0][1] == "menu:help"


async def test_a_document_goes_out_as_one_call(api: FakeBotApi, sender: TelegramSender) -> None:
    reply = REPLY.model_copy(update={"document": Document(filename="termin.ics", content=b"BEGIN:VCALENDAR")})
    assert (await sender.send(TO, reply, "de", False)).kind is SendKind.OK
    assert api.documents(CHAT)[0].filename == "termin.ics" and len(api.requests) == 1


async def test_429_is_handed_to_the_dispatcher_not_retried(api: FakeBotApi, sender: TelegramSender) -> None:
    api.fail_next("sendMessage", 429, retry_after=7)
    result = await sender.send(TO, REPLY, "de", False)
    assert (result.kind, result.retry_after) == (SendKind.RETRY_AFTER, 7)
    assert len(api.calls("sendMessage")) == 1 and api.sent(CHAT) == []


@pytest.mark.parametrize(("status", "body", "kind"), [
    (403, None, SendKind.BLOCKED),
    (500, None, SendKind.TRANSIENT),
    (502, NGINX_502_HTML, SendKind.TRANSIENT),
    (400, None, SendKind.PERMANENT),
])
async def test_errors_are_classified(api: FakeBotApi, sender: TelegramSender, status: int, body: str | None,
                                     kind: SendKind) -> None:
    api.fail_next("sendMessage", status, count=1, body=body)
    result = await sender.send(TO, REPLY, "de", False)
    assert result.kind is kind and result.error
    assert len(api.calls("sendMessage")) == 1  # never retried here


async def test_unreachable_api_is_transient(sender: TelegramSender, api: FakeBotApi) -> None:
    await api.stop()
    assert (await sender.send(TO, REPLY, "de", False)).kind is SendKind.TRANSIENT


async def test_a_message_too_long_for_one_call_is_refused_before_sending(api: FakeBotApi,
                                                                      sender: TelegramSender) -> None:
    long = Reply(key="fallback.unknown_command", values={"command": "x" * 5000})
    result = await sender.send(TO, long, "de", False)
    assert result.kind is SendKind.PERMANENT and api.requests == []


async def test_a_missing_text_is_permanent(api: FakeBotApi, sender: TelegramSender) -> None:
    result = await sender.send(TO, Reply(key="gibt.es.nicht"), "de", False)
    assert result.kind is SendKind.PERMANENT and api.requests == []


async def test_an_announcement_with_a_picture_goes_out_as_the_photo_it_was_given(api: FakeBotApi) -> None:
    """The agent's photo is sent again by its file_id (no upload), the text as its caption; with paid
    broadcasts on, announcements (and only they) carry allow_paid_broadcast."""
    api.user_sends_photo(CHAT)
    file_id = "AgACAgIAAxkBAAIfakePhoto800"
    announcement = Reply(key="broadcast.message", values={"text": "Impuls Cottbus am Samstag"}, photo_file_id=file_id)
    bot = make_bot(TOKEN, api.url, retry=False)
    try:
        paid = TelegramSender(bot, default_catalog(), request_timeout=5, paid_broadcast=True)
        assert (await paid.send(TO, announcement, "de", False)).kind is SendKind.OK
        assert (await paid.send(TO, REPLY, "de", False)).kind is SendKind.OK
    finally:
        await bot.session.close()
    [photo] = api.calls("sendPhoto")
    assert photo.params["photo"] == file_id and "Impuls Cottbus" in str(photo.params["caption"])
    assert photo.params.get("allow_paid_broadcast") in (True, "true")
    [plain] = api.calls("sendMessage")
    assert "allow_paid_broadcast" not in plain.params  # answers and reminders are never paid


async def test_a_caption_over_telegrams_limit_is_refused_not_cut(sender: TelegramSender) -> None:
    long = Reply(key="broadcast.message", values={"text": "x" * 1100}, photo_file_id="AgACAgIAAxkBAAIfakePhoto800")
    result = await sender.send(TO, long, "de", False)
    assert result.kind is SendKind.PERMANENT
