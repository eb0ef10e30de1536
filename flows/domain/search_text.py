"""How the search reads German: the same analysis for the pages it indexes and for the questions asked.

`analyse(text)` turns text into index terms:

1. Unicode NFC and case folding (ß → ss), umlauts folded the way the Snowball stemmer folds them:
   "ae"/"oe"/"ue" count as ä/ö/ü (not "ue" after q or a vowel: "Quelle", "Dauer", "neue"), and ä/ö/ü
   lose their dots, so "vergütung", "verguetung" and "vergutung" are one word. Other accents go too.
2. Words: runs of letters and digits; single letters, and German and English stop words, go.
3. Compound words are split into parts the vocabulary knows, with the linking -s-, -n-, -en-, -er-,
   -es-, -e- between them: "Ausbildungsvergütung" also gives "Ausbildung" and "Vergütung",
   "Dachdeckerlehre" gives "Dachdecker" and "Lehre". The vocabulary is the words of the indexed pages
   (passed in) and a small base list (flows/domain/search_synonyms.py LEXICON).
4. Every word and part is stemmed with Snowball's German stemmer (PyStemmer): "Dachdeckerin",
   "Dachdecker" → "dachdeck".

A question (`parse_query`) gets more: synonyms and what colloquial and English words mean
(search_synonyms.py GROUPS and MEANS: "Lehre" also looks for "Ausbildung", "Kohle" for "Vergütung"),
and spelling tolerance: a word the vocabulary does not know is looked for as the closest known words
too ("dachdecka" → "dachdeck"; rapidfuzz). Each term has a weight (the typed word 1, a synonym less).

`rank` scores a page for a question (BM25 with those weights, title words counting extra) so the
ranking is the same on SQLite and PostgreSQL; the databases only find the candidates. Terms contain
only letters and digits, so they can be quoted into a full-text query without any escaping question.
"""
from __future__ import annotations

import importlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from flows.domain.search_synonyms import GROUPS, LEXICON, MEANS, STOP_WORDS_DE, STOP_WORDS_EN, WEAK

# ---- weights and limits ----------------------------------------------------------------------------
PART = 0.5  # a part of a known compound word ("vergütung" in "ausbildungsvergütung")
SYNONYM = 0.7  # another word of the same group
MEANT = 0.9  # what a colloquial or English word means ("Kohle" → "Vergütung")
MEANT_ITSELF = 0.7  # the colloquial word itself
WEAKER = 0.4  # times the weight of a word that names who asks ("mein Kind") more than what about
FUZZY = 0.85  # times the similarity (0-1) of a known word close to an unknown one
FUZZY_CANDIDATES = 2
RARE = 2  # a known word on at most this many pages may be a typo too ("dachdecka" in a FAQ variant)
MIN_PART = 4  # letters of a compound part; shorter parts would split ordinary words
SHORT_PARTS = frozenset({"bau", "abi", "kfz", "shk", "job"})
LINKS = ("", "s", "n", "en", "er", "es", "e")
MAX_WORD = 40  # longer "words" are noise (URLs, keyboard mashing): not split, not corrected
MAX_QUERY_TERMS = 48

# BM25 and the ranking's extras
K1 = 1.2
B = 0.5  # length normalisation: profession pages are long, offers short; both should be findable
TITLE = 1.0  # a query term in the page's title counts this much again (times its idf and weight)
KIND_PRIOR: dict[str, float] = {"faq": 1.15, "profession": 1.1, "cluster": 1.0, "event": 0.95,
                                "company": 0.9, "offer": 0.85}
OTHER_AUDIENCE = 0.8  # a page meant for the other audience (teens vs parents) still counts, less
COORD = 0.5  # a page matching a share of the question's concepts keeps that share (to this power) of its score

