"""A 15-year-old in Löbau: /start → Berufe-Check → result → offers nearby → event RSVP with reminders,
through the real `lotse run` process and the fake Bot API."""
from __future__ import annotations

from tests.e2e.conftest import BotProcess, onboard_teen, press, wait_for_text
from tests.fakes import FakeBotApi

CHAT = 5005


AGENT, CONTACT, PARENT = 9000, 8000, 7000


def test_teen_journey_from_start_to_event_rsvp(api: FakeBotApi, bot: BotProcess) -> None:
    bot.env["ADMIN_TELEGRAM_IDS"] = str(AGENT)
    bot.start()
    # The cluster agent invites a contact person of the example company the journey will reach.
    api.user_sends_command(AGENT, "/start", "zukunftsmacher")  # an agent of Die Zukunftsmacher
    wait_for_text(api, AGENT, "Wer bist du?")
    api.user_sends_command(AGENT, "/einladung", "zittauer-gebirgsbau")
    invite = wait_for_text(api, AGENT, "?start=ci-")
    api.user_sends_command(CONTACT, "/start", invite.text.split("?start=")[1].split()[0])
    wait_for_text(api, CONTACT, "Ansprechperson für")

    onboard_teen(api, CHAT, "u16", "pupil", payload="zukunftsmacher_karrieretage-plakat")

    press(api, CHAT, "qz:start")
    wait_for_text(api, CHAT, "Frage 1 von")
    total = int(next(m.text for m in api.sent(CHAT) if "Frage 1 von" in m.text).split("Frage 1 von ")[1].split()[0])
    for number in range(1, total + 1):
        wait_for_text(api, CHAT, f"Frage {number} von {total}")
        press(api, CHAT, f"qz:a:{number - 1}:")
    result = wait_for_text(api, CHAT, "Geschafft")
    photo = next(m for m in api.sent(CHAT) if m.kind == "photo")
    assert photo.document is not None and photo.document.data is not None
    assert photo.document.data.startswith(b"\x89PNG")
    assert "1." in result.text and "3." in result.text

    press(api, CHAT, "v:prof:")  # "Stellen" of the best-fitting profession
    card = wait_for_text(api, CHAT, "(1/")
    assert "Zittauer Gebirgsbau" in card.text and " km" in card.text
    press(api, CHAT, "ld:v:")  # Interessiert mich
    wait_for_text(api, CHAT, "Möchtest du sie auch")
    press(api, CHAT, "ld:n")
    wait_for_text(api, CHAT, "Wie heißt du mit Vornamen")
    api.user_sends_text(CHAT, "Tom")
    wait_for_text(api, CHAT, "Wie kann dich der Betrieb erreichen")
    assert api.reply_keyboard(CHAT) == [["📱 Telefonnummer teilen"]]
    api.user_sends_contact(CHAT, "+4915112345678")
    wait_for_text(api, CHAT, "Wie soll sich der Betrieb melden")
    press(api, CHAT, "ld:pref:phone")
    wait_for_text(api, CHAT, "Wann passt es dir")
    press(api, CHAT, "ld:time:afternoon")
    wait_for_text(api, CHAT, "noch etwas sagen")
    api.user_sends_text(CHAT, "Ich freu mich auf die <Baustelle> & euch!")
    consent = wait_for_text(api, CHAT, "Bevor etwas weitergegeben wird")
    assert "Berufe-Check" in consent.text and "unter 16" in consent.text
    press(api, CHAT, "ld:ok")
    link = wait_for_text(api, CHAT, "?start=pc-")
    assert not [m for m in api.sent(CONTACT) if "Neue Anfrage für" in m.text]  # nothing before a parent agrees
    api.user_sends_command(PARENT, "/start", link.text.split("?start=")[1].split()[0])
    wait_for_text(api, PARENT, "Sind Sie Elternteil")
    press(api, PARENT, "ld:pr:")  # "Ja, ich bin Elternteil"
    review = wait_for_text(api, PARENT, "Ihr Kind möchte")
    assert "Tom" in review.text and "Zittauer Gebirgsbau" in review.text
    press(api, PARENT, "ld:pa:")
    wait_for_text(api, PARENT, "Vielen Dank")
    lead = wait_for_text(api, CONTACT, "Neue Anfrage für", timeout=30)
    assert "+4915112345678" in lead.text and "Ich freu mich auf die <Baustelle> & euch!" in lead.text
    assert "Interesse" in lead.text and "Berufe-Check" not in lead.text
    wait_for_text(api, CHAT, "Deine Eltern haben zugestimmt", timeout=30)
    press(api, CONTACT, "ld:cs:")  # Kontakt aufgenommen
    wait_for_text(api, CONTACT, "Gespeichert")
    wait_for_text(api, CHAT, "hat sich wegen", timeout=30)

    api.user_sends_command(CHAT, "/termine")
    wait_for_text(api, CHAT, "Messen & Termine")
    press(api, CHAT, "e:s:")
    wait_for_text(api, CHAT, "🗓")
    press(api, CHAT, "e:y:")
    going = wait_for_text(api, CHAT, "keine Anmeldung")  # a reminder, not a registration
    assert "7 Tage" in going.text
    press(api, CHAT, "e:c:")
    calendar = api.wait_for_sync(lambda: next((d for d in api.documents(CHAT) if (d.filename or "").endswith(".ics")),
                                              None), timeout=15)
    assert calendar.data is not None and calendar.data.startswith(b"BEGIN:VCALENDAR")

    assert api.bad_requests == [], api.bad_requests
    [(user_id,)] = bot.rows("select id from users where chat_id = :chat", chat=CHAT)
    [finished] = bot.rows("select count(*) from quiz_attempts where user_id = :id and finished_at is not null",
                          id=user_id)
    [reminders] = bot.rows("select count(*) from outbox where chat_id = :chat and idempotency_key like 'reminder:%'",
                           chat=CHAT)
    [rsvps] = bot.rows("select count(*) from event_rsvps where user_id = :id", id=user_id)
    leads = bot.rows("select status from leads where user_id = :id", id=user_id)
    consents = bot.rows("select given_by from consents where user_id = :id", id=user_id)
    assert finished == (1,) and rsvps == (1,) and reminders[0] >= 1
    assert leads == [("contacted",)] and consents == [("parent",)]
