"""What typed words most likely mean: the answer to a question, a profession, a town, a menu entry.

Pure functions over the user's text. Typos are tolerated with rapidfuzz's similarity ratio (0-100),
stricter for short words ("hallo" is not "Halle", "ja" must be "ja"). Text is compared "folded":
lower case, umlauts written out (ö → oe, ß → ss), punctuation dropped, and each run of words also
without the spaces between them ("Berufe-Check" = "berufecheck").

When two meanings fit equally well, none is chosen (the caller asks again): a longer exact phrase
beats a shorter one it contains ("stimmt nicht" is "nein", not "ja").
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

MAX_WORDS = 16  # a question's answer or a wish; longer text is cut before matching
TIE = 3.0  # scores this close count as equally good
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NUMBER = re.compile(r"\d+")
_POSTCODE = re.compile(r"(?<!\d)\d{5}(?!\d)")


# ---- folding and matching ----------------------------------------------------------------------
def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces ("Weißwasser/O.L." -> "weisswasser o l")."""
    low = unicodedata.normalize("NFC", text).casefold().translate(_UMLAUTS)
    if not low.isascii():
        low = unicodedata.normalize("NFKD", low).encode("ascii", "ignore").decode("ascii")
    return _NON_ALNUM.sub(" ", low).strip()


def _compact(text: str) -> str:
    return fold(text).replace(" ", "")


def _cutoff(length: int) -> float:
    """How similar a typed word must be to a form of that length: exact up to 3 letters."""
    if length <= 3:
        return 100.0
    if length <= 5:
        return 88.0
    if length <= 8:
        return 80.0
    return 78.0


@dataclass(frozen=True)
class Hit:
    """One meaning found in the text: how well it fits (100: exactly) and over how many words."""

    key: str
    score: float
    words: int


def _grams(words: Sequence[str], longest: int) -> list[tuple[str, int]]:
    """Every run of up to `longest` consecutive words, without spaces, with its word count."""
    return [("".join(words[i:i + n]), n) for n in range(1, min(longest, len(words)) + 1)
            for i in range(len(words) - n + 1)]


def hits(text: str, options: Mapping[str, Iterable[str]], whole: bool = False) -> list[Hit]:
    """The best hit per option found in the text, best first (score, then longer phrase).

    options: meaning -> its forms (names, synonyms). whole: the text must be the form as a whole
    (e.g. "weiter" alone means "skip", but not inside a sentence).
    """
    words = fold(text).split()[:MAX_WORDS]
    if not words:
        return []
    forms = {key: {f for f in (_compact(form) for form in values) if f} for key, values in options.items()}
    if whole:
        grams = [("".join(words), len(words))]
    else:
        longest = max((len(fold(form).split()) for values in options.values() for form in values), default=1)
        grams = _grams(words, longest + 1)
    found: list[Hit] = []
    for key, candidates in forms.items():
        best: Hit | None = None
        for gram, count in grams:
            for form in candidates:
                cutoff = _cutoff(min(len(form), len(gram)))
                if cutoff >= 100.0:
                    score = 100.0 if gram == form else 0.0
                else:
                    score = fuzz.ratio(gram, form, score_cutoff=cutoff)
                if score and (best is None or (score, count) > (best.score, best.words)):
                    best = Hit(key, score, count)
        if best is not None:
            found.append(best)
    return sorted(found, key=lambda h: (-h.score, -h.words, h.key))


def tied(found: Sequence[Hit]) -> list[str]:
    """The meanings that fit equally best (a longer exact phrase beats the shorter ones it holds)."""
    if not found:
        return []
    top = found[0]
    return [top.key] + [h.key for h in found[1:] if h.score >= top.score - TIE and h.words >= top.words]


def best(text: str, options: Mapping[str, Iterable[str]], whole: bool = False) -> str | None:
    """The one meaning the text names; None when there is none or two fit equally well."""
    winners = tied(hits(text, options, whole))
    return winners[0] if len(winners) == 1 else None


