"""Issue 10, point 6: what is shown is exactly what is sent. The young person's consent screen, the
parent's and every company's message (Telegram text, e-mail, webhook JSON) are compared field by
field, for each recipient company."""
from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from typing import Any

from bot.delivery.email import EmailSender
from bot.delivery.webhook import encode_body
from content import default_directory
from flows.core.model import Reply
from flows.delivery.outbox import OutboxStatus
from flows.domain.lead import CONSENT_VERSION, INTEREST_FIELDS, SHARED_FIELDS
from prompts import default_catalog
from tests.delivery.conftest import FakeDirectory
from tests.unit.fakes import SteppableClock, Store
from tests.unit.harness import Harness

OFFER = "giebichenstein-mecha-2027"
CATALOG = default_catalog()
LABELS = ("Vorname", "Name", "Alter", "Wohnort", "Schule", "Interesse", "Telefon", "E-Mail", "Kontakt", "Nachricht")
META = {"lead_id", "company_name", "cluster_name", "consent_given_by", "consent_version", "consent_at", "report_links"}


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"</?[a-z]+>", "", text))


def _fields(text: str) -> dict[str, str]:
    """The "Label: value" lines of a rendered text (each field on a line of its own)."""
    found: dict[str, str] = {}
    for line in _plain(text).splitlines():
        label, sep, value = line.partition(": ")
        if sep and label in LABELS:
            assert label not in found, f"{label} twice"
            found[label] = value
    return found


def _interests(text: str) -> dict[str, str]:
    """The consent screen's "• <company> · <town> – Interesse: …" lines, by company."""
    found = {}
    for line in _plain(text).splitlines():
        match = re.match(r"• (.+?)(?: · [^–]*)? – Interesse: (.+)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


async def _consent_screen(store: Store, age: str) -> Harness:
    """A pupil in Halle (class 11), with an extra company, at the consent screen."""
    h = Harness(store=store, chat_id=42, places=default_directory(), clock=SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC)))
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press(f"ob:age:{age}")
    await h.text("06108")
    await h.press("ob:place_confirm:yes")
    await h.press("ob:school:pupil")
    await h.press("ob:class:11")
    await h.forge(f"ld:v:{OFFER}")
    await h.press("ld:t:0")
    await h.press("ld:n")
    await h.text("Jördis")
    await h.text("0176 12345678")
    await h.text("joerdis@example.org")
    await h.press("ld:pref:sms")
    await h.press("ld:time:afternoon")
    assert await h.text("Ich schraube gern an Mopeds & mag Mathe.") == ["leads.consent"]
    return h


def _company_messages(store: Store) -> dict[str, list[Reply]]:
    by_company: dict[str, list[Reply]] = {}
    for m in store.outbox.values():
        if m.reply.key == "leads.company_new" and m.status is OutboxStatus.PENDING:
            by_company.setdefault(m.reply.values["company_name"], []).append(m.reply)
    return by_company


def _renderings(reply: Reply) -> dict[str, str]:
    """The Telegram text and the e-mail body a company gets for one lead message."""
    sender = EmailSender(FakeDirectory(), CATALOG, None, SteppableClock())
    mail = sender.compose("Lotse <lotse@example.org>", "firma@example.org", reply, "de", True)
    body = mail.get_content()
    return {"telegram": CATALOG.render("leads.company_new", reply.values, "de", True), "email": body}


def _assert_same(shown: dict[str, str], interests: dict[str, str], by_company: dict[str, list[Reply]]) -> None:
    assert set(interests) == set(by_company)  # exactly the companies the screen names
    for company, replies in by_company.items():
        for reply in replies:
            expected = {**shown, "Interesse": interests[company]}
            for channel, text in _renderings(reply).items():
                assert _fields(text) == expected, (company, channel)
            data: dict[str, Any] = json.loads(encode_body(reply, datetime(2027, 2, 1, tzinfo=UTC)))["data"]
            assert set(data) == set(SHARED_FIELDS) | set(INTEREST_FIELDS) | META  # nothing else travels
            assert data["consent_version"] == CONSENT_VERSION


async def test_the_young_persons_screen_matches_every_companys_message_field_by_field() -> None:
    store = Store()
    h = await _consent_screen(store, "16_17")
    consent = h.reply("leads.consent")
    text = CATALOG.render("leads.consent", consent.values, "de", False)
    shown, interests = _fields(text), _interests(text)
    assert shown["Schule"] == "Schüler:in, Klasse 11" and shown["Kontakt"] == "SMS oder WhatsApp, nachmittags"
    assert shown["Wohnort"] == "06108 Halle (Saale)" and "Interesse" not in shown  # the interest is per company
    assert CONSENT_VERSION not in text  # a code means nothing to a young person; it stays in the record
    assert await h.press("ld:ok") == ["leads.done", "menu.main"]
    by_company = _company_messages(store)
    assert len(by_company) == 2
    _assert_same(shown, interests, by_company)
    for company, replies in by_company.items():
        data = replies[0].values
        shared = consent.values["shared"]
        assert all(data[f] == shared[f] for f in SHARED_FIELDS), company  # the webhook's values are the screen's
    [record] = store.consents[h.user_id]
    assert record.text_version == CONSENT_VERSION


async def test_the_parents_screen_shows_what_the_child_saw_and_the_companies_get() -> None:
    store = Store()
    child = await _consent_screen(store, "u16")
    child_text = CATALOG.render("leads.consent", child.reply("leads.consent").values, "de", False)
    assert CONSENT_VERSION not in child_text  # not shown to a 15-year-old
    await child.press("ld:ok")
    token = child.reply("leads.parent_link").values["payload"].removeprefix("pc-")
    parent = Harness(store=store, chat_id=77, places=default_directory(), clock=child.clock)
    await parent.command("start", f"pc-{token}")
    await parent.press(f"ld:pr:{token}:p")
    review = CATALOG.render("leads.parent_review", parent.reply("leads.parent_review").values, "de", True)
    assert _fields(review) == _fields(child_text)  # the preferred way and time included
    assert _interests(review) == _interests(child_text)
    assert await parent.press(f"ld:pa:{token}:p") == ["leads.parent_thanks"]
    assert "gleich" not in CATALOG.render("leads.parent_thanks", parent.reply("leads.parent_thanks").values, "de", True)
    _assert_same(_fields(child_text), _interests(child_text), _company_messages(store))


def test_the_company_message_has_one_field_per_line() -> None:
    values = {"lead_id": 7, "company_name": "A", "cluster_name": "C", "role": "teen", "first_name": "Tom",
              "age_band": "16_17", "place": "Löbau", "plz": "02708", "school_status": "pupil", "school_class": 11,
              "kind": "offer", "title": "Ausbildung X", "offer_title": "Ausbildung X", "profession_name": "Maurer:in",
              "phone": "+491711234567", "email": None, "preferred_channel": "phone", "preferred_time": "any",
              "message": None, "consent_given_by": "self", "consent_version": CONSENT_VERSION}
    text = _plain(CATALOG.render("leads.company_new", values, "de", True))
    assert "Klasse 11\nInteresse: Angebot „Ausbildung X“ (Beruf Maurer:in)\n" in text
    assert ")Interesse" not in text
