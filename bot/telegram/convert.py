"""aiogram objects -> flows.Event. Only what the flows need crosses over; names stay behind."""
from __future__ import annotations

from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from flows.core.model import Event, EventKind, UserRef

CHANNEL = "telegram"
# my_chat_member in a private chat: the user blocked the bot ("kicked") or unblocked it ("member").
MEMBERSHIP = {"kicked": EventKind.BLOCKED, "member": EventKind.UNBLOCKED}
MEDIA_FIELDS = ("sticker", "photo", "voice", "video", "video_note", "audio", "document", "animation",
                "poll", "dice", "venue")


def _user(chat_id: int, language_code: str | None) -> UserRef:
    return UserRef(channel=CHANNEL, chat_id=chat_id, language_code=language_code)


def message_event(message: Message, update_id: int | None) -> Event:
    user = _user(message.chat.id, message.from_user.language_code if message.from_user else None)
    text = message.text
    if text is not None and text.startswith("/"):
        command, _, payload = text[1:].partition(" ")
        command = command.split("@", 1)[0]  # /start@azubi_lotse_bot in groups
        return Event(user=user, kind=EventKind.COMMAND, update_id=update_id, text=command.lower(),
                     payload=payload.strip() or None)
    if text is not None:
        return Event(user=user, kind=EventKind.TEXT, update_id=update_id, text=text)
    if message.contact is not None:
        return Event(user=user, kind=EventKind.CONTACT, update_id=update_id,
                     phone=message.contact.phone_number)
    if message.location is not None and message.venue is None:
        return Event(user=user, kind=EventKind.LOCATION, update_id=update_id,
                     latitude=message.location.latitude, longitude=message.location.longitude)
    media = next((name for name in MEDIA_FIELDS if getattr(message, name, None) is not None), "other")
    file_id = message.photo[-1].file_id if message.photo else None  # the largest size of a photo
    return Event(user=user, kind=EventKind.MEDIA, update_id=update_id, media_type=media, file_id=file_id)


def callback_event(query: CallbackQuery, update_id: int | None) -> Event | None:
    """None when the press cannot be attributed to a chat (inline mode, very old messages)."""
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    user = _user(chat_id, query.from_user.language_code)
    return Event(user=user, kind=EventKind.BUTTON, update_id=update_id, data=(query.data or "")[:64])


def member_event(update: ChatMemberUpdated, update_id: int | None) -> Event | None:
    """The user blocked or unblocked the bot; None for anything else (groups, other statuses)."""
    kind = MEMBERSHIP.get(update.new_chat_member.status)
    if update.chat.type != "private" or kind is None:
        return None
    return Event(user=_user(update.chat.id, update.from_user.language_code), kind=kind, update_id=update_id)
