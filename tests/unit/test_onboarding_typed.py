"""Onboarding answered by typing instead of pressing; commands in the middle; never stranded."""
from __future__ import annotations

import re

import pytest

from prompts import default_catalog
from tests.unit.harness import Harness


async def _teen_at_place(h: Harness) -> None:
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:u16")


async def test_the_weisswasser_trap_typing_the_town_instead_of_pressing() -> None:
    """Issue 10.1: 02943 → two places → typing "Weißwasser" used to strand the user."""
    h = Harness()
    await _teen_at_place(h)
    assert await h.text("02943") == ["onboarding.choose_place"]
    assert h.reply("onboarding.choose_place").values["count"] == 2
    assert await h.text("Weißwasser") == ["onboarding.cluster_near", "onboarding.ask_school"]
    assert (h.profile.plz, h.profile.place) == ("02943", "Weißwasser")
    assert h.profile.cluster == "zukunftsmacher"


@pytest.mark.parametrize("typed", ["weisswasser", "Weisswaser", "Weißwasser 02943", "  WEISSWASSER! "])
async def test_a_place_choice_by_name_with_typos(typed: str) -> None:
    h = Harness()
    await _teen_at_place(h)
    await h.text("02943")
    assert await h.text(typed) == ["onboarding.cluster_near", "onboarding.ask_school"]
    assert h.profile.place == "Weißwasser"


async def test_the_same_postcode_again_shows_the_choice_again_with_working_buttons() -> None:
    h = Harness()
    await _teen_at_place(h)
    await h.text("02943")
    assert await h.text("02943") == ["onboarding.choose_place"]
    assert await h.press("ob:place_choose:0") == ["onboarding.cluster_near", "onboarding.ask_school"]
    assert h.profile.place == "Boxberg/Oberlausitz"


async def test_another_place_typed_at_the_choice_searches_again() -> None:
    h = Harness()
    await _teen_at_place(h)
    await h.text("02943")
    assert await h.text("02708") == ["onboarding.confirm_place"]
    assert await h.text("ja") == ["onboarding.cluster_near", "onboarding.ask_school"]
    assert h.profile.place == "Löbau"


async def test_back_and_skip_work_at_the_place_choice_as_buttons_and_words() -> None:
    h = Harness()
    await _teen_at_place(h)
    await h.text("02943")
    assert {"ob:place_choose:back", "ob:place_choose:skip"} <= set(h.button_data)
    assert await h.press("ob:place_choose:back") == ["onboarding.ask_place"]
    await h.text("02943")
    assert await h.text("zurück") == ["onboarding.ask_place"]
    await h.text("02943")
    assert await h.text("überspringen") == ["onboarding.ask_school"]
    assert h.profile.place is None


async def test_old_back_and_skip_of_the_place_question_still_work_after_a_proposal() -> None:
    h = Harness()
    await _teen_at_place(h)
    await h.text("02943")
    assert await h.forge("ob:place:back") == ["onboarding.ask_place"]  # one step back: the place question
    await h.text("02708")
    assert await h.forge("ob:place:skip") == ["onboarding.ask_school"]


async def test_not_understood_at_the_choice_repeats_the_choice_not_the_place_question() -> None:
    """The old reprompt showed "Wo wohnst du?" with buttons of another step: every press was stale."""
    h = Harness()
    await _teen_at_place(h)
    await h.text("02943")
    assert await h.media("sticker") == ["fallback.media", "onboarding.choose_place"]
    assert await h.press("ob:place_choose:1") == ["onboarding.cluster_near", "onboarding.ask_school"]


async def test_confirm_by_typing_yes_no_or_the_name() -> None:
    h = Harness()
    await _teen_at_place(h)
    assert await h.text("02708") == ["onboarding.confirm_place"]
    assert {"ob:place_confirm:back", "ob:place_confirm:skip"} <= set(h.button_data)
    assert await h.text("nee") == ["onboarding.place_retry", "onboarding.ask_place"]
    await h.text("02708")
    assert await h.text("Löbau") == ["onboarding.cluster_near", "onboarding.ask_school"]