_stemmer: Any = importlib.import_module("Stemmer").Stemmer("german")  # PyStemmer ships no type hints
_english: Any = importlib.import_module("Stemmer").Stemmer("english")  # for English words in questions
_DIGRAPH = re.compile(r"(?<![aeiouyäöüq])ue|ae|oe")
_DIGRAPH_TO = {"ue": "ü", "ae": "ä", "oe": "ö"}
_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u"})
_WORD = re.compile(r"[^\W_]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


# ---- words -------------------------------------------------------------------------------------------
def fold(text: str) -> str:
    """Lower case, umlauts folded ("Größe"/"Groesse"/"Grosse" → "grosse"), other accents dropped."""
    return _fold_word(unicodedata.normalize("NFC", text).casefold())


@lru_cache(maxsize=200_000)
def _fold_word(low: str) -> str:
    if "e" in low:
        low = _DIGRAPH.sub(lambda m: _DIGRAPH_TO[m.group(0)], low)
    if not low.isascii():
        low = low.translate(_UMLAUTS)
        if not low.isascii():
            low = "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))
    return low


def words(text: str) -> list[str]:
    """The folded words of a text, stop words included (single letters are not words)."""
    low = unicodedata.normalize("NFC", text).casefold()
    return [w for w in map(_fold_word, _WORD.findall(low)) if len(w) > 1 or w.isdigit()]


STOP_WORDS: frozenset[str] = frozenset(w for s in (*STOP_WORDS_DE, *STOP_WORDS_EN) for w in words(s))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball's German stem of a folded word ("dachdeckerin" → "dachdeck")."""
    return str(_stemmer.stemWord(word))


def content_words(text: str) -> list[str]:
    """The folded words of a text without stop words."""
    return [w for w in words(text) if w not in STOP_WORDS]


# ---- the vocabulary ----------------------------------------------------------------------------------
_BASE: frozenset[str] = frozenset(
    stem(w) for phrase in (*LEXICON, *(m for g in GROUPS for m in g), *MEANS, *(t for ts in MEANS.values() for t in ts))
    for w in content_words(phrase))


class Vocabulary:
    """The stems the index knows, with the number of pages each is on (`df`), the number of pages and
    their mean length in terms: what compound splitting, spelling tolerance and ranking need.

    Built from the pages' texts when the index is built (`of_texts`) or read back from the index
    (storage/search.py: counted over the knowledge pages, not the offers, so that thousands of offers
    naming "Dachdecker" do not make it a common word; the offers' words are `known` too). The base list
    of domain words is always known."""

    def __init__(self, df: Mapping[str, int] | None = None, docs: int = 0, total_terms: int = 0,
                 known: Iterable[str] = ()) -> None:
        self.df: dict[str, int] = dict(df or {})
        self.docs = docs
        self.avg_len = total_terms / docs if docs else 0.0
        self.total_terms = total_terms
        self._known: frozenset[str] = frozenset(self.df) | _BASE | frozenset(known)
        self._analysed: dict[str, tuple[str, ...]] = {}
        self._choices: list[str] | None = None

    @classmethod
    def of_texts(cls, texts: Iterable[str]) -> Vocabulary:
        """The vocabulary of pages about to be indexed: each stem with the number of texts it is in."""
        return cls.of_words(content_words(text) for text in texts)

    @classmethod
    def of_words(cls, texts: Iterable[Sequence[str]]) -> Vocabulary:
        """The same from each text's `content_words`."""
        df: Counter[str] = Counter()
        docs = total = 0
        for text_words in texts:
            df.update({stem(w) for w in text_words})
            docs += 1
            total += len(text_words)
        return cls(df, docs, total)

    def terms(self, text_words: Iterable[str]) -> list[str]:
        """`analyse` of a text's `content_words`."""
        return [t for w in text_words for t in self.word_terms(w)]

    def knows(self, stem_: str) -> bool:
        return stem_ in self._known

    @property
    def known(self) -> frozenset[str]:
        """Every stem it knows: those it counts, more words of the index, the base list."""
        return self._known

    def idf(self, term: str) -> float:
        return self.idf_of(self.df.get(term, 0))

    def idf_of(self, pages: int) -> float:
        """BM25's idf (Lucene's, never negative) of a term on that many pages."""
        return math.log(1.0 + (max(self.docs, pages) - pages + 0.5) / (pages + 0.5))

    # -- compound words
    def _part(self, part: str) -> bool:
        if len(part) < MIN_PART and part not in SHORT_PARTS:
            return False
        return part not in STOP_WORDS and not part.isdigit() and stem(part) in self._known

    def split(self, word: str) -> list[str]:
        """The parts of a compound word the vocabulary knows (["ausbildung", "vergutung"]), fewest
        parts first and then the longest first part; [] if it is no compound of known words."""
        if len(word) > MAX_WORD or len(word) < 2 * 3 or not word.isalpha():
            return []
        return self._split(word, 0) or []

    def _split(self, word: str, depth: int) -> list[str] | None:
        best: list[str] | None = None
        for i in range(len(word) - 3, 2, -1):  # the longest known head first
            head = word[:i]
            if not self._part(head):
                continue
            rest = word[i:]
            for link in LINKS:
                if not rest.startswith(link):
                    continue
                tail = rest[len(link):]
                if self._part(tail):
                    found: list[str] | None = [head, tail]
                elif depth < 2 and len(tail) >= 2 * MIN_PART:
                    more = self._split(tail, depth + 1)
                    found = [head, *more] if more else None
                else:
                    found = None
                if found and (best is None or len(found) < len(best)):
                    best = found
                    if len(best) == 2:
                        return best
        return best

    def word_terms(self, word: str) -> tuple[str, ...]:
        """The index terms of one folded word: its stem, then the stems of its compound parts."""
        terms = self._analysed.get(word)
        if terms is None:
            whole = stem(word)
            parts = [stem(p) for p in self.split(word)]
            terms = (whole, *dict.fromkeys(p for p in parts if p != whole))
            if len(self._analysed) < 500_000:
                self._analysed[word] = terms
        return terms

    # -- spelling tolerance
    def closest(self, stem_: str, min_df: int = 0) -> list[tuple[str, float]]:
        """Known stems close to an unknown (or rare) one, with their similarity (0-1), best first;
        `min_df`: only stems on at least that many pages."""
        if len(stem_) < 4 or not stem_.isalpha() or len(stem_) > MAX_WORD:
            return []
        if self._choices is None:
            self._choices = sorted(t for t in self._known if len(t) >= 3 and t.isalpha())
        found = [(choice, score, i) for choice, score, i in process.extract(
            stem_, self._choices, scorer=fuzz.ratio, score_cutoff=_cutoff(len(stem_)), limit=FUZZY_CANDIDATES + 6)
            if choice != stem_ and self.df.get(choice, 0) >= min_df]
        if not found:
            return []
        top = found[0][1]
        return [(str(choice), float(score) / 100) for choice, score, _ in found if score >= top - 4][:FUZZY_CANDIDATES]


def _cutoff(length: int) -> float:
    """How similar (0-100) a known stem must be to an unknown one of that length."""
    if length <= 5:
        return 86.0
    if length <= 8:
        return 80.0
    return 77.0


DEFAULT_VOCABULARY = Vocabulary()
_WEAK: frozenset[str] = frozenset(stem(w) for phrase in WEAK for w in words(phrase))


def analyse(text: str, vocabulary: Vocabulary | None = None) -> list[str]:
    """The index terms of a text, in order, repeated as often as they occur (a page's term counts):
    folded, without stop words, compounds split against the vocabulary, stemmed."""
    vocab = vocabulary or DEFAULT_VOCABULARY
    return [t for w in words(text) if w not in STOP_WORDS for t in vocab.word_terms(w)]


# ---- questions ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Synonyms:
    """Stem sequence of a word or phrase -> (terms it stands for, their weight, weight of the word itself)."""

    entries: dict[tuple[str, ...], list[tuple[tuple[str, ...], float, float]]] = field(default_factory=dict)
    longest: int = 1
    english: dict[str, list[tuple[tuple[str, ...], float, float]]] = field(default_factory=dict)  # by English stem


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in content_words(text))


