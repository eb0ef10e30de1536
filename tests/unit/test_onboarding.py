"""Onboarding as scripts of user moves and the reply keys they must produce."""
from __future__ import annotations

import pytest

from tests.unit.harness import Harness


async def test_teen_walks_through_onboarding_and_reaches_menu() -> None:
    h = Harness()
    assert await h.command("start") == ["onboarding.welcome", "onboarding.ask_role"]
    assert await h.press("ob:role:teen") == ["onboarding.ask_age"]
    assert await h.press("ob:age:u16") == ["onboarding.ask_place"]
    assert await h.text("02708") == ["onboarding.confirm_place"]
    assert h.reply("onboarding.confirm_place").values["place"] == "Löbau"
    assert await h.press("ob:place_confirm:yes") == ["onboarding.cluster_near", "onboarding.ask_school"]
    assert await h.press("ob:school:pupil") == ["onboarding.ask_class"]
    assert await h.press("ob:class:9") == ["onboarding.done", "menu.main"]
    p = h.profile
    assert (p.role, p.age_band, p.plz, p.place, p.school_status, p.school_class) == \
        ("teen", "u16", "02708", "Löbau", "pupil", 9)
    assert p.cluster == "zukunftsmacher"  # Löbau is nearest to Görlitz
    assert p.onboarded


async def test_parent_is_not_asked_age_or_school_and_is_addressed_formally() -> None:
    h = Harness()
    await h.command("start")
    assert await h.press("ob:role:parent") == ["onboarding.ask_place"]
    assert h.last.formal
    await h.text("Bautzen")
    assert await h.press("ob:place_confirm:yes") == ["onboarding.cluster_near", "onboarding.done", "menu.main"]
    assert h.profile.cluster == "lausitz-cares"
    assert h.profile.age_band is None and h.profile.school_status is None


async def test_every_question_can_be_skipped() -> None:
    h = Harness()
    await h.command("start")
    assert await h.press("ob:role:skip") == ["onboarding.ask_place"]
    assert await h.press("ob:place:skip") == ["onboarding.done", "menu.main"]
    assert h.profile.role is None and h.profile.plz is None and h.profile.onboarded


async def test_teen_skips_age_place_and_school() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.press("ob:age:skip") == ["onboarding.ask_place"]
    assert await h.press("ob:place:skip") == ["onboarding.ask_school"]
    assert await h.press("ob:school:skip") == ["onboarding.done", "menu.main"]


async def test_back_goes_one_step_back_each_time() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:16_17")
    await h.text("02826")
    await h.press("ob:place_confirm:yes")
    assert await h.press("ob:school:back") == ["onboarding.ask_place"]
    assert await h.press("ob:place:back") == ["onboarding.ask_age"]
    assert await h.press("ob:age:back") == ["onboarding.ask_role"]
    assert await h.press("ob:role:parent") == ["onboarding.ask_place"]
    assert h.profile.role == "parent" and h.profile.age_band is None  # minimised when no longer a teen


async def test_town_name_with_several_matches_asks_to_choose() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:other")
    assert await h.text("Halle") == ["onboarding.choose_place"]
    assert h.reply("onboarding.choose_place").values["count"] == 2
    assert await h.press("ob:place_choose:0") == ["onboarding.cluster_near", "onboarding.done", "menu.main"]
    assert h.profile.place == "Halle (Saale)" and h.profile.cluster == "tab-mint"


@pytest.mark.parametrize("entered,key", [
    ("99999", "onboarding.place_unknown"),
    ("0282", "onboarding.plz_format"),
    ("Atlantis", "onboarding.place_unknown"),
    ("x" * 4096, "onboarding.place_invalid"),
])
async def test_bad_place_input_gets_a_friendly_hint_and_the_question_again(entered: str, key: str) -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:18plus")
    assert await h.text(entered) == [key, "onboarding.ask_place"]
    assert all(len(str(v)) <= 60 for r in h.replies for v in r.values.values())  # long input not echoed


async def test_rejecting_the_proposed_place_asks_again() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:parent")
    await h.text("02708")
    assert await h.press("ob:place_confirm:no") == ["onboarding.place_retry", "onboarding.ask_place"]


