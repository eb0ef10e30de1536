"""flows/domain/recognise.py: what typed words mean, typos allowed, nothing guessed where two fit."""
from __future__ import annotations

import pytest

from flows.domain.recognise import (
    age_band_of,
    class_of,
    fold,
    is_back,
    is_skip,
    locale_of,
    menu_entry_of,
    place_query,
    profession_forms,
    professions_of,
    role_of,
    same_town,
    school_of,
    town_of,
    yes_no_of,
)

PROFESSIONS = {
    "dachdecker-in": "Dachdecker:in",
    "mechatroniker-in": "Mechatroniker:in",
    "elektroniker-in-automatisierungstechnik": "Elektroniker:in für Automatisierungstechnik",
    "elektroniker-in-energie-und-gebaeudetechnik": "Elektroniker:in für Energie- und Gebäudetechnik",
    "pflegefachmann": "Pflegefachfrau / Pflegefachmann",
    "maurer-in": "Maurer:in",
}


def test_fold_writes_umlauts_out_and_drops_punctuation() -> None:
    assert fold("Weißwasser/O.L.") == "weisswasser o l"
    assert fold("  Löbau!! ") == "loebau"
    assert fold("Berufe-Check") == "berufe check"


@pytest.mark.parametrize("typed,band", [
    ("15", "u16"), ("ich bin 15", "u16"), ("15 Jahre", "u16"), ("fünfzehn", "u16"), ("13", "u16"),
    ("16", "16_17"), ("17!", "16_17"), ("16-17", "16_17"), ("18", "18plus"), ("19", "18plus"), ("23", "18plus"),
    ("unter 16", "u16"), ("u16", "u16"), ("18+", "18plus"), ("über 18", "18plus"), ("volljährig", "18plus"),
    ("hallo", None), ("5", None), ("15 oder 19", None), ("", None),
])
def test_age_band_from_a_typed_age_or_band(typed: str, band: str | None) -> None:
    assert age_band_of(typed) == band


@pytest.mark.parametrize("typed,role", [
    ("Schülerin", "teen"), ("Jugendliche", "teen"), ("jugendlicher", "teen"), ("Azubi", "teen"),
    ("Mama", "parent"), ("ich bin die Mutter", "parent"), ("Elternteil", "parent"), ("Vater", "parent"),
    ("Betrieb", "company"), ("Firma", "company"), ("Ausbilderin", "company"),
    ("Lehrer", "other"), ("Sonstiges", "other"), ("Berufsberatung", "other"),
    ("schuelerin", "teen"), ("Elterntiel", "parent"),  # typos
    ("hallo", None), ("ja", None),
])
def test_role_words(typed: str, role: str | None) -> None:
    assert role_of(typed) == role


@pytest.mark.parametrize("typed,status", [
    ("noch Schule", "pupil"), ("ich gehe noch zur Schule", "pupil"), ("Schüler", "pupil"),
    ("ich bin noch auf der Realschule", "pupil"),  # the longer phrase wins over "Realschule"
    ("Realschulabschluss", "mittlere_reife"), ("Mittlere Reife", "mittlere_reife"), ("MSA", "mittlere_reife"),
    ("Abi", "abitur"), ("Fachabitur", "abitur"), ("Hauptschulabschluss", "hauptschule"),
    ("keinen Abschluss", "none"), ("noch kein Abschluss", "none"), ("Realschulabschlus", "mittlere_reife"),
    ("Pizza", None),
])
def test_school_words(typed: str, status: str | None) -> None:
    assert school_of(typed) == status


@pytest.mark.parametrize("typed,number", [
    ("9", 9), ("9.", 9), ("Klasse 9", 9), ("9. Klasse", 9), ("neunte", 9), ("zehnte Klasse", 10), ("5", 5),
    ("keine", None), ("9 oder 10", None),
])
def test_class_numbers(typed: str, number: int | None) -> None:
    assert class_of(typed) == number