@lru_cache(maxsize=1)
def _synonyms() -> _Synonyms:
    table = _Synonyms()
    longest = 1
    for group in GROUPS:
        phrases = [p for p in (_phrase(m) for m in group) if p]
        for p in phrases:
            others = tuple(dict.fromkeys(t for q in phrases if q != p for t in _expand_terms(q)))
            table.entries.setdefault(p, []).append((others, SYNONYM, 1.0))
            longest = max(longest, len(p))
    for word, meanings in MEANS.items():
        p = _phrase(word) or tuple(words(word))  # "1": digits are no stop words but short
        if not p:
            continue
        targets = tuple(dict.fromkeys(t for m in meanings for t in _expand_terms(_phrase(m))))
        table.entries.setdefault(p, []).append((targets, MEANT, MEANT_ITSELF))
        longest = max(longest, len(p))
    english: dict[str, list[tuple[tuple[str, ...], float, float]]] = {}
    for key, entries in table.entries.items():
        if len(key) == 1 and key[0].isascii() and key[0].isalpha():
            english.setdefault(str(_english.stemWord(key[0])), []).extend(entries)
    return _Synonyms(table.entries, longest, english)


def _expand_terms(stems: tuple[str, ...]) -> list[str]:
    """A synonym's terms: its stems (the index has the parts of compound words, the query needs only
    the word: expanding the parts too would look for "platz" whenever "Ausbildungsplatz" is meant)."""
    return list(stems)