async def test_shared_location_proposes_nearest_place() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:parent")
    assert await h.location(51.16, 14.97) == ["onboarding.confirm_place"]
    assert h.reply("onboarding.confirm_place").values["plz"] == "02826"


async def test_place_far_from_all_regions_says_so() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:parent")
    await h.text("80331")
    assert (await h.press("ob:place_confirm:yes"))[0] == "onboarding.cluster_far"


async def test_deep_link_sets_cluster_and_source_and_bad_payloads_are_ignored() -> None:
    h = Harness()
    assert await h.command("start", "lausitz-cares_karrieretage-stand") == \
        ["onboarding.welcome", "onboarding.ask_role"]
    assert h.reply("onboarding.welcome").values["cluster"] == "Lausitz-Cares"
    await h.press("ob:role:parent")
    await h.text("02826")  # Görlitz: nearest is Zukunftsmacher, but the link's cluster wins
    await h.press("ob:place_confirm:yes")
    assert (h.profile.cluster, h.profile.source) == ("lausitz-cares", "karrieretage-stand")

    for bad in ("<script>", "a" * 65, "nichtda_poster", "__", "ä"):
        other = Harness(chat_id=7)
        assert await other.command("start", bad) == ["onboarding.welcome", "onboarding.ask_role"]
    assert other.profile.cluster is None


async def test_source_is_recorded_only_at_first_contact() -> None:
    h = Harness()
    await h.command("start", "_plakat-goerlitz")
    await h.press("ob:role:skip")
    await h.press("ob:place:skip")
    assert await h.command("start", "_messe-cottbus") == ["onboarding.welcome_back", "menu.main"]
    assert h.profile.source == "plakat-goerlitz"


async def test_settings_change_one_answer_and_return_to_overview() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:u16")
    await h.text("02708")
    await h.press("ob:place_confirm:yes")
    await h.press("ob:school:hauptschule")
    assert await h.command("einstellungen") == ["settings.overview"]
    assert await h.press("ob:settings:place") == ["onboarding.ask_place"]
    await h.text("06108")
    assert await h.press("ob:place_confirm:yes") == ["onboarding.cluster_near", "settings.overview"]
    assert h.profile.cluster == "tab-mint"
    assert await h.press("ob:settings:school") == ["onboarding.ask_school"]
    assert await h.press("ob:school:pupil") == ["onboarding.ask_class"]
    assert await h.press("ob:class:10") == ["settings.overview"]
    assert await h.press("ob:settings:locale") == ["onboarding.ask_locale"]
    assert await h.press("ob:locale:en") == ["settings.overview"]
    assert h.last.locale == "en"
    assert await h.press("ob:settings:age") == ["onboarding.ask_age"]
    assert await h.press("ob:age:back") == ["settings.overview"]
    assert await h.press("ob:settings:done") == ["settings.saved", "menu.main"]
    assert (h.profile.school_status, h.profile.school_class, h.profile.locale) == ("pupil", 10, "en")


async def test_english_telegram_client_gets_english_locale() -> None:
    h = Harness(language_code="en-GB")
    await h.command("start")
    assert h.last.locale == "en"


async def test_stale_button_is_refused_and_current_question_repeated() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.forge("ob:role:parent") == ["fallback.stale_button", "onboarding.ask_age"]
    assert await h.forge("ob:age:99") == ["fallback.stale_button", "onboarding.ask_age"]
    assert await h.forge("zz:whatever") == ["fallback.stale_button", "onboarding.ask_age"]
    assert h.profile.role == "teen" and h.profile.age_band is None


async def test_first_message_without_start_begins_onboarding() -> None:
    h = Harness()
    assert await h.text("hallo") == ["onboarding.welcome", "onboarding.ask_role"]


async def test_typed_back_and_skip_work_like_the_buttons() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.text("Überspringen") == ["onboarding.ask_place"]
    assert await h.text("zurück") == ["onboarding.ask_age"]
    assert await h.text("Zurueck!") == ["onboarding.ask_role"]
