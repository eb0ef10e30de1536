"""Issue 13, transparency: /datenschutz says whether a model answers and where questions go (EU AI Act
Art. 50, GDPR); /meinedaten holds the kept questions; with a model, a question is kept scrubbed for
the answer worker and the person is told to wait a moment."""
from __future__ import annotations

import json

from flows.domain.question import ModelState
from prompts import default_catalog
from tests.unit.harness import Harness
from tests.unit.test_questions import _knowledge


async def _info(model_host: str | None, role: str = "ob:role:teen") -> str:
    h = Harness(model_host=model_host)
    await h.command("start")
    await h.press(role)
    await h.command("datenschutz")
    info = h.reply("privacy.info")
    return default_catalog().render("privacy.info", info.values, "de", formal=role != "ob:role:teen")


async def test_datenschutz_names_openai_a_local_server_or_no_model_at_all() -> None:
    hosted = await _info("api.openai.com")
    assert "KI-Antwort" in hosted and "OpenAI (api.openai.com, USA)" in hosted and "eigenen KI-Server" in hosted
    local = await _info("127.0.0.1:8080", role="ob:role:parent")
    assert "den KI-Server 127.0.0.1:8080" in local and "OpenAI" not in local and "Ihre Frage" in local
    offline = await _info(None)
    assert "keine KI" in offline and "OpenAI" not in offline
    assert all("7 Tage" in text and "180 Tage" in text for text in (hosted, local, offline))


async def test_with_a_model_a_question_is_kept_scrubbed_and_the_person_waits_a_moment() -> None:
    h = Harness(model_host="api.openai.com")
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:16_17")
    await h.press("ob:place:skip")
    await h.press("ob:school:abitur")
    _knowledge(h.store)
    assert await h.text("Ich heiße Mia Berger. Wie viel Geld verdient man im ersten Lehrjahr?") == \
        ["questions.thinking"]
    [question] = h.store.questions.values()
    assert question.model is ModelState.PENDING and "Mia" not in question.text and "Berger" not in question.text
    assert await h.text("Was ist das Wetter morgen in Paris?") != ["questions.thinking"]  # nothing found: no model
    await h.command("meinedaten")
    document = h.reply("privacy.export").document
    assert document is not None
    [exported, _] = json.loads(document.content)["questions"]
    assert set(exported) == {"text", "asked_at", "team", "team_asked_at", "answer", "answered_at"}
    assert exported["text"] == question.text
