"""Issue 10, points 11 and 7: what cards and pages say – marked once, said once, one place per
company site, each quiz match its own reason, far-away Berufsschulen explained, du/Sie and numbers."""
from __future__ import annotations

from pathlib import Path
from shutil import copytree

import pytest

from content import DEMO_DIR, PackError, load_pack
from prompts import default_catalog
from tests.fakes.bot_api_html import parse_html
from tests.unit.fakes import EVENTS, QUIZ, VACANCIES
from tests.unit.harness import Harness
from tests.unit.test_lists_navigation import _teen

CATALOG = default_catalog()


def _text(key: str, values: dict[str, object], formal: bool = False) -> str:
    text = CATALOG.render(key, values, "de", formal)
    parse_html(text)
    return text


async def _card_of(h: Harness, slug: str) -> str:
    await h.forge(f"v:o:{slug}")
    card = h.reply("vacancies.card")
    return _text(card.key, card.values)


async def test_an_example_company_is_marked_once() -> None:
    h = await _teen("02906")  # Niesky
    text = await _card_of(h, "nieskyer-im-2027")
    assert "Nieskyer Stahlfeder (Beispiel)" in text and "Beispielbetrieb" not in text
    await h.forge("co:s:nieskyer-stahlfeder")
    page = h.reply("companies.page")
    assert _text(page.key, page.values).count("(Beispiel") == 1


async def test_kind_and_start_are_said_once() -> None:
    h = await _teen("03046")  # Cottbus
    await h.forge("co:s:lausitzer-trassenbau")
    page = _text("companies.page", h.reply("companies.page").values)
    assert "Ausbildung Straßenbauer:in ab 01.08.2027" in page and "(Ausbildung, ab" not in page
    card = await _card_of(h, "trassenbau-strassenbau-2027")
    assert card.count("01.08.2027") == 1


async def test_an_offer_at_another_site_names_one_place_everywhere() -> None:
    h = await _teen("03046")
    card = next(v for v in VACANCIES if v.slug == "trassenbau-tiefbau-2027")
    assert card.place == "Spremberg"  # was "Bagenz", the first place of postal code 03130
    text = await _card_of(h, card.slug)
    assert "📍 Spremberg" in text and "Sitz: Cottbus" in text
    await h.forge("co:s:lausitzer-trassenbau")
    offers = h.reply("companies.page").values["offers"]
    assert [o["place"] for o in offers if "Tiefbau" in o["title"]] == ["Spremberg"]
    assert [o["place"] for o in offers if "Straßenbau" in o["title"]] == [None]  # at the company's town


def test_the_pack_must_name_the_place_of_an_offer_at_a_postal_code_with_several(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    copytree(DEMO_DIR, pack)
    vacancies = pack / "vacancies.yaml"
    vacancies.write_text(vacancies.read_text(encoding="utf-8").replace("  place: Spremberg\n", ""), encoding="utf-8")
    with pytest.raises(PackError, match=r"vacancies.yaml: \[\d+\].place: postal code 03130 covers several places"):
        load_pack(pack)
    vacancies.write_text(vacancies.read_text(encoding="utf-8").replace('  plz: "03130"\n', '  plz: "03130"\n  place: Cottbus\n'),
                         encoding="utf-8")
    with pytest.raises(PackError, match=r"\.place: \"Cottbus\" is not a place with postal code 03130"):
        load_pack(pack)


async def test_each_quiz_match_has_its_own_reason() -> None:
    h = await _teen()
    await h.command("berufecheck")
    for i in range(len(QUIZ)):
        await h.press(f"qz:a:{i}:0")
    matches = h.reply("quiz.result").values["matches"]
    reasons = [frozenset(m["reasons"]) for m in matches]
    assert len(matches) == 3 and len(set(reasons)) == 3
    assert all("fit" not in m for m in matches)  # no unexplained percentages
    assert "100 %" in _text("quiz.chart", {})  # the chart's percentages are explained


async def test_a_far_away_berufsschule_comes_with_a_word_on_managing_it() -> None:
    h = await _teen("02826")  # Görlitz
    far = None
    for slug in ("pflegefachfrau-pflegefachmann", "hauswirtschafter-in", "mechatroniker-in", "dachdecker-in",
                 "strassenbauer-in", "elektroniker-in-automatisierungstechnik"):
        await h.forge(f"p:show:{slug}")
        page = h.reply("professions.teen_page")
        if page.values["far"]:
            far = page
            break
    assert far is not None, "no profession with a far Berufsschule from Görlitz"
    assert min(s["km"] for s in far.values["schools"] if s["km"] is not None) > 50
    text = _text(far.key, far.values)
    assert "Blockwochen" in text and "Berufsausbildungsbeihilfe" in text
    near = await _card_of(h, "nieskyer-im-2027")  # Berufsschule Görlitz, at home
    assert "Blockwochen" not in near


def test_reminders_are_listed_with_und_and_in_the_dative() -> None:
    going = _text("events.going", {"title": "X", "offsets": ["7d", "1d", "2h"], "registration": None})
    assert "7 Tage, 1 Tag und 2 Stunden vorher" in going and "keine Anmeldung" in going
    reminder = _text("events.reminder", {"title": "X", "offset": "7d", "place": "P", "weekday": 1,
                                         "date": "01.02.2027", "time": "09:00"})
    assert "in 7 Tagen" in reminder


def test_the_feedback_question_reads_well_in_sie_form() -> None:
    elternabend = next(e for e in EVENTS if e.slug == "elternabend-goerlitz-2027-02")
    text = _text("events.feedback", {"title": elternabend.title}, formal=True)
    assert "für Sie?" not in text and "Wie hat Ihnen" in text


@pytest.mark.parametrize("count", [1, 3])
def test_alerts_agree_with_the_number(count: int) -> None:
    text = _text("vacancies.alert", {"count": count, "radius": 25})
    assert ("1 Angebot</b> bis 25 km, das" in text and "passt" in text) if count == 1 else \
        ("3 Angebote</b> bis 25 km, die" in text and "passen" in text)

