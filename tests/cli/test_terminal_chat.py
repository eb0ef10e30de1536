"""`lotse chat` driven through a pipe, like a script would."""
from __future__ import annotations

from storage.migrate import head_revision
from tests.cli.conftest import Lotse

SCRIPT = "\n".join([
    "1",              # Jugendliche:r
    "unter 16",       # a label works as well as its number
    "Löbau",          # town name
    "1",              # yes, that's it
    "1",              # still at school
    "9",              # at "In welcher Klasse?" a number is the class (Klasse 9), not the 9th option
    "/einstellungen",
    "6",              # Fertig
    "<b>Tom & Jerry",  # free text in the menu
    "/gibtsnicht",
    "/datenschutz",
]) + "\n"


def test_onboarding_through_a_pipe_and_clean_exit_at_end_of_input(lotse: Lotse) -> None:
    assert lotse("db", "upgrade").returncode == 0
    assert lotse("content", "load").returncode == 0
    done = lotse("chat", input=SCRIPT)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    order = ["Wer bist du?", "Wie alt bist du?", "Wo wohnst du?", "Ist das Löbau (02708",
             "Die Zukunftsmacher", "In welcher Klasse", "Danke, das war's", "Deine Angaben",
             "Schule: Schüler:in, Klasse 9", "Gespeichert", "Dazu weiß ich leider noch nichts", "/gibtsnicht kenne ich nicht",
             "Datenschutz – kurz und ehrlich"]
    positions = [out.find(marker) for marker in order]
    assert -1 not in positions, [m for m, p in zip(order, positions) if p == -1]
    assert positions == sorted(positions)
    assert "<b>" not in out  # HTML is turned into plain text in the terminal
    assert "Traceback" not in done.stderr


def test_a_restarted_chat_continues_at_the_open_question(lotse: Lotse) -> None:
    lotse("db", "upgrade")
    lotse("content", "load")
    first = lotse("chat", input="2\n")  # Elternteil, then the pipe ends
    assert "Wo wohnen Sie?" in first.stdout
    second = lotse("chat", input="02826\n1\n")
    assert second.stdout.lstrip().startswith("Wo wohnen Sie?")  # shown again, not a new greeting
    assert "Ist das Görlitz (02826" in second.stdout and "Vielen Dank" in second.stdout


def test_empty_input_exits_cleanly(lotse: Lotse) -> None:
    lotse("db", "upgrade")
    assert lotse("chat", input="").returncode == 0


def test_unmigrated_database_is_refused_with_a_hint(lotse: Lotse, empty_database_url: str) -> None:
    done = lotse("chat", input="", env={"DATABASE_URL": empty_database_url})
    assert done.returncode == 2
    assert "lotse db upgrade" in done.stderr and "Traceback" not in done.stderr


def test_db_upgrade_migrates_an_empty_database_and_then_the_chat_runs(lotse: Lotse, empty_database_url: str) -> None:
    env = {"DATABASE_URL": empty_database_url}
    assert lotse("db", "current", env=env).stdout.startswith("database at None,")
    done = lotse("db", "upgrade", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"database at revision {head_revision()}"
    assert lotse("db", "upgrade", env=env).returncode == 0  # again: nothing to do
    assert lotse("db", "current", env=env).stdout.startswith(f"database at {head_revision()},")
    assert lotse("content", "load", env=env).returncode == 0
    chat = lotse("chat", input="2\n", env=env)
    assert chat.returncode == 0 and "Wo wohnen Sie?" in chat.stdout, chat.stderr
