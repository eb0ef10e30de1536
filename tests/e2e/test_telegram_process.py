"""End to end: the real `lotse run` process, the fake Bot API, a crash in the middle."""
from __future__ import annotations

import subprocess
import sys
import time

from tests.e2e.conftest import BotProcess, texts, wait_for_text
from tests.fakes import FakeBotApi
from tests.webhook_client import free_port, post_update


def _count(api: FakeBotApi, chat: int, fragment: str) -> int:
    """In how many messages the user saw the fragment (in any version of an edited message)."""
    return sum(any(fragment in h["text"] for h in m.history) or fragment in m.text for m in api.sent(chat))


def test_onboarding_survives_a_crash_and_nothing_is_answered_twice(api: FakeBotApi, bot: BotProcess) -> None:
    chat = 1001
    bot.start()
    api.user_sends_command(chat, "/start", "zukunftsmacher_plakat-goerlitz")
    wait_for_text(api, chat, "Wer bist du?")
    api.user_presses_button(chat, "🧑‍🎓 Jugendliche:r")
    wait_for_text(api, chat, "Wie alt bist du?")

    # The bot stores the next press, but Telegram fails while it answers – and then the bot dies.
    for method in ("sendMessage", "editMessageText"):
        api.fail_next(method, status=500, count=10_000, description="Internal Server Error")
    api.user_presses_button(chat, "unter 16")
    api.wait_for_sync(lambda: any(e.method in ("sendMessage", "editMessageText") for e in api.errors), timeout=15)
    bot.kill()
    assert _count(api, chat, "Wo wohnst du?") == 0
    api.clear_failures()
    api.user_sends_text(chat, "02708")  # written while the bot is down: must not be lost

    bot.start()
    wait_for_text(api, chat, "Wo wohnst du?")  # the stored answer goes out after the restart
    wait_for_text(api, chat, "Welcher ist deiner?")  # 02708 covers Löbau and eight villages
    api.user_presses_button(chat, "Löbau · 02708 · Landkreis Görlitz")
    wait_for_text(api, chat, "Gehst du noch zur Schule")
    api.user_presses_button(chat, "🏫 Ich gehe noch zur Schule")
    wait_for_text(api, chat, "In welcher Klasse")
    api.user_presses_button(chat, "Klasse 9")
    wait_for_text(api, chat, "Was möchtest du machen?")

    for question in ("Wer bist du?", "Wie alt bist du?", "Wo wohnst du?", "Welcher ist deiner?", "In welcher Klasse"):
        assert _count(api, chat, question) == 1, (question, texts(api, chat))
    assert _count(api, chat, "Die Zukunftsmacher") >= 1
    # The pressed question turned into the next one (one call instead of two), its buttons gone.
    first = next(m for m in api.sent(chat) if any("Wer bist du?" in h["text"] for h in m.history))
    assert first.edited and "Wer bist du?" not in first.text and not any("ob:role" in (d or "") for _, d in first.buttons)
    assert api.bad_requests == []
    assert not api.drop_pending_updates_requested
    # Every update is confirmed to Telegram (with the next getUpdates), and the bot stops cleanly.
    api.wait_for_sync(lambda: api.pending_updates() == [], timeout=15, message="updates left unconfirmed")
    assert bot.stop() == 0
    commands = {c["command"]: c["description"] for c in api.my_commands()}
    assert commands["datenschutz"] == "Was gespeichert wird und warum" and "loeschen" in commands
    assert api.my_commands(language_code="en")
    assert "TEST-abcdefghij" not in bot.output()  # the token never reaches the log

    [row] = bot.rows("select role, age_band, plz, school_class, cluster, source from users where chat_id = :chat",
                     chat=chat)
    assert row == ("teen", "u16", "02708", 9, "zukunftsmacher", "plakat-goerlitz")


