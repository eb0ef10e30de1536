"""The rules of cockpit edits (flows/domain/content_edit.py): input cleaning, slugs, overrides, errors."""
from __future__ import annotations

from dataclasses import dataclass

from flows.domain.content_edit import (
    CODES,
    FieldError,
    RsvpPerson,
    RsvpSummary,
    apply_changes,
    clean,
    field_errors,
    is_held,
    override_fields,
    reason,
    slug_for,
    with_overrides,
)
from prompts import default_catalog


@dataclass(frozen=True)
class P:
    file: str
    path: str
    message: str
    code: str = ""


def test_form_input_is_cleaned_like_the_pack_would_have_it() -> None:
    assert clean("  Löbau ") == "Löbau" and clean("   ") is None and clean(3) == 3
    assert clean(["a", " ", "b "]) == ["a", "b"]
    assert clean({"name": " ", "plz": ""}) is None and clean({"name": "Görlitz", "plz": ""}) == {"name": "Görlitz"}
    assert apply_changes({"slug": "x", "address": "A"}, {"address": None, "title": "T"}) == {"slug": "x", "title": "T"}


def test_slugs_are_readable_unique_and_fit_the_pack() -> None:
    taken = {"tag-der-offenen-tuer-2027-06", "tag-der-offenen-tuer-2027-06-2"}
    assert slug_for("Tag der offenen Tür", "2027-06", taken.__contains__) == "tag-der-offenen-tuer-2027-06-3"
    assert slug_for("Großer Übungstag", "", set().__contains__) == "grosser-uebungstag"
    long = slug_for("Ausbildungsmesse " * 10, "2027-06", set().__contains__)
    assert len(long) <= 48 - 3 and long.endswith("-2027-06") and "--" not in long
    assert slug_for("!!!", "", set().__contains__) == "eintrag"


def test_overrides_keep_fields_that_belong_together_and_a_load_puts_them_on_top() -> None:
    assert override_fields("events", ["plz"]) == {"place", "plz", "address"}
    assert override_fields("events", ["ends", "title"]) == {"starts", "ends", "title"}
    assert override_fields("companies", ["name"]) == {"name"}
    pack = {"slug": "e", "title": "Pack", "starts": "09:00", "description": "new text"}
    assert with_overrides(pack, {"starts": "10:00", "archived": True}) == {**pack, "starts": "10:00"}
    assert is_held("cockpit", {}) and is_held("pack", {"title": "x"}) and not is_held("pack", {})


def test_problems_become_form_errors_of_the_edited_entry() -> None:
    problems = [P("events.yaml", "[2].starts", "input should be a valid datetime", "datetime_parsing"),
                P("events.yaml", "[2].ends", "ends before starts", "value_error"),
                P("events.yaml", "[2].companies[1]", 'unknown company "x"', "unknown_ref"),
                P("events.yaml", "[20].plz", 'unknown postal code "1"', "unknown_plz"),  # another entry
                P("quiz.yaml", "", "needs 12 to 16 questions, has 3")]  # there before the edit
    errors = field_errors(problems, "events.yaml", 2, known=[problems[-1]])
    assert errors == [FieldError("starts", "invalid_datetime", "input should be a valid datetime"),
                      FieldError("ends", "ends_before_starts", "ends before starts"),
                      FieldError("companies", "unknown_ref", 'unknown company "x"'),
                      FieldError("", "unknown_plz", 'events.yaml: [20].plz: unknown postal code "1"')]
    assert reason("string_pattern_mismatch", "", "[0].website") == "invalid_url"
    assert reason("value_error", "2027-03-28 02:30 does not exist in Europe/Berlin (clock change)") == "clock_change"
    assert reason("something_new", "") == "invalid"


def test_every_reason_has_words_in_every_language() -> None:
    catalog = default_catalog()
    for locale in catalog.locales:
        assert {k.removeprefix("content_edit.error.") for k in catalog.texts[locale]
                if k.startswith("content_edit.error.")} == set(CODES), locale


def test_rsvps_are_counted_per_group() -> None:
    summary = RsvpSummary.of([RsvpPerson("teen", "u16", ("7d", "1d")), RsvpPerson(None, None, ())])
    assert summary.count == 2 and summary.roles == {"teen": 1, "unknown": 1}
    assert summary.reminders == {"1d": 1, "7d": 1, "none": 1}