# ---- answers to the onboarding questions ---------------------------------------------------------
BACK_WORDS = ("zurück", "zurueck", "zuruck", "back", "vorige frage", "eine frage zurück", "zurückgehen")
SKIP_WORDS = ("überspringen", "ueberspringen", "überspringe", "weiter", "skip", "egal", "später", "spaeter",
              "keine angabe", "weiß nicht", "weiss nicht", "keine ahnung", "nächste frage", "next", "pass",
              "sag ich nicht", "möchte ich nicht sagen")

ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "teen": ("jugendliche", "jugendlicher", "jugendliche:r", "schüler", "schülerin", "schüler:in", "azubi",
             "teen", "teenager", "young person", "student", "pupil", "ich suche eine ausbildung"),
    "parent": ("elternteil", "eltern", "mutter", "mama", "mutti", "vater", "papa", "vati", "parent", "mother",
               "father", "mum", "mom", "dad", "erziehungsberechtigt", "erziehungsberechtigte"),
    "company": ("betrieb", "firma", "unternehmen", "ausbilder", "ausbilderin", "ausbildungsbetrieb",
                "arbeitgeber", "personalabteilung", "company", "employer", "business"),
    "other": ("sonstiges", "sonstige", "anderes", "andere", "lehrer", "lehrerin", "lehrkraft", "berater",
              "beraterin", "berufsberater", "berufsberatung", "sozialarbeiter", "schulsozialarbeit", "other",
              "teacher", "counsellor"),
}

AGE_WORDS: dict[str, tuple[str, ...]] = {
    "u16": ("unter 16", "u16", "under 16", "jünger als 16", "noch nicht 16"),
    "16_17": ("16 17", "16 bis 17", "16 oder 17"),
    "18plus": ("18+", "18 plus", "über 18", "ü18", "ab 18", "volljährig", "erwachsen", "over 18", "adult"),
}
_NUMBER_WORDS = {
    "zehn": 10, "elf": 11, "zwoelf": 12, "dreizehn": 13, "vierzehn": 14, "fuenfzehn": 15, "sechzehn": 16,
    "siebzehn": 17, "achtzehn": 18, "neunzehn": 19, "zwanzig": 20,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}
_ORDINAL_WORDS = {
    "siebte": 7, "siebten": 7, "achte": 8, "achten": 8, "neunte": 9, "neunten": 9, "zehnte": 10, "zehnten": 10,
    "elfte": 11, "elften": 11, "zwoelfte": 12, "zwoelften": 12, "dreizehnte": 13, "dreizehnten": 13,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
}
YOUNGEST, OLDEST = 10, 99  # an age outside this is more likely something else (a class, a typo)

SCHOOL_WORDS: dict[str, tuple[str, ...]] = {
    "pupil": ("ich gehe noch zur schule", "noch zur schule", "noch schule", "noch in der schule", "schule",
              "schüler", "schülerin", "schüler:in", "gehe noch", "bin noch", "still at school", "at school",
              "pupil"),
    "hauptschule": ("hauptschulabschluss", "hauptschule", "berufsreife", "ebr", "erweiterte berufsbildungsreife",
                    "qualifizierender hauptschulabschluss", "quali"),
    "mittlere_reife": ("mittlerer schulabschluss", "mittlere reife", "realschulabschluss", "realschule", "msa",
                       "fachoberschulreife", "oberschulabschluss", "10 klasse abschluss"),
    "abitur": ("abitur", "abi", "fachabitur", "fachabi", "fachhochschulreife", "hochschulreife", "a level"),
    "none": ("noch kein abschluss", "kein abschluss", "keinen abschluss", "ohne abschluss", "no certificate",
             "none"),
}

YES_WORDS = ("ja", "jaa", "jo", "jep", "jap", "jup", "yes", "yep", "yeah", "genau", "richtig", "stimmt", "korrekt",
             "passt", "ok", "okay", "klar", "sicher", "jawohl", "das ist richtig", "das bin ich")
NO_WORDS = ("nein", "nee", "ne", "nö", "noe", "no", "nope", "falsch", "stimmt nicht", "nicht richtig",
            "passt nicht", "anderer ort", "woanders")

# Greetings, thanks and acknowledgements: said, not asked (they get a friendly hint, not a search).
SMALL_TALK_WORDS = ("hallo", "hi", "hey", "moin", "servus", "guten tag", "guten morgen", "guten abend", "hello",
                    "danke", "dankeschön", "danke schön", "vielen dank", "thanks", "thank you", "ok", "okay",
                    "super", "cool", "gut", "alles klar", "tschüss", "tschau", "bye", "ja", "nein", "test")


