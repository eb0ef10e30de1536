"""Free text outside a question: professions, towns, postcodes and menu words take the user there;
the Merkliste and /anfragen in the menu and in /hilfe."""
from __future__ import annotations

import re

import pytest

from flows.wiring import COMMANDS, MENU_COMMANDS
from prompts import default_catalog
from tests.unit.harness import Harness


async def _onboarded(place: str | None = "02826", role: str = "ob:role:teen") -> Harness:
    h = Harness()
    await h.command("start")
    await h.press(role)
    if role == "ob:role:teen":
        await h.press("ob:age:16_17")
    if place is None:
        await h.press("ob:place:skip")
    else:
        await h.text(place)
        await h.press("ob:place_confirm:yes")
    if role == "ob:role:teen":
        await h.press("ob:school:abitur")
    assert h.profile.onboarded
    return h


@pytest.mark.parametrize("typed", ["Dachdecker", "dachdecka", "Dachdeckerin", "ich will Dachdecker werden"])
async def test_a_profession_opens_its_page(typed: str) -> None:
    h = await _onboarded()
    assert await h.text(typed) == ["professions.teen_page"]
    assert "fallback.free_text" not in h.keys


async def test_a_parent_typing_a_profession_gets_the_parents_page() -> None:
    h = await _onboarded(role="ob:role:parent")
    assert await h.text("Mechatroniker") == ["professions.parent_page"]


async def test_a_name_of_several_professions_offers_a_choice() -> None:
    h = await _onboarded()
    assert await h.text("Elektroniker") == ["fallback.professions"]
    shown = [d for d in h.button_data if d.startswith("p:show:")]
    assert len(shown) == 3 and h.reply("fallback.professions").values["count"] == 3
    assert await h.press(shown[0]) == ["professions.teen_page"]


async def test_praktikum_with_a_profession_searches_offers_of_that_kind_for_it() -> None:
    h = await _onboarded()
    keys = await h.text("Praktikum als Maurer")
    assert keys[0] in ("vacancies.header", "vacancies.none")
    values = h.replies[0].values
    assert values["kind"] == "praktikum" and values["profession"] == "Maurer:in"


@pytest.mark.parametrize("typed,kind", [("Praktikum", "praktikum"), ("Ausbildung", "ausbildung"),
                                        ("praktika", "praktikum")])
async def test_a_kind_of_offer_searches_offers_of_that_kind(typed: str, kind: str) -> None:
    h = await _onboarded()
    keys = await h.text(typed)
    assert keys[0] in ("vacancies.header", "vacancies.none")
    assert h.replies[0].values["kind"] == kind


@pytest.mark.parametrize("typed,key", [
    ("Termine", "events.list"), ("Betriebe", "companies.list"), ("Berufe-Check", "quiz.intro"),
    ("Hilfe", "menu.help"), ("Merkliste", "vacancies.saved_list"), ("Anfragen", "leads.mine"),
    ("Berufe", "professions.choose"), ("Datenschutz", "privacy.info"), ("Einstellungen", "settings.overview"),
    ("Menü", "menu.main"), ("termiene", "events.list"), ("Stellen", "vacancies.header"),
])
async def test_menu_words_open_the_menu_entry(typed: str, key: str) -> None:
    h = await _onboarded()
    assert (await h.text(typed))[0] == key


async def test_the_home_town_or_postcode_shows_the_offers_around_it() -> None:
    h = await _onboarded("02826")
    assert (await h.text("Görlitz"))[0] == "vacancies.header"
    assert (await h.text("02826"))[0] == "vacancies.header"


async def test_another_town_offers_to_make_it_home() -> None:
    h = await _onboarded("02826")
    assert await h.text("Weisswaser") == ["fallback.place"]  # a typo of a town of the region
    assert h.reply("fallback.place").values["home"] == "Görlitz"
    assert await h.press("ob:home:02943:1") == ["onboarding.cluster_near", "onboarding.home_saved"]
    assert (h.profile.plz, h.profile.place) == ("02943", "Weißwasser")
    assert (await h.press("v:open"))[0] in ("vacancies.header", "vacancies.none")


