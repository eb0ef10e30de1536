"""The search's German analysis (flows/domain/search_text.py): umlauts, compounds, stems, synonyms,
typos, stop words, and typed text that looks like query syntax."""
from __future__ import annotations

import re

import pytest

from flows.domain.search_text import (
    STOP_WORDS,
    Query,
    Vocabulary,
    analyse,
    content_words,
    excerpt,
    fold,
    parse_query,
    rank,
    stem,
)

PAGES = [
    "Dachdecker:in. Die Ausbildung dauert 3 Jahre. Ausbildungsvergütung im ersten Ausbildungsjahr 724 €.",
    "Pflegefachfrau / Pflegefachmann: generalistische Pflegeausbildung nach dem Pflegeberufegesetz.",
    "Mechatroniker:in: Mechanik, Elektrik und Software. Berufsschule in Halle (Saale) und Görlitz.",
    "Elektroniker:in für Energie- und Gebäudetechnik.",
    "Anlagenmechaniker:in für Sanitär-, Heizungs- und Klimatechnik.",
    "Die Lehre ist eine duale Ausbildung in Betrieb und Berufsschule.",
]
VOCAB = Vocabulary.of_texts(PAGES)


def test_umlaut_forms_meet() -> None:
    forms = ["Vergütung", "Verguetung", "vergutung", "VERGÜTUNG"]
    assert len({tuple(analyse(f)) for f in forms}) == 1
    assert analyse("Größe") == analyse("Groesse") == analyse("grosse")
    assert fold("Straße") == "strasse"
    assert analyse("Mädchen") == analyse("Maedchen") == analyse("Madchen")


def test_ue_after_a_vowel_or_q_is_no_umlaut() -> None:
    assert fold("Dauer") == "dauer"
    assert fold("Quelle") == "quelle"
    assert fold("neue") == "neue"
    assert fold("Schueler") == fold("Schüler") == "schuler"


def test_compounds_are_split_against_the_vocabulary() -> None:
    terms = analyse("Ausbildungsvergütung", VOCAB)
    assert terms[0] == stem("ausbildungsvergutung")
    assert stem("ausbildung") in terms and stem("vergutung") in terms
    lehre = analyse("Dachdeckerlehre", VOCAB)
    assert stem("dachdecker") in lehre and stem("lehre") in lehre
    assert [stem(p) for p in VOCAB.split("berufsschule")] == [stem("beruf"), stem("schule")]
    assert [stem(p) for p in VOCAB.split("pflegeausbildung")] == [stem("pflege"), stem("ausbildung")]
    assert VOCAB.split("mechatroniker") == []  # no compound of known words


def test_compounds_split_with_the_base_vocabulary_too() -> None:
    assert stem("lehre") in analyse("Dachdeckerlehre") and stem("jahr") in analyse("Lehrjahr")


def test_gendered_and_inflected_forms_share_a_stem() -> None:
    assert analyse("Dachdeckerin") == analyse("Dachdecker") == analyse("Dachdecker:in")
    assert analyse("Betriebe") == analyse("Betrieb")
    assert analyse("Mechatronikerinnen")[:1] == analyse("Mechatroniker")[:1]


def test_stop_words_go_in_both_languages() -> None:
    assert analyse("Was ist das und wie geht das?") == []
    assert analyse("what is the pay") == [stem("pay")]
    assert {"fur", "uber", "konnen"} <= STOP_WORDS  # folded like the text
    assert analyse("wie lang geht ne ausbildung") == [stem("lang"), stem("ausbildung")]


def test_synonyms_are_added_on_the_query_side_only() -> None:
    assert analyse("Lehre") == [stem("lehre")]
    query = parse_query("Lehre", VOCAB)
    assert query.terms[stem("lehre")] == 1.0
    assert 0 < query.terms[stem("ausbildung")] < 1.0
    assert stem("vergutung") in parse_query("Wie viel Kohle krieg ich?", VOCAB).terms
    assert stem("vergutung") in parse_query("Was verdient man?", VOCAB).terms
    assert stem("auszubildende") in parse_query("Azubi", VOCAB).terms
    assert stem("schnupperpraktikum") in parse_query("Praktikum", VOCAB).terms
    assert stem("elektroniker") in parse_query("Elektriker", VOCAB).terms
    pflege = parse_query("Pflege", VOCAB).terms
    assert stem("pflegefachfrau") in pflege and stem("pflegefachmann") in pflege


