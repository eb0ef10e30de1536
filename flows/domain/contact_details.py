"""What a person types into the hand-over form, read carefully: a name, a phone number, an e-mail address.

Phone numbers through `phonenumbers` (Google's libphonenumber metadata; German numbers without a
country code), stored in E.164 ("+491712345678"); mobile and landline numbers only. E-mail addresses
through `email-validator`, syntax only (no network look-up), stored normalised.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType

DEFAULT_REGION = "DE"
PHONE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
MAX_NAME = 40

# "ich heiße Max", "Ich bin die Lea", "mein Name ist Sandra Müller", "Hallo, hier ist Tom!"
_GREETING = r"(?:(?:hallo|hi|hey|moin|servus|guten\s+tag)\b[\s,!.]*)?"
_INTRO = (r"(?:ich\s+hei(?:ß|ss)e|ich\s+bin(?:\s+(?:der|die))?|mein\s+(?:vor)?name\s+ist|(?:vor)?name\s*:|"
          r"hier\s+ist|ich\s+bins|man\s+nennt\s+mich|nenn(?:t)?\s+mich)\b")
_INTRO_RE = re.compile(rf"^\s*{_GREETING}(?:{_INTRO})?\s*", re.IGNORECASE)
_WORD_RE = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*$")  # letters, inner hyphens and apostrophes
_PARTICLES = {"von", "van", "de", "der", "den", "zu", "vom", "zum", "ten", "da", "di", "del", "la", "le"}
# Answers that are not a name (said instead of one); compared in lower case.
_NOT_NAMES = {
    "nein", "ja", "jo", "egal", "keine", "kein", "ahnung", "weiß", "weiss", "nicht", "nö", "nee", "hallo", "hi", "hey",
    "moin", "test", "name", "vorname", "nachname", "ich", "du", "sie", "er", "es", "wir", "ihr", "was", "wie", "warum",
    "wieso", "wer", "ok", "okay", "danke", "bitte", "abbrechen", "zurück", "stop", "stopp", "hilfe", "anonym",
    "niemand", "keiner", "geheim", "mama", "papa", "mutter", "vater", "frau", "herr", "lol", "xd", "haha",
    "telefon", "handy", "nummer", "mail", "email", "e-mail", "interessiert", "mich", "und", "oder",
}
_SALUTATIONS = {"frau", "herr"}  # "Frau Müller" is a name for an adult's full name


def parse_name(text: str, full: bool = False) -> str | None:
    """A first name (`full`: a person's name, e.g. "Sandra Müller") taken out of what was typed, or None
    if it is not a name. "ich heiße max" -> "Max"; "Ich bin die Lea" -> "Lea"; "max müller" -> "Max"
    (only the first name is asked for); all lower or all upper case is capitalised."""
    rest = _INTRO_RE.sub("", text.strip(), count=1).strip().strip(".!?,;:)(\"'“”„ ")
    words = rest.split()
    if not words or len(words) > (4 if full else 3):  # a sentence, not a name
        return None
    if not all(_WORD_RE.match(w) for w in words):
        return None
    lowered = [w.lower() for w in words]
    if full:
        names = [w for w, low in zip(words, lowered, strict=True) if low not in _PARTICLES and low not in _SALUTATIONS]
        if not names or any(w.lower() in _NOT_NAMES - _SALUTATIONS for w in names):
            return None
        if len(names[-1]) < 2:
            return None
        result = " ".join(_capitalised(w) if low not in _PARTICLES else low for w, low in zip(words, lowered, strict=True))
    else:
        first = words[0]
        if lowered[0] in _NOT_NAMES or len(first) < 2:
            return None
        result = _capitalised(first)
    return result if len(result) <= MAX_NAME else None


def _capitalised(word: str) -> str:
    """"max" / "MAX" -> "Max", "anna-lena" -> "Anna-Lena"; a mixed-case spelling ("McKenzie") stays."""
    if word != word.lower() and word != word.upper():
        return word
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), word)


@dataclass(frozen=True)
class Phone:
    e164: str  # "+491712345678"
    mobile: bool  # can take an SMS or a messenger message


def parse_phone(text: str, region: str = DEFAULT_REGION) -> Phone | None:
    """A valid mobile or landline number (German without a country code), or None."""
    cleaned = text.strip()
    if not cleaned or not re.fullmatch(r"[+0-9 ()/.\-]{5,30}", cleaned):
        return None
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    kind = phonenumbers.number_type(number)
    if kind not in PHONE_TYPES:  # no premium-rate, toll-free or service numbers
        return None
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind in MOBILE_TYPES)


def shared_phone(number: str) -> Phone | None:
    """A number shared with Telegram's contact button (digits, with or without "+")."""
    digits = re.sub(r"[^0-9]", "", number)
    if not 8 <= len(digits) <= 15:
        return None
    return parse_phone("+" + digits) or Phone("+" + digits, True)  # the messenger checked it: a mobile


def parse_email(text: str) -> str | None:
    """A syntactically valid e-mail address, normalised (no look-up on the network), or None."""
    candidate = text.strip()
    if not candidate or len(candidate) > 254 or any(c.isspace() for c in candidate):
        return None
    try:
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def is_mobile(e164: str) -> bool:
    """Whether a stored number can take an SMS or a messenger message."""
    phone = parse_phone(e164)
    return phone.mobile if phone else False
