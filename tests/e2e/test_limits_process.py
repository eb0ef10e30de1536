"""End to end: the real `lotse run` under Telegram's limits, with the production pacing (30/s in
total, a burst of 3 and then 1 per second per chat, edits counted like messages)."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import BotProcess, press, wait_for_text
from tests.fakes import FakeBotApi

USERS = list(range(2001, 2011))
STEPS = [("ob:role:teen", "Wie alt bist du?"), ("ob:age:16_17", "Wo wohnst du?"),
         ("ob:place:skip", "Gehst du noch zur Schule"), ("ob:school:pupil", "In welcher Klasse"),
         ("ob:class:9", "Was möchtest du machen?")]


@pytest.fixture
def paced(bot: BotProcess) -> BotProcess:
    for name in ("OUTBOX_RATE_PER_CHAT_PER_SECOND", "OUTBOX_BURST_PER_CHAT"):
        bot.env.pop(name, None)  # production defaults
    return bot


def test_no_reply_is_lost_when_a_fifth_of_all_sends_and_edits_draw_a_429(api: FakeBotApi, paced: BotProcess) -> None:
    api.enforce_limits(30, 1, chat_burst=3)
    api.fail_randomly({"sendMessage", "editMessageText", "editMessageReplyMarkup"}, 0.2, retry_after=1, seed=8)
    paced.start()
    for chat in USERS:
        api.user_sends_command(chat, "/start")
    for chat in USERS:
        wait_for_text(api, chat, "Wer bist du?", timeout=60)
    for prefix, expected in STEPS:
        for chat in USERS:
            press(api, chat, prefix)
        for chat in USERS:
            wait_for_text(api, chat, expected, timeout=60)  # every user gets every answer
    assert api.retry_after_violations == []  # after each 429 the whole bot waited
    assert all(q.answered for q in api.callback_queries)  # every spinner stopped
    limits = [e for e in api.errors if e.status == 429 and "retry after" in e.description]
    assert limits  # the storm really happened
    for chat in USERS:  # and nothing came twice: one welcome, one question bubble that moved on
        assert sum("Hallo! Ich bin der Azubi-Lotse" in m.text for m in api.sent(chat)) == 1
    assert paced.stop() == 0


def test_a_two_message_answer_arrives_together(api: FakeBotApi, paced: BotProcess) -> None:
    api.enforce_limits(30, 1, chat_burst=3)
    paced.start()
    api.user_sends_command(4001, "/start")
    wait_for_text(api, 4001, "Wer bist du?")
    sends = [r for r in api.calls("sendMessage") if r.params.get("chat_id") == 4001 and r.status == 200]
    assert len(sends) == 2 and sends[1].time - sends[0].time < 1.0  # not paced a second apart (the old pacing)
    assert api.errors == []
    assert paced.stop() == 0