LOCALE_WORDS: dict[str, tuple[str, ...]] = {
    "de": ("deutsch", "german", "de", "germany", "auf deutsch"),
    "en": ("english", "englisch", "en", "eng", "in english"),
}


def is_back(text: str) -> bool:
    """The whole message asks for the previous question ("zurück", "zurük")."""
    return best(text, {"back": BACK_WORDS, "skip": SKIP_WORDS}, whole=True) == "back"


def is_skip(text: str) -> bool:
    """The whole message asks to skip the question ("überspringen", "weiter", "weiß nicht")."""
    return best(text, {"back": BACK_WORDS, "skip": SKIP_WORDS}, whole=True) == "skip"


QUESTION_WORDS = ("was", "wie", "wo", "wann", "warum", "wieso", "weshalb", "wer", "wen", "wem", "welche", "welcher",
                  "welches", "wieviel", "kann", "darf", "muss", "gibt", "ist", "sind", "bekomme", "krieg", "what",
                  "how", "where", "when", "why", "who", "which", "can", "do", "does", "is", "are")


def is_question(text: str) -> bool:
    """Asked, not named: a question mark, a question word first, or more than four words."""
    words = fold(text).split()
    return "?" in text or len(words) > 4 or bool(words and words[0] in QUESTION_WORDS)


def is_small_talk(text: str) -> bool:
    """The whole message is a greeting, a thank-you or an "ok" (typos allowed), not a question."""
    return best(text, {"talk": SMALL_TALK_WORDS}, whole=True) == "talk"


def role_of(text: str) -> str | None:
    return best(text, ROLE_WORDS)


def numbers_in(text: str) -> list[int]:
    """The whole numbers in the text, digits or (up to twenty) words."""
    found = [int(n) for n in _NUMBER.findall(text) if len(n) <= 4]
    found += [_NUMBER_WORDS[w] for w in fold(text).split() if w in _NUMBER_WORDS]
    return found


def age_of(text: str) -> int | None:
    """A plausible age in the text ("15", "ich bin 15", "fünfzehn"); None if none or several differ."""
    ages = {n for n in numbers_in(text) if YOUNGEST <= n <= OLDEST}
    return ages.pop() if len(ages) == 1 else None


def age_band_of_age(age: int) -> str:
    return "u16" if age < 16 else "16_17" if age < 18 else "18plus"


def age_band_of(text: str) -> str | None:
    """The age band an answer names: a band ("unter 16", "18+") or an age ("15" -> "u16")."""
    band = best(text, AGE_WORDS)
    if band is not None:
        return band
    ages = {n for n in numbers_in(text) if YOUNGEST <= n <= OLDEST}
    bands = {age_band_of_age(a) for a in ages}
    return bands.pop() if len(bands) == 1 else None


def class_of(text: str) -> int | None:
    """A school class ("9", "9.", "Klasse 9", "neunte"); None if none or several differ."""
    found = {n for n in numbers_in(text) if n <= 20}
    found |= {_ORDINAL_WORDS[w] for w in fold(text).split() if w in _ORDINAL_WORDS}
    return found.pop() if len(found) == 1 else None


def school_of(text: str) -> str | None:
    return best(text, SCHOOL_WORDS)


def yes_no_of(text: str) -> bool | None:
    answer = best(text, {"yes": YES_WORDS, "no": NO_WORDS})
    return None if answer is None else answer == "yes"


def locale_of(text: str) -> str | None:
    return best(text, LOCALE_WORDS)


# ---- places --------------------------------------------------------------------------------------
_PLACE_FILLERS = frozenset({"ich", "wohne", "lebe", "bin", "komme", "in", "im", "aus", "bei", "nahe", "naehe",
                            "der", "die", "dem", "raum", "gegend", "um", "von", "live", "near", "i", "from"})


def postcodes_in(text: str) -> list[str]:
    return _POSTCODE.findall(text)


