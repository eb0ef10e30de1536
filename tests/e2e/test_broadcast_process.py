"""An announcement through the real `lotse run`: an agent composes, previews and sends it in Telegram;
the opted-in get it with their own distance and form of address, one who blocked the bot gets
nothing, one taps "Ich komme" and gets reminders; `kill -9` in the middle loses nothing."""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flows.core.clock import SystemClock
from flows.core.model import ConsentRecord, Profile
from flows.domain.broadcast import CONSENT_VERSION, Topic, consent_purpose
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import BotProcess, press, wait_for_text
from tests.fakes import FakeBotApi

AGENT = 9100
TEEN, PARENT, BLOCKER, UNSUBSCRIBED, OTHER_CLUSTER = 9201, 9202, 9203, 9204, 9205
CROWD = list(range(9300, 9420))  # enough that the sending takes a few seconds at 30/s
CLUSTER = "zukunftsmacher"


async def _seed(url: str) -> None:
    """People as onboarding leaves them, opted in to fairs and events (except two)."""
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            now = datetime.now(UTC)

            async def person(chat: int, role: str, age: str | None, cluster: str = CLUSTER, opted_in: bool = True,
                             plz: str = "02708", place: str = "Löbau") -> None:
                profile = await uow.users.save(Profile(
                    channel="telegram", chat_id=chat, role=role, age_band=age, plz=plz, place=place,
                    cluster=cluster, onboarded=True, created_at=now, last_seen_at=now))
                assert profile.id is not None
                if opted_in:
                    await uow.consents.add(profile.id, ConsentRecord(
                        purpose=consent_purpose(Topic.EVENTS), text_version=CONSENT_VERSION, given_by="self",
                        given_at=now))
            await person(AGENT, "parent", None, opted_in=False)
            await person(TEEN, "teen", "18plus")
            await person(PARENT, "parent", None, plz="02826", place="Görlitz")
            await person(BLOCKER, "teen", "18plus")
            await person(UNSUBSCRIBED, "teen", "18plus", opted_in=False)
            await person(OTHER_CLUSTER, "teen", "18plus", cluster="tab-mint", plz="06108", place="Halle (Saale)")
            for chat in CROWD:
                await person(chat, "teen", "16_17")
            await uow.commit()
    finally:
        await engine.dispose()


def _announcements(api: FakeBotApi, chats: list[int]) -> Counter[int]:
    wanted = set(chats)
    return Counter(m.chat_id for chat in wanted for m in api.sent(chat) if "Impuls Cottbus" in m.text)


def _compose(api: FakeBotApi) -> None:
    api.user_sends_command(AGENT, "/broadcast")
    press(api, AGENT, "bc:new")
    press(api, AGENT, "bc:topic:events")
    wait_for_text(api, AGENT, "erreicht")
    press(api, AGENT, "bc:next")
    wait_for_text(api, AGENT, "Text für Jugendliche (du)")
    api.user_sends_text(AGENT, "Impuls Cottbus am Samstag: 12 Betriebe sind da – für dich {km} entfernt!")
    wait_for_text(api, AGENT, "Text für Eltern (Sie)")
    api.user_sends_text(AGENT, "Impuls Cottbus am Samstag: 12 Betriebe stellen sich vor, Sie sind herzlich eingeladen.")
    press(api, AGENT, "bc:nopic")
    press(api, AGENT, "bc:add:event")
    press(api, AGENT, "bc:pick:")
    wait_for_text(api, AGENT, "Buttons unter der Ankündigung")
    press(api, AGENT, "bc:next")
    wait_for_text(api, AGENT, "genau so kommt die Nachricht an")
    press(api, AGENT, "bc:now")
    press(api, AGENT, "bc:go")
    wait_for_text(api, AGENT, "geht jetzt raus")


def test_an_agent_announces_and_the_opted_in_get_it_once_even_across_a_crash(
        api: FakeBotApi, tmp_path: Path, new_database_url: Callable[[], str]) -> None:
    # a short lease: what the killed process had claimed is taken over after 5 s, not the default 60
    bot = BotProcess(api, tmp_path, {"ADMIN_TELEGRAM_IDS": str(AGENT), "OUTBOX_LEASE_SECONDS": "5"},
                     database_url=new_database_url())
    bot.cli("db", "upgrade")
    bot.cli("content", "load")
    asyncio.run(_seed(bot.database_url))
    everyone = [TEEN, PARENT, BLOCKER, UNSUBSCRIBED, OTHER_CLUSTER, *CROWD]
    for chat in [AGENT, *everyone]:
        api.add_chat(chat)
    api.enforce_limits(30, 100, chat_burst=3)
    api.user_blocks_bot(BLOCKER)
    bot.start()
    try:
        _compose(api)
        # the crowd is being served: kill in the middle, then start again
        api.wait_for_sync(lambda: sum(_announcements(api, CROWD).values()) >= 20 or None, timeout=60,
                          message="the announcement did not start")
        bot.kill()
        unrecorded = {chat for (chat,) in bot.rows(  # what the killed process had not recorded as sent
            "select chat_id from outbox where idempotency_key like 'broadcast:%' and status != 'sent'")}
        in_flight = set(_announcements(api, everyone)) & unrecorded  # went out, but the crash came before the record
        bot.start()
        api.wait_for_sync(lambda: len(_announcements(api, CROWD)) == len(CROWD) or None, timeout=120,
                          message=f"not everyone got it: {len(_announcements(api, CROWD))} of {len(CROWD)}")
        got = _announcements(api, everyone)
        assert set(got) == {TEEN, PARENT, *CROWD}  # not the blocker, the unsubscribed, the other cluster
        repeated = {chat for chat, n in got.items() if n > 1}
        assert repeated <= in_flight, (repeated - in_flight)  # only what was in flight at the kill is repeated
        assert all(n <= 2 for n in got.values())

        teen = wait_for_text(api, TEEN, "Impuls Cottbus")
        assert "für dich" in teen.text and " km entfernt" in teen.text  # their own distance
        parent = wait_for_text(api, PARENT, "Impuls Cottbus")
        assert "Sie sind herzlich eingeladen" in parent.text  # parents get the Sie text
        assert any((data or "").startswith("an:stop:") for _, data in teen.buttons)

        press(api, TEEN, "an:go:")  # "Ich komme"
        wait_for_text(api, TEEN, "Gemerkt")
        [(reminders,)] = bot.rows("select count(*) from outbox where chat_id = :chat and idempotency_key like "
                                  "'reminder:%'", chat=TEEN)
        [(blocked,)] = bot.rows("select count(*) from broadcast_recipients r join users u on u.id = r.user_id "
                                "where u.chat_id = :chat", chat=BLOCKER)
        [(taps,)] = bot.rows("select count(*) from broadcast_recipients where tapped_at is not null")
        assert reminders >= 1 and taps == 1
        assert blocked == 0  # blocked before it started: not even in the audience
        assert api.bad_requests == [], api.bad_requests
    finally:
        bot.stop()
