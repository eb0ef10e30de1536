"""An aiogram session that records every Bot API call instead of sending it (like aiogram's own
tests/mocked_bot.py idea, written for our needs). Failures can be queued per method."""
from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any, Literal, overload

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageEntity,
    PhotoSize,
    Update,
    User,
)

from bot.telegram.retry import RetryMiddleware

BOT_USER = User(id=4242, is_bot=True, first_name="Azubi-Lotse", username="azubi_lotse_test_bot")
TOKEN = "4242:TEST-token-abcdefghijklmnopqrstuvwxyz"


# One private chat has one sequence of message ids, the user's and the bot's messages alike.
MESSAGE_IDS = itertools.count(1)


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []
        self.failures: dict[str, list[Exception]] = {}
        self.messages: list[Message] = []  # what the bot sent, as Telegram returned it
        self._ids = MESSAGE_IDS

    def fail(self, method: str, *errors: Exception) -> None:
        self.failures.setdefault(method, []).extend(errors)

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType],
                           timeout: int | None = None) -> TelegramType:
        name = method.__api_method__
        pending = self.failures.get(name)
        if pending:
            raise pending.pop(0)
        self.calls.append(method)
        if isinstance(method, GetMe):
            return BOT_USER  # type: ignore[return-value]
        if isinstance(method, (SendMessage, SendDocument, SendPhoto)):
            chat = Chat(id=int(method.chat_id), type="private")
            extra: dict[str, Any]
            if isinstance(method, SendMessage):
                extra = {"text": method.text}
            elif isinstance(method, SendPhoto):
                extra = {"caption": method.caption,
                         "photo": [PhotoSize(file_id="p", file_unique_id="p", width=900, height=600)]}
            else:
                assert isinstance(method.document, InputFile), "the bot uploads its documents"
                extra = {"caption": method.caption,
                         "document": Document(file_id="f", file_unique_id="u", file_name=method.document.filename)}
            # Telegram's Message carries inline keyboards only; a reply keyboard is not echoed back.
            markup = method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None
            sent = Message(message_id=next(self._ids), date=datetime.now(UTC), chat=chat,
                           from_user=BOT_USER, reply_markup=markup, **extra)
            self.messages.append(sent)
            return sent  # type: ignore[return-value]
        if isinstance(method, EditMessageText):  # the message shows the new text and keyboard from now on
            for index, message in enumerate(self.messages):
                if message.message_id == method.message_id:
                    self.messages[index] = message.model_copy(update={"text": method.text,
                                                                       "reply_markup": method.reply_markup})
                    return self.messages[index]  # type: ignore[return-value]
            return True  # type: ignore[return-value]
        return True  # type: ignore[return-value]

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        pass

    # The Bot API method names the tests look for, typed as the aiogram method objects they are.
    @overload
    def named(self, name: Literal["sendMessage"]) -> list[SendMessage]: ...
    @overload
    def named(self, name: Literal["editMessageText"]) -> list[EditMessageText]: ...
    @overload
    def named(self, name: Literal["sendDocument"]) -> list[SendDocument]: ...
    @overload
    def named(self, name: Literal["sendPhoto"]) -> list[SendPhoto]: ...
    @overload
    def named(self, name: Literal["answerCallbackQuery"]) -> list[AnswerCallbackQuery]: ...
    @overload
    def named(self, name: str) -> list[TelegramMethod[Any]]: ...
    def named(self, name: str) -> list[Any]:
        return [c for c in self.calls if c.__api_method__ == name]

    def sent_texts(self) -> list[str]:
        return [c.text for c in self.named("sendMessage")]

    def clear(self) -> None:
        self.calls.clear()

    def last_keyboard(self) -> Message:
        return next(m for m in reversed(self.messages) if m.reply_markup is not None)

    def button(self, label_part: str) -> str:
        """callback_data of the button on the last keyboard whose label contains label_part."""
        markup = self.last_keyboard().reply_markup
        assert markup is not None
        for row in markup.inline_keyboard:
            for b in row:
                if label_part in b.text:
                    return b.callback_data or ""
        raise AssertionError(f"no button {label_part!r}")


def make_recording_bot() -> tuple[Bot, RecordingSession]:
    session = RecordingSession()
    session.middleware(RetryMiddleware(base_delay=0.01))
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    return bot, session


class UpdateFactory:
    """Builds updates as Telegram would send them for one private chat."""

    def __init__(self, chat_id: int = 555, language_code: str = "de") -> None:
        self.chat = Chat(id=chat_id, type="private", first_name="Tom")
        self.user = User(id=chat_id, is_bot=False, first_name="Tom", language_code=language_code)
        self._update_ids = itertools.count(1)
        self._message_ids = MESSAGE_IDS

    def _message(self, **fields: Any) -> Message:
        return Message(message_id=next(self._message_ids), date=datetime.now(UTC), chat=self.chat,
                       from_user=self.user, **fields)

    def text(self, text: str) -> Update:
        entities = None
        if text.startswith("/"):
            entities = [MessageEntity(type="bot_command", offset=0, length=len(text.split()[0]))]
        return Update(update_id=next(self._update_ids), message=self._message(text=text, entities=entities))

    def message(self, **fields: Any) -> Update:
        return Update(update_id=next(self._update_ids), message=self._message(**fields))

    def press(self, bot_message: Message, data: str) -> Update:
        query = CallbackQuery(id=f"cq{next(self._message_ids)}", from_user=self.user, chat_instance="ci",
                              message=bot_message, data=data)
        return Update(update_id=next(self._update_ids), callback_query=query)