def test_bad_input_gets_helpful_answers_and_never_a_400(api: FakeBotApi, bot: BotProcess) -> None:
    chat = 2002
    bot.start()
    api.user_sends_command(chat, "/start", first_name="<b>Tom & Jerry")
    question = wait_for_text(api, chat, "Wer bist du?")
    api.user_presses(chat, question.message_id, "ob:role:admin", force=True)  # forged callback
    wait_for_text(api, chat, "passt gerade nicht")
    api.user_sends_sticker(chat)
    wait_for_text(api, chat, "Cooler Sticker")
    api.user_sends_photo(chat)
    wait_for_text(api, chat, "Bilder kann ich")
    api.user_sends_voice(chat)
    wait_for_text(api, chat, "Sprachnachrichten")
    api.user_sends_command(chat, "/gibtsnicht")
    wait_for_text(api, chat, "/gibtsnicht kenne ich nicht")
    api.user_presses_button(chat, "👪 Elternteil")
    wait_for_text(api, chat, "Wo wohnen Sie?")
    api.user_sends_text(chat, "<b>Tom & Jerry")
    wait_for_text(api, chat, "Zu „<b>Tom & Jerry“ habe ich leider nichts gefunden")
    api.user_sends_text(chat, "x" * 4096)
    wait_for_text(api, chat, "Bitte schreiben Sie fünf Ziffern")
    api.user_sends_location(chat, 51.16, 14.97)
    wait_for_text(api, chat, "Ist das Görlitz")

    api.fail_next("sendMessage", status=429, retry_after=2)
    sent_before = time.monotonic()
    api.user_sends_command(chat, "/hilfe")
    wait_for_text(api, chat, "So funktioniert")
    assert time.monotonic() - sent_before >= 2  # waited for retry_after, then delivered
    assert api.retry_after_violations == []
    assert api.bad_requests == [], api.bad_requests
    assert "Tom" not in bot.output() and "02708" not in bot.output()  # no personal data in logs
    assert all(len(m.text) <= 4096 for m in api.sent(chat))


def test_blocked_user_is_marked_inactive(api: FakeBotApi, bot: BotProcess) -> None:
    chat = 3003
    bot.start()
    api.user_sends_command(chat, "/start")
    wait_for_text(api, chat, "Wer bist du?")
    api.block_chat(chat)
    api.user_sends_command(chat, "/menu")
    api.wait_for_sync(lambda: any(e.status == 403 for e in api.errors), timeout=15)

    def inactive() -> bool:
        return bot.rows("select count(*) from users where chat_id = :chat and active = false", chat=chat) == [(1,)]
    api.wait_for_sync(inactive, timeout=15, message="user not marked inactive")
    assert [c.status for c in api.calls("sendMessage")] == [200, 200, 403]  # the 403 was not retried
    assert bot.stop() == 0  # SIGTERM: clean shutdown


def test_webhook_checks_the_secret_and_answers_after_handling(api: FakeBotApi, bot: BotProcess) -> None:
    port, secret, chat = free_port(), "s3cret-Token_1", 4004
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    public = "https://lotse.example.org/telegram/webhook"  # TLS ends at the reverse proxy
    bot.env.update({"WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(port), "WEBHOOK_SECRET": secret,
                    "WEBHOOK_URL": public})
    api.user_sends_command(chat, "/start")  # Telegram's update, delivered by us to the webhook
    update = api.pending_updates()[-1]
    with (bot.workdir / "lotse.log").open("ab") as log:
        bot.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--webhook"],
                                       cwd=bot.workdir, env=bot.env, stdout=log, stderr=subprocess.STDOUT)
    api.wait_for_sync(lambda: api.calls("setWebhook"), timeout=30, message=bot.output())
    set_webhook = api.calls("setWebhook")[0].params
    assert set_webhook["url"] == public and set_webhook["secret_token"] == secret
    assert post_update(url, update, "falsch") == 401
    assert post_update(url, update, None) == 401
    assert api.sent(chat) == []
    assert post_update(url, update, secret) == 200
    assert _count(api, chat, "Wer bist du?") == 1  # handled before the 200
    assert post_update(url, update, secret) == 200  # Telegram retrying: stored already, not answered twice
    assert _count(api, chat, "Wer bist du?") == 1
    assert post_update(url, {"nonsense": True}, secret) == 400
    assert bot.stop() == 0
