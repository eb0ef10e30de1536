"""Issue 4 through the real process: a 17-year-old, an adult, and a 15-year-old whose parent says no
(issue 8: the child cannot answer their own link, the parent declares to be one first)."""
from __future__ import annotations

from tests.e2e.conftest import BotProcess, onboard_teen, press, wait_for_text
from tests.fakes import FakeBotApi
from tests.fakes.smtp_server import LocalSmtpServer

NAMES = {1701: "Kim", 1801: "Alex", 1501: "Mia"}


def hand_over(api: FakeBotApi, chat: int, age: str) -> None:
    """Onboarding in Löbau, then "Interessiert mich" on the nearest building offer, up to the consent."""
    onboard_teen(api, chat, age, "mittlere_reife")
    api.user_sends_command(chat, "/stellen")
    wait_for_text(api, chat, "(1/")
    press(api, chat, "ld:v:")
    wait_for_text(api, chat, "an andere passende Betriebe")
    press(api, chat, "ld:n")
    wait_for_text(api, chat, "Vornamen")
    api.user_sends_text(chat, NAMES[chat])
    wait_for_text(api, chat, "Wie kann dich der Betrieb erreichen")
    api.user_sends_text(chat, f"kim{chat}@example.org")
    wait_for_text(api, chat, "Wie soll sich der Betrieb melden")
    press(api, chat, "ld:pref:email")
    wait_for_text(api, chat, "Wann passt es dir")
    press(api, chat, "ld:time:any")
    wait_for_text(api, chat, "noch etwas sagen")
    press(api, chat, "ld:skip")
    wait_for_text(api, chat, "Bevor etwas weitergegeben wird")
    press(api, chat, "ld:ok")


def test_seventeen_adult_and_a_declined_fifteen_year_old(api: FakeBotApi, bot: BotProcess) -> None:
    bot.env["ADMIN_TELEGRAM_IDS"] = "9100"
    bot.start()
    api.user_sends_command(9100, "/einladung", "neisse-metallbau")
    wait_for_text(api, 9100, "kein Ausbildungscluster zugeordnet")  # agents act within their own cluster only
    api.user_sends_command(9100, "/start", "zukunftsmacher")  # the cluster's link sets it
    wait_for_text(api, 9100, "Wer bist du?")
    api.user_sends_command(9100, "/einladung", "saalefunke-automation")  # a company of TAB_MINT
    wait_for_text(api, 9100, "gehört nicht zu Ihrem Cluster")
    api.user_sends_command(9100, "/einladung", "neisse-metallbau")  # one of Die Zukunftsmacher
    wait_for_text(api, 9100, "?start=ci-")

    hand_over(api, 1701, "16_17")
    wait_for_text(api, 1701, "Erledigt!")
    hand_over(api, 1801, "18plus")
    wait_for_text(api, 1801, "Erledigt!")
    consent = next(m for m in api.sent(1801) if "Bevor etwas weitergegeben wird" in m.text)
    api.user_presses(1801, consent.message_id, "ld:ok", force=True)  # a replayed confirmation
    wait_for_text(api, 1801, "passt gerade nicht")  # the flow has moved on: nothing is sent twice
    hand_over(api, 1501, "u16")
    link = wait_for_text(api, 1501, "?start=pc-")
    payload = link.text.split("?start=")[1].split()[0]
    api.user_sends_command(1501, "/start", payload)  # the child cannot agree in their own place
    wait_for_text(api, 1501, "Das ist dein eigener Link")
    api.user_sends_command(7100, "/start", payload)
    wait_for_text(api, 7100, "Sind Sie Elternteil oder Erziehungsberechtigte:r")
    press(api, 7100, "ld:pr:")  # "Ja, ich bin Elternteil"
    wait_for_text(api, 7100, "Ihr Kind möchte")
    press(api, 7100, "ld:pd:")
    wait_for_text(api, 7100, "es wird nichts weitergegeben")
    wait_for_text(api, 1501, "nicht zugestimmt", timeout=30)

    assert api.bad_requests == [], api.bad_requests
    rows = bot.rows("select u.chat_id, l.status, c.given_by from leads l join users u on u.id = l.user_id "
                    "left join consents c on c.id = l.consent_id order by u.chat_id")
    [e_mails] = bot.rows("select count(*) from outbox where channel = 'email' and idempotency_key like :new",
                         new="lead:%:new")
    decided = bot.rows("select decision, relation, decided_by_channel, decided_by_chat_id from parent_requests")
    by_chat = {chat: (status, given_by) for chat, status, given_by in rows}
    assert by_chat[1501] == ("declined", None)
    assert decided == [("declined", "parent", "telegram", 7100)]  # who decided, as what
    assert by_chat[1701] == ("delivered", "self") and by_chat[1801] == ("delivered", "self")
    assert len([r for r in rows if r[0] == 1801]) == 1  # no second lead from the replay
    assert e_mails[0] == 2  # the two consented leads go to the company's e-mail address, the declined one not


def test_a_company_reports_by_the_link_in_its_e_mail(api: FakeBotApi, bot: BotProcess) -> None:
    with LocalSmtpServer() as smtp:
        bot.env.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_SECURITY": "none",
                        "SMTP_FROM": "Azubi-Lotse <lotse@lotse.example>"})
        bot.start()
        hand_over(api, 1801, "18plus")
        wait_for_text(api, 1801, "Erledigt!")
        [mail] = smtp.wait_for_sync(1)
    link = next(line for line in mail.body.splitlines() if line.startswith("Kontakt aufgenommen: https://t.me/"))
    assert f"t.me/{api.username}?start=ls-" in link  # the bot's own name, from getMe

    api.user_sends_command(4242, "/start", link.split("?start=")[1])  # someone at the company opens it
    wait_for_text(api, 4242, "Gespeichert: Betrieb hat sich gemeldet")
    wait_for_text(api, 1801, "hat sich wegen", timeout=20)  # the young person hears of it
    assert bot.rows("select status from leads") == [("contacted",)]
