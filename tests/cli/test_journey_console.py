"""The teen journey through `lotse chat` from a pipe: labels typed instead of buttons pressed."""
from __future__ import annotations

from tests.cli.conftest import Lotse
from tests.unit.fakes import QUIZ


def test_start_quiz_offers_and_event_rsvp_through_the_terminal(lotse: Lotse) -> None:
    assert lotse("db", "upgrade").returncode == 0
    assert lotse("content", "load").returncode == 0
    answers = [q.options[0].label["de"] for q in QUIZ]
    script = ["/start", "Jugendliche:r", "unter 16", "Löbau", "Ja", "Ich gehe noch zur Schule", "Klasse 9",
              "Berufe-Check", *answers, "Stellen & Praktika", "Interessiert mich", "Weiter", "Tom",
              "0171 2345678", "Anruf", "nachmittags", "Überspringen", "Einverstanden – Eltern fragen",
              "/termine", "1", "Erinnere mich", "In den Kalender"]
    done = lotse("chat", input="\n".join(script) + "\n", timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    order = ["Wer bist du?", f"Frage 1 von {len(QUIZ)}", f"Frage {len(QUIZ)} von {len(QUIZ)}",
             "Praktisch-technisch", "Geschafft!", "(1/", "Bevor etwas weitergegeben wird", "?start=pc-",
             "Messen & Termine für dich", "Erinnere mich",
             "keine Anmeldung", "BEGIN:VCALENDAR"]
    positions = [out.find(marker) for marker in order]
    assert -1 not in positions, [m for m, p in zip(order, positions) if p == -1]
    assert positions == sorted(positions), list(zip(order, positions))
    assert "Traceback" not in done.stderr