@pytest.mark.parametrize("typed,answer", [
    ("ja", True), ("Ja!", True), ("jo", True), ("genau", True), ("stimmt", True), ("yes", True),
    ("nein", False), ("nee", False), ("stimmt nicht", False), ("falsch", False),
    ("ja nein", None), ("vielleicht", None),
])
def test_yes_and_no(typed: str, answer: bool | None) -> None:
    assert yes_no_of(typed) is answer


def test_back_and_skip_are_whole_messages_with_typos() -> None:
    assert is_back("zurück") and is_back("Zurueck!") and is_back("zurük") and is_back("back")
    assert is_skip("Überspringen") and is_skip("uberspringen") and is_skip("weiter") and is_skip("weiß nicht")
    assert not is_back("weiter") and not is_skip("zurück")
    assert not is_skip("ich wohne weiter weg in Görlitz")  # "weiter" inside a sentence is no skip
    assert not is_back("hallo")


def test_locale_words() -> None:
    assert locale_of("Deutsch") == "de" and locale_of("english") == "en" and locale_of("Englisch") == "en"
    assert locale_of("Französisch") is None


def test_towns_by_name_with_typos() -> None:
    towns = [("Weißwasser", "02943"), ("Görlitz", "02826"), ("Halle (Saale)", "06108"), ("Löbau", "02708")]
    assert town_of("Weisswaser", towns) == [0]
    assert town_of("gorlitz", towns) == [1]
    assert town_of("ich wohne in Halle", towns) == [2]
    assert town_of("Lobau", towns) == [3]
    assert town_of("hallo", towns) == []  # "hallo" is not "Halle"
    assert place_query("ich wohne in Löbau") == "loebau"
    assert same_town("Halle", "Halle (Saale)") and same_town("boxberg", "Boxberg/Oberlausitz")
    assert not same_town("Hall", "Halle (Saale)")


def test_profession_forms_cover_how_people_write_them() -> None:
    assert {"Dachdecker", "Dachdeckerin"} <= set(profession_forms("Dachdecker:in"))
    assert "Elektroniker" in profession_forms("Elektroniker:in für Automatisierungstechnik")
    assert {"Pflegefachfrau", "Pflegefachmann"} <= set(profession_forms("Pflegefachfrau / Pflegefachmann"))


@pytest.mark.parametrize("typed,found", [
    ("Dachdecker", ["dachdecker-in"]), ("dachdecka", ["dachdecker-in"]), ("Dachdeckerin", ["dachdecker-in"]),
    ("ich will Mechatronikerin werden", ["mechatroniker-in"]), ("Pflegefachfrau", ["pflegefachmann"]),
    ("Elektroniker für Automatisierungstechnik", ["elektroniker-in-automatisierungstechnik"]),
    ("Maurer", ["maurer-in"]), ("Mauer", ["maurer-in"]), ("Maus", []),
    ("hallo", []), ("Termine", []),
])
def test_professions_by_name_with_typos(typed: str, found: list[str]) -> None:
    assert professions_of(typed, PROFESSIONS) == found


def test_a_name_several_professions_share_gives_them_all() -> None:
    assert set(professions_of("Elektroniker", PROFESSIONS)) == {
        "elektroniker-in-automatisierungstechnik", "elektroniker-in-energie-und-gebaeudetechnik"}


@pytest.mark.parametrize("typed,entry", [
    ("Termine", "events"), ("termin", "events"), ("Betriebe", "companies"), ("Berufe-Check", "quiz"),
    ("berufecheck", "quiz"), ("Hilfe", "help"), ("Merkliste", "saved"), ("merkliste", "saved"),
    ("Anfragen", "requests"), ("Praktikum", "praktikum"), ("Praktika", "praktikum"), ("Ausbildung", "ausbildung"),
    ("Stellen", "vacancies"), ("Berufe", "professions"), ("Einstellungen", "settings"), ("Datenschutz", "privacy"),
    ("Menü", "menu"), ("Termiene", "events"), ("Merklsite", "saved"),
    ("hallo", None), ("danke", None), ("ok", None),
])
def test_menu_words_with_typos(typed: str, entry: str | None) -> None:
    assert menu_entry_of(typed) == entry
