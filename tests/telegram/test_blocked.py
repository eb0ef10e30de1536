"""Blocking the bot (a `my_chat_member` update with status "kicked") stops everything for that person:
inactive, pending messages dropped, no reply. Unblocking ("member") makes them active again."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import Chat, ChatMemberBanned, ChatMemberMember, ChatMemberUpdated, Update, User

from bot.telegram.convert import member_event
from bot.telegram.polling import ALLOWED_UPDATES, poll
from bot.telegram.runner import make_bot
from flows.core.context import reply
from flows.core.model import EventKind
from flows.delivery.outbox import OutboxMessage, OutboxStatus
from tests.fakes import FakeBotApi
from tests.telegram.conftest import Rig

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"
BOT = User(id=7000000001, is_bot=True, first_name="Azubi-Lotse", username="azubi_lotse_test_bot")
_update_ids = iter(range(50_000, 60_000))


def _member_update(rig: Rig, status: str, chat: Chat | None = None) -> Update:
    new = ChatMemberBanned(user=BOT, until_date=datetime.fromtimestamp(0, UTC)) if status == "kicked" else ChatMemberMember(user=BOT)
    old = ChatMemberMember(user=BOT) if status == "kicked" else ChatMemberBanned(user=BOT, until_date=datetime.fromtimestamp(0, UTC))
    changed = ChatMemberUpdated(chat=chat or rig.user.chat, from_user=rig.user.user, date=datetime.now(UTC),
                                old_chat_member=old, new_chat_member=new)
    return Update(update_id=next(_update_ids), my_chat_member=changed)


async def _known_user_with_a_pending_message(rig: Rig) -> str:
    await rig.feed(rig.user.text("/start"))
    async with rig.uow_factory() as uow:
        profile = await uow.users.get("telegram", rig.user.chat.id)
        assert profile is not None
        key = "test:reminder"
        await uow.outbox.enqueue(OutboxMessage.to(profile, reply("events.reminder"), datetime.now(UTC), key))
        await uow.commit()
    rig.session.clear()
    return key


async def test_a_kicked_update_marks_inactive_drops_pending_messages_and_sends_nothing(rig: Rig) -> None:
    key = await _known_user_with_a_pending_message(rig)
    await rig.feed(_member_update(rig, "kicked"))
    assert rig.session.calls == []  # no reply, no callback answer: nothing goes to a blocked chat
    async with rig.uow_factory() as uow:
        profile = await uow.users.get("telegram", rig.user.chat.id)
        message = await uow.outbox.get(key)
    assert profile is not None and profile.active is False
    assert message is not None and message.status is OutboxStatus.DROPPED

    await rig.feed(_member_update(rig, "member"))  # unblocked
    assert rig.session.calls == []
    async with rig.uow_factory() as uow:
        profile = await uow.users.get("telegram", rig.user.chat.id)
    assert profile is not None and profile.active is True


async def test_member_updates_of_groups_and_other_statuses_are_ignored(rig: Rig) -> None:
    group = Chat(id=-100123, type="group", title="Klasse 9b")
    assert member_event(_member_update(rig, "kicked", chat=group).my_chat_member, 1) is None  # type: ignore[arg-type]
    kicked = _member_update(rig, "kicked").my_chat_member
    assert kicked is not None and member_event(kicked, 7) is not None
    event = member_event(kicked, 7)
    assert event is not None and event.kind is EventKind.BLOCKED and event.user.chat_id == rig.user.chat.id
    await rig.feed(_member_update(rig, "kicked", chat=group))
    assert rig.session.calls == []


def test_my_chat_member_is_asked_for() -> None:
    assert "my_chat_member" in ALLOWED_UPDATES  # else Telegram (and the fake) never deliver it


@pytest.mark.parametrize("unblock", [False, True])
async def test_the_fake_bot_api_delivers_a_block_through_polling_and_answers_403(rig: Rig, unblock: bool) -> None:
    chat = rig.user.chat.id
    async with FakeBotApi(TOKEN) as api:
        bot = make_bot(TOKEN, api.url, retry=False)
        stop = asyncio.Event()
        task = asyncio.create_task(poll(rig.dp, bot, stop, timeout=1))
        try:
            api.user_sends_command(chat, "/start")
            for _ in range(500):
                if len(api.sent(chat)) >= 2:  # greeting and the first question
                    break
                await asyncio.sleep(0.02)
            assert len(api.sent(chat)) >= 2
            api.user_blocks_bot(chat)

            async def inactive() -> bool:
                async with rig.uow_factory() as uow:
                    profile = await uow.users.get("telegram", chat)
                return profile is not None and not profile.active
            for _ in range(200):
                if await inactive():
                    break
                await asyncio.sleep(0.02)
            assert await inactive()
            with pytest.raises(TelegramForbiddenError):
                await bot.send_message(chat, "hallo?")
            if unblock:
                api.user_unblocks_bot(chat)
                for _ in range(200):
                    if not await inactive():
                        break
                    await asyncio.sleep(0.02)
                assert not await inactive()
                await bot.send_message(chat, "wieder da")
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await bot.session.close()