@dataclass(frozen=True)
class Concept:
    """One thing a question asks about: a typed word (`anchor`, its stem) or a part of an unknown
    compound, with the terms that stand for it and their weights (1 for the word as typed). A page
    scores by the best of them, so synonyms never add up; all of them count as rare as the concept
    (its commonest word), so a rare synonym does not outweigh a common word."""

    terms: dict[str, float]
    anchor: str | None = None
    together: tuple[str, ...] = ()  # the parts of a known compound: they count (PART) only all together


@dataclass(frozen=True)
class Query:
    """What a question looks for."""

    concepts: tuple[Concept, ...] = ()

    @property
    def terms(self) -> dict[str, float]:
        """Every term with its highest weight, best first."""
        out: dict[str, float] = {}
        for concept in self.concepts:
            for term, weight in concept.terms.items():
                out[term] = max(weight, out.get(term, 0.0))
            for term in concept.together:
                out[term] = max(PART, out.get(term, 0.0))
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def __bool__(self) -> bool:
        return any(c.terms for c in self.concepts)


def _synonym_entries(syn: _Synonyms, stem_: str, word: str) -> list[tuple[tuple[str, ...], float, float]]:
    """The synonym entries of a word: by its German stem, else by its English stem ("apprentices")."""
    found = syn.entries.get((stem_,))
    if found is None and word.isascii() and word.isalpha():
        found = syn.english.get(str(_english.stemWord(word)))
    return found or []


def parse_query(text: str, vocabulary: Vocabulary | None = None) -> Query:
    """The concepts of a question: its analysed words (and their compound parts), each with its
    synonyms and meanings, and for words the vocabulary does not know (or knows from a page or two
    only) the closest known words."""
    vocab = vocabulary or DEFAULT_VOCABULARY
    syn = _synonyms()
    tokens = content_words(text)[:MAX_QUERY_TERMS]
    stems = [stem(w) for w in tokens]
    concepts: dict[str, dict[str, float]] = {}
    together: dict[str, tuple[str, ...]] = {}

    def add(concept: str, term: str, weight: float) -> None:
        terms = concepts.setdefault(concept, {})
        if weight > terms.get(term, 0.0):
            terms[term] = weight

    for size in range(syn.longest, 1, -1):  # phrases ("mittlere Reife"): a concept of their own
        for i in range(len(stems) - size + 1):
            key = tuple(stems[i:i + size])
            for targets, weight, _ in syn.entries.get(key, ()):
                for t in targets:
                    add(" ".join(key), t, weight)
    for word, whole in zip(tokens, stems):
        entries = _synonym_entries(syn, whole, word)
        whole, *parts = vocab.word_terms(word)
        add(whole, whole, max((own for _, _, own in entries), default=1.0))
        for targets, weight, _ in entries:
            for t in targets:
                add(whole, t, weight)
        known = vocab.knows(whole) and (whole in vocab.df or not vocab.df)
        if known and parts:  # "Ausbildungsvergütung": pages saying "Vergütung in der Ausbildung" too
            together[whole] = tuple(parts)
        for p in parts if not known else ():  # "Dachdeckerlehre": its parts are what it asks about
            add(p, p, 1.0)
            for targets, weight, _ in syn.entries.get((p,), ()):
                for t in targets:
                    add(p, t, weight)
        if vocab.df.get(whole, 0) <= RARE and not parts and not entries:  # unknown, or on a page or two only
            for near, similarity in vocab.closest(whole, 3 * vocab.df[whole] if whole in vocab.df else 0):
                add(whole, near, FUZZY * similarity)
                for targets, weight, _ in syn.entries.get((near,), ()):
                    for t in targets:
                        add(whole, t, weight * FUZZY * similarity)
    for anchor in concepts.keys() & _WEAK:
        concepts[anchor] = {t: w * WEAKER for t, w in concepts[anchor].items()}
    out: list[Concept] = []
    budget = MAX_QUERY_TERMS
    for anchor, terms in _merged(concepts).items():
        best = dict(sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:max(budget, 1)])
        budget -= len(best)
        out.append(Concept(best, anchor if " " not in anchor else None, together.get(anchor, ())))
        if budget <= 0:
            break
    return Query(tuple(out))


