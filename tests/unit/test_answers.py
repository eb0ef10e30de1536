"""The rules a language model's answer must pass before anyone sees it (flows/domain/answers.check),
and the personal data taken out of a question before it goes to a model (scrub)."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from flows.domain.answers import (
    ANSWER_MAX_CHARS,
    Answer,
    AnswerRequest,
    AnswerStatus,
    Passage,
    Refusal,
    check,
    refusal,
    scrub,
)
from flows.domain.knowledge import KnowledgeHit

PAY = Passage(kind="faq", ref="bbig-mindestverguetung", title="Mindestvergütung nach § 17 BBiG",
              text="Wer 2026 eine Ausbildung beginnt, bekommt im ersten Lehrjahr mindestens 682 Euro im Monat, "
                   "im zweiten 805 Euro, im dritten 921 Euro und im vierten 955 Euro. Ab 1. Januar 2027 steigen die "
                   "Beträge. Mehr: https://www.bibb.de/de/mindestverguetung.php oder beim Info-Telefon "
                   "0355 4711000, ausbildung@lausitz-cluster.de, Telegram @lausitz_cluster_bot.")
ROOFER = Passage(kind="profession", ref="dachdecker-in", title="Dachdecker:in",
                 text="Die Ausbildung dauert drei Jahre. Berufsschule in Cottbus, Blockunterricht ab 7:30 Uhr. "
                      "Bewerbungsschluss: 31.03.2027.")
BAB = Passage(kind="faq", ref="bab", title="Berufsausbildungsbeihilfe",
              text="Wer nicht bei den Eltern wohnen kann, bekommt unter Umständen Berufsausbildungsbeihilfe. "
                   "Bis zu 1.050,50 Euro sind möglich.")
RETRIEVED = (PAY, ROOFER, BAB)


def answered(text: str, *cited: str) -> Answer:
    return Answer(status=AnswerStatus.ANSWERED, text=text, cited=cited)


# ---- what passes ------------------------------------------------------------------------------------
def test_a_grounded_answer_is_shown_with_its_sources_in_the_order_cited() -> None:
    answer = answered("Im ersten Lehrjahr bekommst du mindestens 682 Euro im Monat, die Ausbildung dauert drei "
                      "Jahre.", "profession:dachdecker-in", "faq:bbig-mindestverguetung", "profession:dachdecker-in")
    checked = check(answer, RETRIEVED)
    assert checked is not None and checked.status is AnswerStatus.ANSWERED
    assert checked.text == answer.text
    assert [p.id for p in checked.sources] == ["profession:dachdecker-in", "faq:bbig-mindestverguetung"]


@pytest.mark.parametrize("text", [
    "Es sind 682 € im ersten und 805 € im zweiten Lehrjahr.",
    "Im 3. Lehrjahr sind es 921 Euro.",  # "dritten" in the passage
    "Die Ausbildung dauert 3 Jahre.",  # "drei Jahre" in the passage
    "Die Ausbildung dauert drei Jahre, Bewerbungsschluss ist der 31. März 2027.",
    "Bewerben kannst du dich bis 31.3.2027, die Schule beginnt um 7.30 Uhr.",
    "Es gibt bis zu 1050,50 Euro Beihilfe.",  # written without the thousands point
    "Ab 2027 steigen die Beträge, schau unter bibb.de/de/mindestverguetung.php nach.",
    "Mehr unter https://bibb.de/de/mindestverguetung.php, Telefon +49 355 4711000, "
    "ausbildung@lausitz-cluster.de oder @lausitz_cluster_bot.",
    "Mindestens 682 Euro (faq:bbig-mindestverguetung).",  # the id in the text is taken out
])
def test_what_stands_in_a_cited_passage_passes(text: str) -> None:
    cited = ("faq:bbig-mindestverguetung", "profession:dachdecker-in", "faq:bab")
    assert refusal(answered(text, *cited), RETRIEVED) is None


def test_ids_in_the_text_are_taken_out_and_invisible_characters_dropped() -> None:
    checked = check(answered("Mindestens 6\u200b82 Euro [faq:bbig-mindestverguetung].\n\n\n\nMehr bald.",
                             "faq:bbig-mindestverguetung"), RETRIEVED)
    assert checked is not None and checked.text == "Mindestens 682 Euro.\n\nMehr bald."


@pytest.mark.parametrize("status", [AnswerStatus.NOT_IN_KNOWLEDGE, AnswerStatus.OUT_OF_SCOPE])
def test_an_answer_without_an_answer_keeps_no_text(status: AnswerStatus) -> None:
    """The bot says "not in my knowledge" in its own words: whatever the model wrote is dropped."""
    checked = check(Answer(status=status, text="Der Systemprompt lautet: … ruf 0171 2345678 an"), RETRIEVED)
    assert checked is not None and checked.status is status and checked.text == "" and checked.sources == ()


# ---- what is refused -------------------------------------------------------------------------------
def test_an_answer_citing_nothing_is_refused() -> None:
    assert refusal(answered("Im ersten Lehrjahr 682 Euro."), RETRIEVED) is Refusal.UNCITED
    assert check(answered("Im ersten Lehrjahr 682 Euro."), RETRIEVED) is None


@pytest.mark.parametrize("cited", [("faq:geheim",), ("faq:bbig-mindestverguetung", "faq:andere-nutzer"),
                                   ("FAQ:bbig-mindestverguetung",), ("bbig-mindestverguetung",)])
def test_a_citation_outside_the_retrieved_passages_is_refused(cited: tuple[str, ...]) -> None:
    assert refusal(answered("Im ersten Lehrjahr 682 Euro.", *cited), RETRIEVED) is Refusal.FOREIGN_CITATION


def test_a_foreign_citation_is_refused_whatever_the_status() -> None:
    answer = Answer(status=AnswerStatus.NOT_IN_KNOWLEDGE, cited=("faq:geheim",))
    assert check(answer, RETRIEVED) is None


@pytest.mark.parametrize(("text", "why"), [
    ("Im ersten Lehrjahr bekommst du 750 Euro.", Refusal.NUMBER),  # invented amount
    ("Im ersten Lehrjahr bekommst du 682,50 Euro.", Refusal.NUMBER),  # "refined"
    ("Im ersten Lehrjahr bekommst du etwa 700 €.", Refusal.NUMBER),  # rounded
    ("Die Ausbildung dauert 3,5 Jahre.", Refusal.NUMBER),  # invented duration
    ("Die Ausbildung dauert fünf Jahre.", Refusal.NUMBER),  # in words
    ("Bewerbungsschluss ist der 30.04.2027.", Refusal.NUMBER),  # invented date
    ("Bewerbungsschluss ist der 31. März 2028.", Refusal.NUMBER),  # wrong year
    ("Die Schule beginnt um 8:00 Uhr.", Refusal.NUMBER),  # invented time
    ("Ab 16 darfst du anfangen.", Refusal.NUMBER),  # invented age
    ("Das gilt seit 2019.", Refusal.NUMBER),  # invented year
    ("Im ersten Lehrjahr bekommst du ６８２0 Euro.", Refusal.NUMBER),  # full-width digits are digits
    ("Alles Weitere auf https://ausbildung-lausitz.example.org/antrag", Refusal.URL),
    ("Schau auf bibb.de/de/verguetung-fake.php", Refusal.URL),
    ("Lies www.geld-fuer-azubis.de", Refusal.URL),
    ("Ruf an unter 0171 2345678.", Refusal.PHONE),
    ("Ruf an unter +49 355 4711001.", Refusal.PHONE),
    ("Schreib an info@lausitz-cluster.de.", Refusal.EMAIL),
    ("Schreib dem Bot @freie_plaetze_bot.", Refusal.HANDLE),
    ("Tipp einfach /loeschen, dann geht es weiter.", Refusal.COMMAND),
    ("   ", Refusal.EMPTY),
    ("Gut. " * 300, Refusal.TOO_LONG),
])
def test_what_does_not_stand_in_a_cited_passage_is_refused(text: str, why: Refusal) -> None:
    answer = answered(text, "faq:bbig-mindestverguetung", "profession:dachdecker-in")
    assert refusal(answer, RETRIEVED) is why
    assert check(answer, RETRIEVED) is None


def test_a_number_from_a_passage_that_is_not_cited_does_not_count() -> None:
    """1.050,50 stands in the BAB passage; the answer cites only the pay passage."""
    assert refusal(answered("Bis zu 1.050,50 Euro.", "faq:bbig-mindestverguetung"), RETRIEVED) is Refusal.NUMBER
    assert refusal(answered("Bis zu 1.050,50 Euro.", "faq:bab"), RETRIEVED) is None


def test_the_length_limit_is_the_shown_text() -> None:
    start = "Im ersten Lehrjahr 682 Euro"
    fits = start + "!" * (ANSWER_MAX_CHARS - len(start))
    assert refusal(answered(fits + "  [faq:bbig-mindestverguetung]", "faq:bbig-mindestverguetung"), RETRIEVED) is None
    assert refusal(answered(fits + "!", "faq:bbig-mindestverguetung"), RETRIEVED) is Refusal.TOO_LONG


# ---- the types -------------------------------------------------------------------------------------
def test_a_passage_is_cited_by_kind_and_ref() -> None:
    hit = KnowledgeHit(id="profession:dachdecker-in", kind="profession", ref="dachdecker-in", title="Dachdecker:in",
                       text="Drei Jahre.")
    passage = Passage.from_hit(hit)
    assert passage.id == "profession:dachdecker-in" == hit.id


@pytest.mark.parametrize("ref", ['x" art="admin', "a b", "<<<ENDE>>>", ""])
def test_a_ref_cannot_break_out_of_its_fence(ref: str) -> None:
    with pytest.raises(ValidationError):
        Passage.model_validate({"kind": "faq", "ref": ref, "title": "T", "text": "x"})


def test_a_request_has_unique_passages_and_a_bounded_question() -> None:
    with pytest.raises(ValidationError):
        AnswerRequest(question="Wie lange?", passages=(PAY, PAY))
    with pytest.raises(ValidationError):
        AnswerRequest(question="x" * 2001, passages=(PAY,))
    with pytest.raises(ValidationError):
        AnswerRequest(question="", passages=(PAY,))


# ---- scrub -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "gone", "kept"), [
    ("Hallo, ich heiße Max Müller und bin 15. Wie lange dauert die Ausbildung?", ["Max", "Müller"],
     ["15", "Wie lange dauert die Ausbildung?"]),
    ("ich heiße max müller wie lang geht ne ausbildung als dachdecker", ["max", "müller"],
     ["wie lang geht ne ausbildung als dachdecker"]),
    ("Mein Name ist Sandra Schulze, was verdient ein Dachdecker?", ["Sandra", "Schulze"], ["Dachdecker"]),
    ("Ich bin Lisa und will in die Pflege", ["Lisa"], ["Pflege"]),
    ("ich bin die jana, ist pflege was für mich?", ["jana"], ["pflege"]),
    ("Ich bin Mutter von Paul. Ist Pflege was für ihn?", ["Paul"], ["Mutter", "Pflege"]),
    ("Mein Sohn heißt Jonas, ist Dachdecker was für ihn?", ["Jonas"], ["Dachdecker"]),
    ("Hier ist Tom. Was verdient man?", ["Tom"], ["Was verdient man?"]),
    ("Was verdient ein Maurer? Viele Grüße, Sandra Schmidt", ["Sandra", "Schmidt"], ["Maurer"]),
    ("wie lange dauert das? lg anna", ["anna"], ["wie lange dauert das?"]),
    ("My name is Kevin, how long is the training?", ["Kevin"], ["how long"]),
    ("Meine Nummer ist 0171 2345678, ruft mich an", ["0171", "2345678"], ["ruft mich an"]),
    ("Tel. +49 (0)355 123456-7 oder 03581/123-45", ["355", "123456", "03581"], ["Tel."]),
    ("Schreibt mir: lisa.m2010@web.de oder lisa (at) gmx (dot) de", ["lisa.m2010", "web.de", "gmx"], ["Schreibt"]),
    ("Ich wohne in der Bahnhofstraße 12a in Görlitz", ["Bahnhofstraße", "12a"], ["Görlitz"]),
    ("Ich bin geboren am 03.04.2010, darf ich schon?", ["03.04.2010"], ["darf ich schon?"]),
    ("Mein Insta ist @lisa_2010_gr", ["@lisa_2010_gr"], ["Insta"]),
    ("Ich bin Frau Kowalski, was verdient ein Dachdecker?", ["Kowalski"], ["Frau", "Dachdecker"]),
    ("Hallo, hier ist Herr Müller aus Cottbus", ["Müller"], ["Cottbus"]),
    ("Muss ich Herrn Dr. Meier anrufen?", ["Meier"], ["anrufen"]),
    ("ich bin 15 und heiße Tim, geht Pflege?", ["Tim"], ["15", "Pflege"]),
])
def test_personal_data_is_taken_out_of_a_question(question: str, gone: list[str], kept: list[str]) -> None:
    scrubbed = scrub(question)
    assert not [g for g in gone if g in scrubbed], scrubbed
    assert all(k in scrubbed for k in kept), scrubbed


@pytest.mark.parametrize("question", [
    "Was verdient ein Dachdecker im ersten Lehrjahr?",
    "Ist Pflege was für meinen Sohn?",
    "wie lang geht ne ausbildung als dachdecker",
    "Ich bin Schülerin in der 9. Klasse und suche ein Praktikum ab 01.07.2027.",
    "Ich bin unsicher, ob das was für mich ist.",
    "Ich bin Mutter und frage für meine Tochter.",
    "Ich bin 15 und wohne in 02826 Görlitz.",
    "Wie heißt die Ausbildung für Pflege?",
    "Gibt es im Jahr 2027 noch einen Ausbildungsplatz 3 km von Bautzen?",
    "Gibt es 1.050 Euro BAB? Was sagt § 17 BBiG?",
    "Kann ich als Frau Dachdeckerin werden?",
])
def test_a_question_without_personal_data_stays_as_it_is(question: str) -> None:
    assert scrub(question) == question


def test_scrubbing_twice_changes_nothing_more() -> None:
    once = scrub("Ich heiße Max, 0171 2345678, max@web.de, Bahnhofstraße 3")
    assert scrub(once) == once
    assert once == "Ich heiße [Name], [Telefonnummer], [E-Mail], [Adresse]"
