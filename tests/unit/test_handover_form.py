"""Issue 10, points 3, 4, 5 and 7: the hand-over form reads names, phone numbers and e-mail addresses
carefully, takes both ways of contact, offers only ways that exist, has "zurück" and "abbrechen" at
every step, refuses a too-long message, offers the last request's details again, says "already sent"
at the first tap, gives extra companies the profession (not a competitor's offer), and lets a parent
ask with their own contact in Sie-form."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from content import default_directory
from flows.conversations.leads.handover import STEPS
from flows.delivery.outbox import OutboxMessage, OutboxStatus
from flows.domain.contact_details import parse_email, parse_name, parse_phone
from flows.domain.lead import LeadStatus
from prompts import default_catalog
from tests.unit.fakes import SteppableClock, Store
from tests.unit.harness import Harness

OFFER = "giebichenstein-mecha-2027"  # Giebichensteiner Roboterwerkstatt, Halle: Mechatroniker:in
OTHER_OFFER = "giebichenstein-ist-2027"
SAALEFUNKE = "saalefunke-automation"


async def _teen(store: Store, age: str = "16_17", chat_id: int = 42) -> Harness:
    """A pupil in Halle (class 11) after onboarding."""
    h = Harness(store=store, chat_id=chat_id, places=default_directory(),
                clock=SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC)))
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press(f"ob:age:{age}")
    await h.text("06108")
    await h.press("ob:place_confirm:yes")
    await h.press("ob:school:pupil")
    await h.press("ob:class:11")
    return h


async def _to_contact(h: Harness, offer: str = OFFER, name: str = "Tom") -> None:
    assert await h.forge(f"ld:v:{offer}") == ["leads.choose_recipients"]
    assert await h.press("ld:n") == ["leads.ask_name"]
    assert await h.text(name) == ["leads.ask_contact"]


def _messages(store: Store, key: str) -> list[OutboxMessage]:
    return [m for m in store.outbox.values() if m.reply.key == key and m.status is OutboxStatus.PENDING]


# ---- reading what was typed -------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "name"), [
    ("ich heiße max", "Max"), ("Ich bin die Lea", "Lea"), ("max", "Max"), ("MAX", "Max"), ("anna-lena", "Anna-Lena"),
    ("Hallo, ich bin Tom!", "Tom"), ("mein Name ist Jörg", "Jörg"), ("Max Müller", "Max"), ("McKenzie", "McKenzie"),
])
def test_a_first_name_is_taken_out_of_what_was_typed(typed: str, name: str) -> None:
    assert parse_name(typed) == name


@pytest.mark.parametrize("typed", ["ich", "keine ahnung", "<b>", "123", "e", "nein", "Ich bin 15", "ich wohne in halle und "
                                   "mag autos"])
def test_what_is_not_a_name_is_refused(typed: str) -> None:
    assert parse_name(typed) is None


def test_a_parent_gives_a_full_name() -> None:
    assert parse_name("mein Name ist sandra von berg", full=True) == "Sandra von Berg"
    assert parse_name("Frau Müller", full=True) == "Frau Müller"


def test_phone_numbers_and_e_mail_addresses_by_the_libraries() -> None:
    assert parse_phone("0176 123") is None  # too short: not a number
    assert parse_phone("0800 1234567") is None and parse_phone("0900 1234567") is None  # service numbers
    mobile, landline = parse_phone("0176 12345678"), parse_phone("(03581) 123456")
    assert mobile is not None and (mobile.e164, mobile.mobile) == ("+4917612345678", True)
    assert landline is not None and (landline.e164, landline.mobile) == ("+493581123456", False)
    assert parse_phone("+48 512 345 678") is not None  # a Polish number across the border
    assert parse_email("Tom@Example.ORG") == "Tom@example.org" and parse_email("tom@localhost") is None


# ---- point 3: the form -------------------------------------------------------------------------
async def test_a_short_phone_number_is_refused_and_a_valid_one_is_stored_in_e164() -> None:
    h = await _teen(Store())
    await _to_contact(h)
    assert await h.text("0176 123") == ["leads.contact_invalid", "leads.ask_contact"]
    assert await h.text("0176 12345678") == ["leads.contact_saved", "leads.ask_preference"]
    ways = [d for d in h.button_data if d.startswith("ld:pref:")]
    assert ways == ["ld:pref:phone", "ld:pref:sms"]  # no e-mail without an address, never Telegram
    assert (await h.forge("ld:pref:email"))[0] != "leads.ask_time"  # forged: not accepted
    assert (await h.forge("ld:pref:telegram"))[0] != "leads.ask_time"


async def test_a_landline_gets_no_sms_and_an_e_mail_only_contact_no_call() -> None:
    h = await _teen(Store())
    await _to_contact(h)
    await h.text("0345 1234567")
    assert [d for d in h.button_data if d.startswith("ld:pref:")] == ["ld:pref:phone"]
    await h.press("ld:b")  # back to the contact: a new answer replaces the old one
    assert await h.text("tom@example.org") == ["leads.contact_saved", "leads.ask_preference"]
    assert [d for d in h.button_data if d.startswith("ld:pref:")] == ["ld:pref:email"]


async def test_phone_and_e_mail_can_both_be_given() -> None:
    h = await _teen(Store())
    await _to_contact(h, name="ich heiße max")
    await h.text("0176 12345678")
    assert h.reply("leads.ask_preference").values["email"] is None  # it asks for the other one, optionally
    assert await h.text("max@example.org") == ["leads.contact_saved", "leads.ask_preference"]
    assert [d for d in h.button_data if d.startswith("ld:pref:")] == ["ld:pref:phone", "ld:pref:sms", "ld:pref:email"]
    await h.press("ld:pref:email")
    await h.press("ld:time:any")
    assert await h.press("ld:skip") == ["leads.consent"]
    shared = h.reply("leads.consent").values["shared"]
    assert (shared["first_name"], shared["phone"], shared["email"], shared["preferred_channel"]) == \
        ("Max", "+4917612345678", "max@example.org", "email")


async def test_a_non_name_gets_a_friendly_hint() -> None:
    h = await _teen(Store())
    await h.forge(f"ld:v:{OFFER}")
    await h.press("ld:n")
    assert await h.text("keine ahnung") == ["leads.name_invalid", "leads.ask_name"]
    assert await h.text("Ich bin die Lea") == ["leads.ask_contact"]


async def test_every_step_has_back_keeping_what_was_entered_and_cancel() -> None:
    store = Store()
    h = await _teen(store)
    await _to_contact(h)
    await h.text("0176 12345678")
    await h.press("ld:pref:phone")
    await h.press("ld:time:evening")
    await h.text("Ich schraube gern.")
    assert h.keys == ["leads.consent"]
    expected_back = ["leads.ask_message", "leads.ask_time", "leads.ask_preference", "leads.ask_contact",
                     "leads.ask_name", "leads.choose_recipients"]
    for key in expected_back:
        if key != "leads.choose_recipients":
            assert "ld:x" in h.button_data
        assert await h.press("ld:b") == [key]
        if key == "leads.ask_message":
            assert h.reply(key).values["message"] == "Ich schraube gern."
        if key in ("leads.ask_time", "leads.ask_preference"):
            assert any(b.values.get("chosen") for row in h.replies[0].buttons for b in row)  # the choice is marked
        if key == "leads.ask_name":
            assert "ld:k" in h.button_data  # "weiter mit Tom": nothing to type again
    assert "ld:b" not in h.button_data  # the first step: only "abbrechen"
    # forward again with one tap per step: everything was kept
    await h.press("ld:n")
    assert await h.press("ld:k") == ["leads.ask_contact"]
    assert await h.press("ld:k") == ["leads.ask_preference"]
    assert await h.press("ld:pref:phone") == ["leads.ask_time"]
    assert await h.press("ld:time:evening") == ["leads.ask_message"]
    assert await h.press("ld:k") == ["leads.consent"]
    assert h.reply("leads.consent").values["shared"]["message"] == "Ich schraube gern."
    assert await h.press("ld:x") == ["leads.cancelled", "menu.main"]
    assert store.leads == {}


@pytest.mark.parametrize("step", [step.name for step in STEPS if step.name not in ("age", "reuse")])
async def test_cancel_works_at_every_step(step: str) -> None:
    store = Store()
    h = await _teen(store)
    await h.forge(f"ld:v:{OFFER}")
    moves = {"recipients": [], "name": ["n"], "contact": ["n", "Tom"], "preference": ["n", "Tom", "0176 12345678"],
             "time": ["n", "Tom", "0176 12345678", "pref:phone"],
             "message": ["n", "Tom", "0176 12345678", "pref:phone", "time:any"],
             "consent": ["n", "Tom", "0176 12345678", "pref:phone", "time:any", "skip"]}[step]
    for move in moves:
        await (h.press(f"ld:{move}") if f"ld:{move}" in h.button_data else h.text(move))
    assert (await h.press("ld:x"))[0] == "leads.cancelled"
    assert store.leads == {} and h.reply("leads.cancelled").remove_keyboard


async def test_typed_back_and_cancel_work_where_the_phone_keyboard_is_shown() -> None:
    h = await _teen(Store())
    await _to_contact(h)
    assert await h.text("zurück") == ["leads.ask_name"]
    await h.press("ld:k")
    assert await h.text("Abbrechen") == ["leads.cancelled", "menu.main"]


async def test_a_too_long_message_is_refused_with_its_length_and_the_limit() -> None:
    h = await _teen(Store())
    await _to_contact(h)
    await h.text("0176 12345678")
    await h.press("ld:pref:phone")
    await h.press("ld:time:any")
    assert await h.text("x" * 400) == ["leads.message_too_long", "leads.ask_message"]
    assert h.reply("leads.message_too_long").values == {"count": 400, "total": 300}
    assert await h.text("y" * 300) == ["leads.consent"]
    assert h.reply("leads.consent").values["shared"]["message"] == "y" * 300


# ---- point 4: details again, "already" at once ----------------------------------------------------
async def _send(h: Harness, offer: str = OFFER) -> None:
    await _to_contact(h, offer)
    await h.text("0176 12345678")
    await h.press("ld:pref:sms")
    await h.press("ld:time:afternoon")
    await h.press("ld:skip")
    assert await h.press("ld:ok") == ["leads.done", "menu.main"]


async def test_a_second_request_offers_the_last_details_shown_and_changeable() -> None:
    store = Store()
    h = await _teen(store)
    await _send(h)
    assert await h.forge(f"ld:v:{OTHER_OFFER}") == ["leads.choose_recipients"]
    assert await h.press("ld:n") == ["leads.reuse"]
    shown = h.reply("leads.reuse").values
    assert (shown["first_name"], shown["phone"], shown["preferred_channel"], shown["preferred_time"]) == \
        ("Tom", "+4917612345678", "sms", "afternoon")
    assert await h.press("ld:ru:y") == ["leads.ask_message"]  # name, contact, way and time taken over
    assert await h.press("ld:b") == ["leads.reuse"]
    assert await h.press("ld:ru:n") == ["leads.ask_name"]  # change: the form, with everything kept
    assert await h.text("Tommy") == ["leads.ask_contact"]
    await h.text("tommy@example.org")
    await h.press("ld:pref:email")
    await h.press("ld:time:any")
    await h.press("ld:skip")
    await h.press("ld:ok")
    newest = max(store.leads.values(), key=lambda lead: lead.id or 0)
    assert (newest.shared["first_name"], newest.shared["email"], newest.shared["phone"]) == \
        ("Tommy", "tommy@example.org", None)  # a new contact at the contact step replaces the old one


async def test_a_second_tap_on_the_same_offer_says_already_sent_at_once() -> None:
    store = Store()
    h = await _teen(store)
    await _send(h)
    assert await h.forge(f"ld:v:{OFFER}") == ["leads.already", "menu.main"]
    [item] = h.reply("leads.already").values["items"]
    assert item["status"] == LeadStatus.DELIVERED.value
    assert h.profile.id is not None and len(store.leads) == 1


# ---- point 5: extra companies ---------------------------------------------------------------------
async def test_extra_companies_get_the_profession_not_the_other_companys_offer() -> None:
    store = Store()
    h = await _teen(store)
    await h.forge(f"ld:v:{OFFER}")
    toggles = [b for r in h.replies for row in r.buttons for b in row if b.key == "btn.leads.toggle"]
    assert all(b.values["place"] and isinstance(b.values["km"], int) for b in toggles)  # town and distance
    label = default_catalog().render("btn.leads.toggle", toggles[0].values)
    assert "Halle (Saale)" in label and " km" in label
    index = next(i for i, b in enumerate(toggles) if b.values["name"].startswith("Saalefunke"))
    await h.press(f"ld:t:{index}")
    await h.press("ld:n")
    await h.text("Tom")
    await h.text("0176 12345678")
    await h.press("ld:pref:phone")
    await h.press("ld:time:any")
    await h.press("ld:skip")
    items = {i["company"]: i for i in h.reply("leads.consent").values["items"]}
    saalefunke = next(i for name, i in items.items() if name.startswith("Saalefunke"))
    assert (saalefunke["kind"], saalefunke["title"]) == ("profession", "Mechatroniker:in")
    await h.press("ld:ok")
    new = _messages(store, "leads.company_new")
    by_company = {m.reply.values["company_name"]: m.reply.values for m in new}
    other = next(v for name, v in by_company.items() if name.startswith("Saalefunke"))
    assert other["offer_title"] is None and other["kind"] == "profession" and other["title"] == "Mechatroniker:in"
    own = next(v for name, v in by_company.items() if name.startswith("Giebichensteiner"))
    assert own["offer_title"] == "Ausbildung Mechatroniker:in ab 01.08.2027" and own["kind"] == "offer"
    catalog = default_catalog()
    for m in new:
        if m.reply.values["company_name"].startswith("Saalefunke"):
            assert "01.08.2027" not in catalog.render("leads.company_new", m.reply.values, "de", True)


# ---- point 7: a parent's "Interessiert mich" ------------------------------------------------------
async def test_a_parent_asks_with_their_own_contact_in_sie_form_without_age_or_child_data() -> None:
    store = Store()
    teen = await _teen(store)  # a child in the same town; nothing of theirs may travel with the parent's request
    parent = Harness(store=store, chat_id=77, places=default_directory(), clock=teen.clock)
    await parent.command("start")
    await parent.press("ob:role:parent")
    await parent.text("06108")
    await parent.press("ob:place_confirm:yes")
    assert await parent.forge(f"ld:v:{OFFER}") == ["leads.choose_recipients"]
    assert parent.last.formal
    assert await parent.press("ld:n") == ["leads.ask_name"]  # no age question
    assert parent.reply("leads.ask_name").values["role"] == "parent"
    assert await parent.text("mein Name ist sandra müller") == ["leads.ask_contact"]
    await parent.text("0345 1234567")
    await parent.press("ld:pref:phone")
    await parent.press("ld:time:evening")
    assert await parent.press("ld:skip") == ["leads.consent"]
    consent = parent.reply("leads.consent").values
    assert consent["role"] == "parent" and not consent["minor"]
    assert consent["shared"]["first_name"] == "Sandra Müller" and consent["shared"]["role"] == "parent"
    assert consent["shared"]["age_band"] is None and consent["shared"]["school_status"] is None
    text = default_catalog().render("leads.consent", consent, "de", True)
    assert "Ihnen" in text and " du " not in text and "dein" not in text
    assert await parent.press("ld:ok") == ["leads.done", "menu.main"]
    [message] = [m for m in _messages(store, "leads.company_new") if m.recipient.channel == "email"]
    values = message.reply.values
    assert values["role"] == "parent" and values["age_band"] is None and values["school_class"] is None
    company = default_catalog().render("leads.company_new", values, "de", True)
    assert "Elternteil" in company and "Klasse" not in company
    [record] = store.consents[parent.user_id]
    assert record.given_by == "self"  # the parent's own data, the parent's own consent


def test_the_recipients_question_reads_well_without_a_main_company_in_sie_form() -> None:
    catalog = default_catalog()
    text = catalog.render("leads.choose_recipients", {"title": "Mechatroniker:in", "main": None, "place": None,
                                                      "count": 1}, "de", True)
    assert "\n " not in text and " sie " not in text and "Welche Betriebe" in text


@pytest.mark.parametrize(("recipients", "verb"), [(["Pflegezentrum Bautzen (Beispiel)"], "bekommt"),
                                                  (["A (Beispiel)", "B (Beispiel)"], "bekommen")])
def test_the_parent_link_agrees_with_the_number_of_companies(recipients: list[str], verb: str) -> None:
    text = default_catalog().render("leads.parent_link", {"payload": "pc-1", "recipients": recipients, "days": 7})
    assert f"Sobald sie zustimmen, {verb} " in text and "7 Tage gültig" in text


async def test_the_age_question_takes_an_age_typed_in_words_as_onboarding_does() -> None:
    store = Store()
    h = await _teen(store)
    h.store.users[h.user_id].age_band = None  # the age was skipped in onboarding
    assert await h.forge(f"ld:v:{OFFER}") == ["leads.choose_recipients"]
    assert await h.press("ld:n") == ["leads.ask_age"]
    assert await h.text("ich bin 15") == ["leads.ask_name"]
    assert h.profile.age_band == "u16"
