"""Every text key renders in every locale with example values; keys used by flows exist."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import meta

from prompts import FORMAL_SUFFIX, Catalog, default_catalog, template_environment
from tests.fakes.bot_api_html import parse_html

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES: dict[str, Any] = {
    "cluster": "Die Zukunftsmacher", "region": "Lausitz", "km": 12, "place": "Löbau", "plz": "02708",
    "district": "Landkreis Görlitz", "query": "<b>Tom & Jerry", "count": 3, "role": "teen",
    "age_band": "u16", "school_status": "pupil", "school_class": 9, "locale": "de", "feature": "quiz",
    "command": "gibtsnicht", "media": "sticker", "number": 9, "name": "Halle (Saale)",
    "total": 14, "answered": 5, "bar": "▰▰▰▱▱▱▱▱▱▱", "text": "Was machst du <gern>?", "again": False,
    "matches": [{"name": "Mechatroniker:in", "reasons": ["R", "I"], "fit": 93},
                {"name": "Maurer:in & Co", "reasons": ["S"], "fit": 80}],
    "label": "A & B", "field": "bau-handwerk", "years": 3.5, "school_expectation": "Mittlerer Schulabschluss",
    "legal_requirement": "Mittlerer Schulabschluss nach PflBG", "pay": [724, 854, 977, 1014], "pay_note": None,
    "tarif": False, "schools": [{"name": "Görlitz", "km": 23}, {"name": "Bautzen", "km": None}],
    "title": "Ausbildung <Maurer:in> & mehr", "chosen": True, "kind": "praktikum", "radius": 25, "wider": 50, "profession": "Maurer:in",
    "company": "Neiße <Metall> & Bau", "example": True, "start": "01.08.2027", "places": 2,
    "description": "Du <baust> & lernst.", "school": "Görlitz", "school_km": 23, "new": True,
    "code": "7d", "stars": 4, "weekday": 5, "date": "13.03.2027", "time": "09:00", "end_time": "15:00",
    "end_date": "13.03.2027", "format": "messe", "audience": "both", "address": "Messe <Halle> 1",
    "companies": ["A & B (Beispiel)"], "cancelled": False, "going": True, "offsets": ["7d", "2h"],
    "offset": "1d", "items": [{"title": "Karrieretage", "place": "Löbau", "km": 3, "cancelled": False,
                               "weekday": 5, "date": "13.03.2027", "time": "09:00",
                               "company": "A & B (Beispiel)", "status": "delivered", "id": 3,
                               "first_name": "Tom", "days": 2, "number": 1}],
    "filter": "open",
    "offer_title": "Ausbildung Maurer:in & mehr", "profession_name": "Maurer:in", "cluster_name": "Die Zukunftsmacher",
    "preferred_channel": "phone", "preferred_time": "morning", "consent_at": "2027-01-10T09:00:00+00:00",
    "main": "Zittauer Gebirgsbau (Beispiel)", "lead_id": 17, "company_name": "Neiße <Metall> & Bau (Beispiel)",
    "first_name": "Tom", "phone": "+491711234567",
    "email": "tom@example.org", "preference": "phone", "message": "Ich <mag> Technik & Bau",
    "consent_given_by": "parent", "consent_version": "lead-handover-2026-12", "status": "contacted",
    "recipients": ["A & B (Beispiel)", "C (Beispiel)"], "minor": True, "version": "lead-handover-2026-12",
    "payload": "pc-0123abcd", "days": 7, "shared": {"first_name": "Tom", "age_band": "u16", "place": "Löbau",
    "school_status": "pupil", "title": "Maurer:in & mehr", "phone": "+49171", "email": "a@b.de", "preference": "email",
    "time": "any", "message": "Hallo <du>"},
    "home": "Löbau", "texts": {"summary": "S", "what_you_do": "W", "where_you_learn": "L", "prospects": "P",
                                "how_to_support": "H", "berufsschule_travel": "B"},
}
EXAMPLES.update({  # the company page
    "first": 6, "last": 10, "size": "45 <Beschäftigte> & Azubis", "website": "https://example.org/?a=1&b=2",
    "professions": ["Maurer:in", "Hoch- & Tiefbau"], "more_offers": 1,
    "offers": [{"title": "Ausbildung <Maurer:in> & mehr", "kind": "ausbildung", "start": "01.08.2027"}],
    "events": [{"title": "Karrieretage & <mehr>", "place": "Löbau", "weekday": 5, "date": "13.03.2027",
                "time": "09:00"}],
})
EXAMPLES.update({"company_place": "Cottbus", "far": True, "registration": "https://example.org/anmelden?a=1&b=2",
                 "pupils_only": True, "rsvps": 3,
                 "regions": [{"name": "TAB_MINT", "region": "Halle (Saale) & Saalekreis", "town": "Halle (Saale)"}]})
EXAMPLES["items"][0].update({"going": True, "pupils_only": False, "rsvps": 2})
EXAMPLES["offers"][0]["place"] = "Spremberg"
EXAMPLES.update({  # a lead's history for agents, a withdrawal
    "history": [{"status": "on_the_way", "at": "2027-01-10T09:00:00+00:00"},
                {"status": "contacted", "at": "2027-01-12T15:30:00+00:00"}],
    "created_at": "2027-01-10T09:00:00+00:00", "reached": True, "parent": False, "id": 12,
})
EXAMPLES["consent_at_local"] = "10.01.2027, 10:00"  # added by bot/delivery/email.py from consent_at
EXAMPLES["step"] = "age"  # onboarding.unclear: the open question
EXAMPLES["report_links"] = {"contacted": "ls-0a1b2c-c", "interview": "ls-0a1b2c-i", "no_place": "ls-0a1b2c-n"}
EXAMPLES.update({"topic": "events", "topics": ["events", "offers"], "cap": 2, "setting": "on"})  # opt-ins
EXAMPLES.update({"imported": True, "employer": "Dach <Profi> & Söhne GmbH"})  # an offer from the Arbeitsagentur
_BROADCAST = {"id": 12, "status": "running", "topic": "events", "excerpt": "Impuls <Cottbus> & mehr", "minutes": 3,
              "at": "2027-03-13T08:00:00+00:00", "total": 5000, "sent": 2140, "not_delivered": 3, "blocked": 1,
              "failed": 1, "unknown": 1, "skipped": 2, "opted_out": 1, "taps": 40, "rsvps": 9, "leads": 2}
EXAMPLES.update({  # announcements: the agents' wizard and list (conversations/broadcasts.py)
    "broadcast": _BROADCAST, "broadcasts": [_BROADCAST, {**_BROADCAST, "status": "done", "minutes": None}],
    "reach": {"total": 1284, "minors": 400, "under_16": 310, "capped": 12},
    "who": {"roles": ["teen", "parent"], "age_bands": ["u16"], "place": "Löbau (02708)", "event": None, "radius": 25,
            "fields": ["bau-handwerk"], "school": ["pupil"], "rsvp_event": "karrieretage", "rsvp_going": True,
            "active": 30},
    "problem": {"reason": "too_long", "form": "du", "length": 4200, "limit": 1024, "name": ""},
    "problems": [{"reason": "too_long", "form": "du", "length": 4200, "limit": 4096, "name": ""},
                 {"reason": "unknown_variable", "form": "sie", "length": 10, "limit": 1024, "name": "name"}],
    "form": "du", "limit": 4096, "picture": True, "at": "2027-03-13T08:00:00+00:00", "approval": True, "past": True,
    "now": False, "state": "awaiting_approval", "reason": "texts", "picking": "button_offer",
    "actions": [{"action": "scheduled", "by": "telegram:42", "at": "2027-03-10T08:00:00+00:00"}],
    "chosen_buttons": [{"kind": "link", "label": "Jetzt <anmelden>", "url": "https://example.org/?a=1&b=2"}],
})
EXAMPLES.update({"url": "https://cockpit.example.org/anmelden?t=abc&x=<1>", "minutes": 10})  # /cockpit
EXAMPLES.update({"question": "Was verdient man <im> 1. Jahr?", "answer": "Mindestens 724 € & mehr <b>",  # questions
                 "sources": [{"title": "BBiG <§ 17>", "url": "https://www.gesetze-im-internet.de/bbig_2005/__17.html?a=1&b=2"}],
                 "more": True, "fallback": True, "model_host": "api.openai.com", "openai": True})
EXAMPLES.update({"asked_at": "2027-03-12T09:00:00+00:00", "length": 2345})  # team questions
_COMMUTE = {"status": "transit", "km": 14, "minutes": 52, "changes": 1, "walk_minutes": 9, "leave": "6:20",
            "arrive": "7:12", "first": "6:48", "back": "16:58", "back_minutes": 58}
EXAMPLES.update({  # issue 16: the way by bus and train (commute.line), its filter and /fahrplan
    "c": _COMMUTE, "commute": _COMMUTE, "school_commute": {**_COMMUTE, "status": "none"},
    "max_minutes": 60, "ignored_minutes": 60, "planned": True, "complete": False, "service_day": "09.03.2027",
    "feeds": [{"name": "VBB <b>Fahrplan</b> & mehr", "publisher": "VBB & Co", "licence": "CC BY 4.0",
               "url": "https://example.org/gtfs?a=1&b=2"}],
    "filter_minutes": 60, "walk_km": 1.5, "walk_kmh": 4.5, "detour": 30, "change_minutes": 2, "arrive_by": "8:00",
    "back_from": "16:00",
})
EXAMPLES["schools"] = [{"name": "Görlitz", "km": 23, "commute": {**_COMMUTE, "status": "unplanned"}},
                      {"name": "Bautzen", "km": None, "commute": None}]
CATALOG = default_catalog()


def _variables(source: str) -> set[str]:
    return meta.find_undeclared_variables(template_environment(False).parse(source)) - {"t", "bot"}


def test_every_locale_has_every_key() -> None:
    base = {k for k in CATALOG.texts["de"] if not k.endswith(FORMAL_SUFFIX)}
    for locale in CATALOG.locales:
        keys = {k for k in CATALOG.texts[locale] if not k.endswith(FORMAL_SUFFIX)}
        assert keys == base, f"{locale}: missing {base - keys}, extra {keys - base}"
    assert set(CATALOG.locales) >= {"de", "en"}


def test_formal_variants_have_a_base_key() -> None:
    for locale, texts in CATALOG.texts.items():
        for key in texts:
            if key.endswith(FORMAL_SUFFIX):
                assert key.removesuffix(FORMAL_SUFFIX) in texts, f"{locale}: {key} has no base text"


@pytest.mark.parametrize("locale", ["de", "en"])
@pytest.mark.parametrize("formal", [False, True])
def test_every_key_renders_with_example_values(locale: str, formal: bool) -> None:
    for key, source in CATALOG.texts[locale].items():
        names = _variables(source)
        missing = names - EXAMPLES.keys()
        assert not missing, f"{key}: add example values for {missing}"
        text = CATALOG.render(key.removesuffix(FORMAL_SUFFIX), EXAMPLES, locale, formal)
        assert text.strip(), key
        if not Catalog.is_plain(key):
            assert "<b>Tom" not in text  # user input is escaped in HTML messages
            parse_html(text)  # Telegram's HTML rules, strictly: a bare "&" or an unknown tag fails


def test_user_values_are_escaped_in_messages_but_not_in_buttons() -> None:
    html = CATALOG.render("onboarding.place_unknown", {"query": "<b>Tom & Jerry"})
    assert "&lt;b&gt;Tom &amp; Jerry" in html
    label = CATALOG.render("btn.place_choice", {"name": "A & B", "plz": "01234", "district": ""})
    assert label == "A & B · 01234"


def test_every_key_named_in_the_code_exists() -> None:
    used: set[str] = set()
    for path in (ROOT / "flows").rglob("*.py"):
        used |= set(re.findall(r'"((?:onboarding|settings|menu|fallback|error|privacy|companies|btn)\.[a-z_.]+)"',
                               path.read_text()))
    assert used, "no keys found – the pattern is out of date"
    missing = {k for k in used if not CATALOG.has(k) and not any(
        t.startswith(k) for t in CATALOG.texts["de"])}
    assert not missing, missing


# ---- grammatical number ------------------------------------------------------------------------
# Values that count something, and lists whose length is a count: rendered with one and with several.
COUNTS = ("count", "days", "places", "stars", "answered", "more_offers", "number", "total", "rsvps")
LISTS = ("recipients", "items", "matches", "companies", "offers", "offsets", "professions", "events", "schools",
         "regions")
NOUNS = {  # singular: plural forms (nominative/accusative and dative)
    "Tag": ("Tage", "Tagen"), "Angebot": ("Angebote", "Angeboten"), "Betrieb": ("Betriebe", "Betrieben"),
    "Stunde": ("Stunden",), "Ort": ("Orte", "Orten"), "Termin": ("Termine", "Terminen"), "Frage": ("Fragen",),
    "Stern": ("Sterne", "Sternen"), "Anfrage": ("Anfragen",), "Person": ("Personen",), "Monat": ("Monate", "Monaten"),
    "Woche": ("Wochen",), "Beruf": ("Berufe", "Berufen"), "Platz": ("Plätze", "Plätzen"),
}
NOUNS_EN = {one: (one + "s",) for one in ("day", "offer", "hour", "place", "question", "star", "request", "week",
                                          "month", "profession", "event", "person")}
NOUNS_EN.update({"company": ("companies",), "person": ("people",)})


def _with_count(n: int) -> dict[str, object]:
    values = dict(EXAMPLES)
    for name in COUNTS:
        values[name] = n
    for name in LISTS:
        items = list(EXAMPLES[name])
        values[name] = (items * n)[:n]
    return values


def _number_mistakes(text: str, n: int, locale: str) -> list[str]:
    mistakes = []
    for one, many in (NOUNS if locale == "de" else NOUNS_EN).items():
        if n == 1 and many:
            mistakes += re.findall(rf"(?<![\d,.]){n} (?:{'|'.join(many)})\b", text)
        if n != 1:
            mistakes += re.findall(rf"(?<![\d,.]){n} {one}\b", text)
    if n != 1:
        mistakes += re.findall(rf"\b(?:in|vor|nach|seit|mit|von) {n} Tage\b", text)  # dative plural: "in 7 Tagen"
    return mistakes


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("formal", [False, True])
@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_key_agrees_with_one_and_with_several(locale: str, n: int, formal: bool) -> None:
    problems = []
    for key in CATALOG.texts[locale]:
        text = CATALOG.render(key.removesuffix(FORMAL_SUFFIX), _with_count(n), locale, formal)
        problems += [f"{key}: {m!r}" for m in _number_mistakes(text, n, locale)]
    assert not problems, problems


def test_plural_filters() -> None:
    env = template_environment(False)
    template = env.from_string('{{ n|plural("Angebot", "Angebote") }} {{ n|agree("passt", "passen") }}')
    assert [template.render(n=n) for n in (0, 1, 2)] == ["0 Angebote passen", "1 Angebot passt", "2 Angebote passen"]


def test_the_quiz_result_in_sie_form_says_sie_throughout() -> None:
    text = CATALOG.render("quiz.result", EXAMPLES, "de", formal=True)
    assert "Passt zu Ihnen, weil Sie gern mit den Händen" in text
    assert not re.search(r"\b(du|dir|dich|dein|deine)\b", text, re.IGNORECASE), text


@pytest.mark.parametrize("locale", ["de", "en"])
def test_an_imported_offer_without_a_start_says_so_and_names_its_source(locale: str) -> None:
    values = {**EXAMPLES, "start": None, "imported": True, "title": "Ausbildung Dachdecker/in", "places": 1}
    text = CATALOG.render("vacancies.card", values, locale)
    assert ("Beginn nach Absprache" if locale == "de" else "start by arrangement") in text
    assert ("Von der Arbeitsagentur" if locale == "de" else "Federal Employment Agency") in text
    assert "None" not in text
    pack_offer = CATALOG.render("vacancies.card", {**values, "start": "01.08.2027", "imported": False}, locale)
    assert "01.08.2027" in pack_offer and "Arbeitsagentur" not in pack_offer
