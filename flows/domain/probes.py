"""Questions that try to get at what the bot must not give or do (OWASP LLM01/LLM02/LLM06/LLM07):
other people's data, the instructions or keys, actions for or against others, rules switched off, or
help with something harmful. They are refused before anything is searched or sent to a model; the
checks on a model's answer (flows/domain/answers.py) are the second line."""
from __future__ import annotations

import re

from flows.domain.recognise import fold

PERSONAL = r"(telefon|handy|nummer|e ?mail|mail adress|adresse|namen|anschrift|kontaktdaten|daten)"
OTHERS = r"(andere[nrs]?|aller|alle|der person|die person|nutzer|user|jugendliche[n]?|schueler|azubis|leute|kinder)"
PATTERNS = [re.compile(p) for p in (
    r"\b(ignorier|ignore|vergiss|forget|disregard)\w*\b.*\b(anweisung|instruction|regel|rule|prompt|vorgab)",
    r"system ?prompt|\bprompt\b|api ?key|\bapi schluessel|\btoken\b|\bpasswort|\bpassword",
    r"\b(du bist jetzt|you are now|ab jetzt bist du|\bdan\b|jailbreak|entwicklermodus|developer mode|\badmin\b)",
    r"\bsystem\s*:|</?(passages|system|abschnitt)\b",
    rf"\b{OTHERS}\b.*\b{PERSONAL}\w*",
    rf"\b{PERSONAL}\w*\b.*\b(der|die|von) (anderen|person|nutzer|jugendlichen|leuten)\b",
    r"\b(schick|sende|send|verschick)\w*\b.*\b(alle|allen|jede[nm]?)\b.*\b(nutzer|user|leute|jugendlich\w*)",
    r"\b(loesch|losch|delete|sperr)\w*\b.*\b(nutzer|user|profil|konto)\b.*\d",
    r"\bbestaetig\w*\b.*\b(zustimmung|einwilligung)",
    r"\b(melde|trag)\w* mich bei allen",
    r"\b(hack|einbrech|einbruch|phishing|malware|virus)",
    r"\b(rassist|sexist|nazi|witz ueber)",
    r"\bweniger als die mindest|\bohne dass es (jemand|einer) merkt",
    r"\b(antworte|answer) (nur|only) mit",
)]


def is_probe(text: str) -> bool:
    """The question asks for what the bot must not give or do (see the module's docstring)."""
    folded = " ".join(fold(text).split())
    raw = text.lower()
    return any(p.search(folded) or p.search(raw) for p in PATTERNS)