def place_query(text: str) -> str:
    """The town a short message names, without "ich wohne in", "aus", "bei" around it."""
    words = fold(text).split()
    while words and words[0] in _PLACE_FILLERS:
        words = words[1:]
    return " ".join(words)


def base_name(name: str) -> str:
    """A town's name without its addition: "Halle (Saale)" -> "Halle", "Boxberg/O.L." -> "Boxberg"."""
    return re.split(r"[(/,]", name, maxsplit=1)[0].strip() or name


def same_town(typed: str, name: str) -> bool:
    """Whether the typed text is that town's name exactly (folded; with or without its addition)."""
    wanted = _compact(place_query(typed))
    return bool(wanted) and wanted in (_compact(name), _compact(base_name(name)))


def town_of(text: str, towns: Sequence[tuple[str, str]]) -> list[int]:
    """Which of the known towns (name, plz) the text names, typos allowed: their indexes, best first;
    several when they fit equally well (the same name under two postcodes)."""
    options = {str(i): (name, base_name(name)) for i, (name, _) in enumerate(towns)}
    return [int(k) for k in tied(hits(place_query(text), options))]


# ---- free text outside a question ----------------------------------------------------------------
MENU_WORDS: dict[str, tuple[str, ...]] = {
    "quiz": ("berufe-check", "berufecheck", "berufe check", "berufstest", "quiz", "test", "career check",
             "welcher beruf passt zu mir", "was passt zu mir"),
    "professions": ("berufe", "berufe entdecken", "berufsbilder", "alle berufe", "professions"),
    "vacancies": ("stellen", "stelle", "stellenangebote", "ausbildungsplatz", "ausbildungsplätze",
                  "ausbildungsstelle", "lehrstelle", "angebote", "jobs", "job", "vacancies", "offers"),
    "praktikum": ("praktikum", "praktika", "praktikumsplatz", "praktikumsplätze", "schülerpraktikum",
                  "internship"),
    "ausbildung": ("ausbildung", "ausbildungen", "lehre", "apprenticeship"),
    "events": ("termine", "termin", "messe", "messen", "ausbildungsmesse", "veranstaltungen", "events", "dates"),
    "companies": ("betriebe", "betrieb", "firmen", "firma", "unternehmen", "ausbildungsbetriebe", "companies"),
    "saved": ("merkliste", "gemerkt", "gemerkte angebote", "meine merkliste", "saved", "bookmarks"),
    "requests": ("anfragen", "meine anfragen", "requests"),
    "settings": ("einstellungen", "meine angaben", "wohnort ändern", "settings"),
    "privacy": ("datenschutz", "meine daten", "privacy"),
    "help": ("hilfe", "help", "was kannst du", "befehle", "wie geht das"),
    "menu": ("menü", "menu", "hauptmenü", "main menu", "übersicht"),
}
KINDS = ("praktikum", "ausbildung")


def menu_entry_of(text: str) -> str | None:
    """The menu entry the text names ("Termine", "merkliste", "Berufe-Check"), typos allowed."""
    return best(text, MENU_WORDS)


def profession_forms(name: str) -> list[str]:
    """How people write a profession: "Dachdecker:in" -> Dachdecker:in, Dachdecker, Dachdeckerin;
    "Elektroniker:in für Automatisierungstechnik" also Elektroniker; "Pflegefachfrau / Pflegefachmann"
    each alternative."""
    forms: list[str] = []
    for alternative in re.split(r"\s/\s", name):
        alternative = re.sub(r"\s*\(.*?\)", "", alternative).strip()
        plain = re.sub(r"(:|\*|_|/)in(nen)?\b", "", alternative)
        head = re.split(r"\s+(?:für|fuer|im|in der|in)\s+", plain, maxsplit=1)[0].strip()
        forms += [alternative, plain, head, head + "in"]
        if plain != head:
            forms.append(plain.replace(head, head + "in", 1))
    return list(dict.fromkeys(f for f in forms if f))


def professions_of(text: str, professions: Mapping[str, str]) -> list[str]:
    """The professions (slug -> name) the text names, typos allowed ("dachdecka"): one, or several
    that fit equally well ("Elektroniker"), best first."""
    options = {slug: profession_forms(name) for slug, name in professions.items()}
    return tied(hits(text, options))