def test_a_colloquial_word_counts_less_than_what_it_means() -> None:
    query = parse_query("Kohle", VOCAB)
    assert query.terms[stem("vergutung")] > query.terms[stem("kohle")]


def test_english_words_find_german_pages() -> None:
    query = parse_query("how much does a roofer earn in the first year", VOCAB)
    assert {stem("dachdecker"), stem("vergutung"), stem("erste")} <= set(query.terms)


def test_multi_word_synonyms() -> None:
    assert stem("realschulabschluss") in parse_query("Reicht die mittlere Reife?", VOCAB).terms


@pytest.mark.parametrize("typed, meant", [
    ("dachdecka", "dachdecker"), ("Dachdeker", "dachdecker"), ("mechatronicker", "mechatroniker"),
    ("Pflegefachman", "pflegefachmann"), ("Anlagenmechanicker", "anlagenmechaniker"),
])
def test_typos_of_profession_names_find_the_profession(typed: str, meant: str) -> None:
    terms = parse_query(typed, VOCAB).terms
    assert stem(meant) in terms
    assert terms[stem(meant)] < 1.0  # a guess counts less than a word typed right


def test_a_known_word_is_not_corrected() -> None:
    terms = parse_query("Dachdecker", VOCAB).terms
    assert [t for t, w in terms.items() if w == 1.0] == [stem("dachdecker")]


def test_a_rare_spelling_on_one_page_still_finds_the_common_word() -> None:
    vocab = Vocabulary.of_texts([*PAGES, "wie viel kriegt ein dachdecka azubi", "Dachdecker", "Dachdecker"])
    assert stem("dachdecker") in parse_query("dachdecka", vocab).terms


def test_unrelated_words_are_not_forced_onto_the_vocabulary() -> None:
    assert parse_query("Fußballverein Weltmeisterschaft", VOCAB).terms.keys() <= {
        stem("fussballverein"), stem("weltmeisterschaft")}


@pytest.mark.parametrize("hostile", [
    '"', '""', "*", "NEAR(", 'ausbildung" OR "x', "'; DROP TABLE search_docs; --", "a AND b NOT c",
    "^pflege", "col:term", "(((", "\x00\x1f", "𝕯𝖆𝖈𝖍𝖉𝖊𝖈𝖐𝖊𝖗", "Ausbildung* NEAR/3 Lehre", "-- /* */ ;",
])
def test_injection_like_input_is_just_words(hostile: str) -> None:
    for term in [*analyse(hostile, VOCAB), *parse_query(hostile, VOCAB).terms]:
        assert re.fullmatch(r"[^\W_]+", term), term


def test_pages_are_analysed_alike_from_text_or_from_their_words() -> None:
    assert VOCAB.terms(content_words(PAGES[0])) == analyse(PAGES[0], VOCAB)
    assert Vocabulary.of_words(content_words(p) for p in PAGES).df == VOCAB.df


def test_long_and_empty_input() -> None:
    assert parse_query("", VOCAB).terms == {}
    assert not parse_query("und oder aber", VOCAB)
    assert len(parse_query(" ".join(f"wort{i}" for i in range(500)), VOCAB).terms) <= 48
    assert analyse("x" * 10_000, VOCAB) == [stem("x" * 10_000)]  # too long to split or correct


def test_rank_prefers_the_page_that_matches_more_and_the_title() -> None:
    query = parse_query("Dachdecker Vergütung", VOCAB)
    title_page = analyse(PAGES[0], VOCAB)
    other = analyse("Auch Dachdecker und Maurer arbeiten draußen.", VOCAB)
    assert rank(query, title_page, set(analyse("Dachdecker:in")), VOCAB) > rank(query, other, set(), VOCAB)
    assert rank(query, analyse(PAGES[1], VOCAB), set(), VOCAB) == 0.0
    assert rank(Query(), title_page, set(), VOCAB) == 0.0


def test_rank_lowers_pages_for_the_other_audience() -> None:
    query = parse_query("Dachdecker", VOCAB)
    terms = analyse(PAGES[0], VOCAB)
    assert rank(query, terms, set(), VOCAB, audience_fits=False) < rank(query, terms, set(), VOCAB)


def test_excerpt_keeps_the_sentences_that_answer() -> None:
    body = " ".join(["Ein Satz über nichts Besonderes."] * 30 + ["Die Vergütung beträgt 724 € im Monat."])
    query = parse_query("Vergütung", VOCAB)
    short = excerpt(body, query, limit=120)
    assert "724 €" in short and len(short) <= 120
    assert excerpt("Kurz.", query) == "Kurz."