def _merged(concepts: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Concepts that stand for the same thing, one ("wie lange dauert": both mean the duration)."""
    out: dict[str, dict[str, float]] = {}
    for anchor, terms in concepts.items():
        top = max(terms.values(), default=0.0)
        heads = {t for t, w in terms.items() if w == top}
        twin = next((a for a, ts in out.items() if heads & {t for t, w in ts.items() if w == max(ts.values())}),
                    None)
        if twin is None:
            out[anchor] = dict(terms)
        else:
            for t, w in terms.items():
                out[twin][t] = max(w, out[twin].get(t, 0.0))
    return out


# ---- ranking -----------------------------------------------------------------------------------------
def _concept_idf(concept: Concept, vocabulary: Vocabulary) -> float | None:
    """How rare a concept is: as rare as the commonest of its words and synonyms (not its compound
    parts or guesses), so a rare synonym does not make a common question rare; None if none of
    them is in the index (each term counts by its own rarity then)."""
    counts = [vocabulary.df.get(t, 0) for t, w in concept.terms.items() if w >= SYNONYM]
    top = max(counts, default=0)
    if not top:
        return None
    return vocabulary.idf_of(top)


@dataclass(frozen=True)
class _Prepared:
    terms: tuple[tuple[str, float, float], ...]  # term, weight, idf
    together: tuple[str, ...]
    together_idf: float
    strength: float  # what matching it is worth in the share of concepts matched (0: cannot match)


class Ranking:
    """A question's ranking of pages (what `rank` does, prepared once for many pages)."""

    def __init__(self, query: Query, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        prepared = []
        for concept in query.concepts:
            idf = _concept_idf(concept, vocabulary)
            terms = tuple((t, w, idf if idf is not None else vocabulary.idf(t)) for t, w in concept.terms.items())
            together_idf = idf if idf is not None else min((vocabulary.idf(t) for t in concept.together), default=0.0)
            can_match = any(vocabulary.df.get(t) for t in concept.terms) or not vocabulary.df
            strength = max(concept.terms.values(), default=0.0) * (idf if idf is not None else 1.0) if can_match \
                else 0.0
            prepared.append(_Prepared(terms, concept.together, together_idf, strength))
        self._concepts = tuple(prepared)

    def score(self, terms: Sequence[str], title_terms: Collection[str], kind: str = "",
              audience_fits: bool = True) -> float:
        if not self._concepts or not terms:
            return 0.0
        counts = Counter(terms)
        norm = K1 * (1 - B + B * len(terms) / (self.vocabulary.avg_len or len(terms)))
        score = matched = possible = 0.0
        for concept in self._concepts:
            best = 0.0
            for term, weight, idf in concept.terms:
                tf = counts.get(term, 0)
                if tf:
                    best = max(best, weight * idf * (tf * (K1 + 1) / (tf + norm)
                                                     + (TITLE if term in title_terms else 0.0)))
            if concept.together and all(counts.get(t) for t in concept.together):
                tfs = [counts[t] for t in concept.together]
                best = max(best, PART * concept.together_idf * sum(tf * (K1 + 1) / (tf + norm) for tf in tfs)
                           / len(tfs))
            score += best
            possible += concept.strength
            matched += concept.strength if best > 0 else 0.0
        if possible:
            score *= (matched / possible) ** COORD
        score *= KIND_PRIOR.get(kind, 1.0)
        return score if audience_fits else score * OTHER_AUDIENCE


def rank(query: Query, terms: Sequence[str], title_terms: Collection[str], vocabulary: Vocabulary,
         kind: str = "", audience_fits: bool = True) -> float:
    """How well a page answers a question: BM25 over the page's terms, per concept the best of its
    terms (times its weight), title words counting extra; times the share of the question's concepts
    it matches (by rarity, to the power COORD), a small prior per kind of page, and less for a page
    meant for the other audience. 0 if nothing matches."""
    return Ranking(query, vocabulary).score(terms, title_terms, kind, audience_fits)


def excerpt(body: str, query: Query, limit: int = 700, analyse_with: Callable[[str], list[str]] = analyse) -> str:
    """The body if it fits, else its sentences that match the question best (in their order), cut to
    `limit` characters."""
    body = body.strip()
    if len(body) <= limit:
        return body
    sentences = [s.strip() for s in _SENTENCE.split(body) if s.strip()]
    weights = query.terms
    scored = [(sum(weights.get(t, 0.0) for t in set(analyse_with(s))), -i, s) for i, s in enumerate(sentences)]
    chosen: set[int] = set()
    room = limit
    for score, neg_i, s in sorted(scored, reverse=True):
        if score <= 0 and chosen:
            break
        if len(s) + 1 <= room:
            chosen.add(-neg_i)
            room -= len(s) + 1
    text = " ".join(sentences[i] for i in sorted(chosen)) if chosen else body
    if len(text) > limit:
        text = text[:limit - 1].rsplit(" ", 1)[0] + "…"
    return text