async def test_a_town_with_a_typo_is_proposed() -> None:
    h = Harness()
    await _teen_at_place(h)
    assert await h.text("Weisswaser") == ["onboarding.confirm_place"]
    assert h.reply("onboarding.confirm_place").values["place"] == "Weißwasser"
    assert await h.text("ich wohne in Görlitz") == ["onboarding.confirm_place"]
    assert h.reply("onboarding.confirm_place").values["place"] == "Görlitz"


async def test_resume_after_restart_shows_the_open_choice() -> None:
    h = Harness()
    await _teen_at_place(h)
    await h.text("02943")
    outcome = await h.engine.resume(h.user)  # e.g. `lotse chat` started again
    assert [r.key for r in outcome.replies] == ["onboarding.choose_place"]
    assert await h.command("start") == ["onboarding.resume", "onboarding.choose_place"]
    assert await h.text("Weißwasser") == ["onboarding.cluster_near", "onboarding.ask_school"]


@pytest.mark.parametrize("typed,band", [("15", "u16"), ("ich bin 16", "16_17"), ("19", "18plus"),
                                        ("unter 16", "u16"), ("fünfzehn", "u16")])
async def test_a_typed_age_maps_to_its_band(typed: str, band: str) -> None:
    """Issue 10.2: "15" at "Wie alt bist du?" was not understood."""
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.text(typed) == ["onboarding.ask_place"]
    assert h.profile.age_band == band


async def test_every_question_can_be_answered_by_typing() -> None:
    h = Harness()
    await h.command("start")
    assert await h.text("Schülerin") == ["onboarding.ask_age"]
    assert await h.text("15") == ["onboarding.ask_place"]
    assert await h.text("02708") == ["onboarding.confirm_place"]
    assert await h.text("jo") == ["onboarding.cluster_near", "onboarding.ask_school"]
    assert await h.text("ich geh noch zur schule") == ["onboarding.ask_class"]
    assert await h.text("9.") == ["onboarding.done", "menu.main"]
    p = h.profile
    assert (p.role, p.age_band, p.place, p.school_status, p.school_class, p.onboarded) == \
        ("teen", "u16", "Löbau", "pupil", 9, True)


async def test_typed_role_for_a_parent_and_typed_language_in_the_settings() -> None:
    h = Harness()
    await h.command("start")
    assert await h.text("Mama") == ["onboarding.ask_place"]
    assert h.profile.role == "parent" and h.last.formal
    await h.text("Bautzen")
    await h.text("ja")
    await h.command("einstellungen")
    assert await h.press("ob:settings:locale") == ["onboarding.ask_locale"]
    assert await h.text("English") == ["settings.overview"]
    assert h.profile.locale == "en"


async def test_school_status_and_class_typed_with_typos_and_out_of_range() -> None:
    h = Harness()
    await _teen_at_place(h)
    await h.press("ob:place:skip")
    assert await h.text("Realschulabschlus") == ["onboarding.done", "menu.main"]
    assert h.profile.school_status == "mittlere_reife"

    other = Harness(chat_id=7)
    await _teen_at_place(other)
    await other.press("ob:place:skip")
    await other.press("ob:school:pupil")
    assert await other.text("5") == ["onboarding.class_range", "onboarding.ask_class"]
    assert await other.text("zehnte") == ["onboarding.done", "menu.main"]
    assert other.profile.school_class == 10


@pytest.mark.parametrize("step_moves,typed,question", [
    ([], "Pizza", "onboarding.ask_role"),
    (["ob:role:teen"], "alt genug", "onboarding.ask_age"),
    (["ob:role:teen", "ob:age:u16", "ob:place:skip"], "keine Ahnung wie das heißt", "onboarding.ask_school"),
])
async def test_text_that_names_no_choice_gets_a_hint_and_the_same_question(
        step_moves: list[str], typed: str, question: str) -> None:
    h = Harness()
    await h.command("start")
    for data in step_moves:
        await h.press(data)
    assert await h.text(typed) == ["onboarding.unclear", question]
    assert "fallback.free_text" not in h.keys