async def test_a_postcode_of_two_towns_offers_both() -> None:
    h = await _onboarded(None)
    assert await h.text("02943") == ["fallback.place"]
    assert {"ob:home:02943:0", "ob:home:02943:1"} <= set(h.button_data)
    assert h.reply("fallback.place").values["home"] is None
    assert await h.press("ob:home:02943:0") == ["onboarding.cluster_near", "onboarding.home_saved"]
    assert h.profile.place == "Boxberg/Oberlausitz"


async def test_a_forged_home_button_is_refused() -> None:
    h = await _onboarded("02826")
    assert (await h.forge("ob:home:02943:7"))[0] == "fallback.stale_button"
    assert (await h.forge("ob:home:99999:0"))[0] == "fallback.stale_button"
    assert h.profile.place == "Görlitz"


@pytest.mark.parametrize("typed", ["hallo?", "danke", "ok", "Danke schön!", "moin"])
async def test_small_talk_gets_a_hint_and_the_menu(typed: str) -> None:
    h = await _onboarded()
    assert await h.text(typed) == ["fallback.free_text", "menu.main"]


@pytest.mark.parametrize("typed", ["x" * 500, "Wie lange dauert die Ausbildung zur " * 8, "Was ist ein Quantencomputer"])
async def test_other_text_is_a_question_and_says_so_when_nothing_fits(typed: str) -> None:
    h = await _onboarded()
    assert await h.text(typed) == ["questions.nothing"]
    assert {"m:help", "m:open"} <= set(h.button_data)


# ---- the Merkliste and /anfragen in the menu and in /hilfe ----------------------------------------
async def test_merkliste_is_a_command_a_menu_button_and_in_the_help() -> None:
    h = await _onboarded()
    assert "v:m" in h.button_data  # the main menu after onboarding
    assert await h.command("merkliste") == ["vacancies.saved_list"]
    assert COMMANDS["merkliste"].flow == "vacancies" and COMMANDS["merkliste"].entry == "saved"
    assert "merkliste" in MENU_COMMANDS and "anfragen" in MENU_COMMANDS


async def test_a_company_keeps_its_menu_layout() -> None:
    h = await _onboarded(role="ob:role:company")
    assert "v:m" not in h.button_data


@pytest.mark.parametrize("locale", ["de", "en"])
@pytest.mark.parametrize("formal", [False, True])
def test_help_lists_merkliste_and_anfragen(locale: str, formal: bool) -> None:
    text = default_catalog().render("menu.help", {}, locale, formal)
    assert "/merkliste" in text and "/anfragen" in text


def test_formal_texts_of_menu_and_onboarding_say_sie_not_du() -> None:
    """Issue 10.7: /hilfe in Sie-form said "Welche Berufe passen zu dir?"."""
    catalog = default_catalog()
    informal = ("dir", "dich", "dein", "deine", "deinen", "deiner", "du", "probier", "schreib", "tipp")
    teens_only = {"onboarding.welcome", "onboarding.ask_age", "onboarding.ask_school", "onboarding.ask_class",
                  "onboarding.class_range"}  # asked before the role is known, or of young people only
    for key in catalog.texts["de"]:
        base = key.removesuffix("_sie")
        if base in teens_only or base.split(".")[0] not in ("menu", "onboarding", "fallback", "settings"):
            continue
        text = catalog.render(base, {"query": "x", "count": 2, "place": "Löbau", "plz": "02708", "home": "Görlitz",
                                     "command": "stellen", "step": "role", "cluster": "C", "region": "R", "km": 3,
                                     "media": "photo", "district": None, "role": "parent", "age_band": None,
                                     "school_status": None, "school_class": None, "locale": "de",
                                     "feature": "quiz"}, "de", True)
        words = set(re.findall(r"\w+", text.lower()))
        assert not words & set(informal), (key, words & set(informal))
    for key in ("ask_place", "ask_locale", "place_retry", "place_invalid", "place_unknown", "choose_place",
                "done", "resume", "deferred", "unclear", "home_saved"):
        assert f"onboarding.{key}_sie" in catalog.texts["de"], key  # adults see these too