async def test_typed_help_at_a_question_explains_and_asks_again() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.text("Hilfe") == ["menu.help", "onboarding.ask_age"]
    assert await h.text("15") == ["onboarding.ask_place"]


async def test_typed_back_at_the_first_question_repeats_it() -> None:
    h = Harness()
    await h.command("start")
    assert await h.text("zurück") == ["onboarding.ask_role"]
    assert await h.text("Betrieb") == ["onboarding.ask_place"]


# ---- the welcome's promise ----------------------------------------------------------------------------
def test_the_welcome_promises_no_wrong_number_of_questions() -> None:
    """Issue 10.2: "Vier kurze Fragen", but a pupil gets five questions and a place confirmation."""
    catalog = default_catalog()
    for locale in ("de", "en"):
        words = set(re.findall(r"\w+", catalog.render("onboarding.welcome", {"cluster": None}, locale).lower()))
        numbers = {"vier", "four", "fünf", "five", "zwei", "two", "sechs", "six", "drei", "three"}
        assert not words & numbers and not any(w.isdigit() for w in words), (locale, words & numbers)


# ---- commands in the middle of onboarding -------------------------------------------------------------
async def test_leads_typed_by_a_non_agent_keeps_onboarding_open() -> None:
    """Issue 10.2: /leads dropped a non-agent out of onboarding with role and town unset."""
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.command("leads") == ["fallback.unknown_command", "onboarding.ask_age"]
    assert await h.command("einladung") == ["fallback.unknown_command", "onboarding.ask_age"]
    assert await h.command("gibtsnicht") == ["fallback.unknown_command", "onboarding.ask_age"]
    assert await h.text("15") == ["onboarding.ask_place"]
    assert await h.text("02708") == ["onboarding.confirm_place"]


async def test_help_and_privacy_are_answered_then_the_open_question_comes_again() -> None:
    h = Harness()
    await _teen_at_place(h)
    await h.text("02943")
    assert await h.command("hilfe") == ["menu.help", "onboarding.choose_place"]
    assert "menu.main" not in h.keys
    assert await h.command("datenschutz") == ["privacy.info", "onboarding.choose_place"]
    assert (await h.command("meinedaten"))[-1] == "onboarding.choose_place"
    assert await h.text("Weißwasser") == ["onboarding.cluster_near", "onboarding.ask_school"]


async def test_a_feature_command_runs_right_after_the_questions() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.command("termine") == ["onboarding.deferred", "onboarding.ask_age"]
    assert h.reply("onboarding.deferred").values["command"] == "termine"
    await h.text("15")
    await h.text("02708")
    await h.text("ja")
    keys = await h.press("ob:school:abitur")
    assert keys[0] == "onboarding.done" and "events.list" in keys and "menu.main" not in keys
    assert h.profile.onboarded and h.profile.place == "Löbau"


async def test_the_remaining_questions_can_be_skipped_for_the_command() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:parent")
    await h.command("berufe")
    assert await h.press("ob:rest:skip") == ["onboarding.done", "professions.choose"]
    assert h.profile.onboarded and h.profile.role == "parent"
    assert (await h.forge("ob:rest:skip"))[0] == "fallback.stale_button"  # nothing open any more


async def test_start_in_the_middle_resumes_and_cancel_still_leaves() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.command("start") == ["onboarding.resume", "onboarding.ask_age"]
    assert h.profile.role == "teen"
    assert await h.command("abbrechen") == ["menu.cancelled", "menu.main"]


async def test_a_home_button_from_an_old_message_does_not_end_onboarding() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.forge("ob:home:02826:0") == ["fallback.stale_button", "onboarding.ask_age"]
    assert h.profile.place is None
