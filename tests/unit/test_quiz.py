"""The Berufe-Check flow: progress, back, pause and resume, result, retake."""
from __future__ import annotations

from tests.unit.fakes import QUIZ
from tests.unit.harness import Harness


async def _onboarded(cluster_plz: str = "02826") -> Harness:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:u16")
    await h.text(cluster_plz)
    await h.press("ob:place_confirm:yes")
    await h.press("ob:school:pupil")
    await h.press("ob:class:9")
    return h


async def test_full_quiz_gives_three_professions_a_chart_and_stores_the_result() -> None:
    h = await _onboarded()
    assert await h.press("qz:start") == ["quiz.intro", "quiz.question"]
    first = h.reply("quiz.question")
    assert (first.values["number"], first.values["total"]) == (1, len(QUIZ))
    assert first.values["bar"] == "▱" * 10
    for i in range(len(QUIZ) - 1):
        assert await h.press(f"qz:a:{i}:0") == ["quiz.question"]
        assert h.reply("quiz.question").values["number"] == i + 2
    assert await h.press(f"qz:a:{len(QUIZ) - 1}:0") == ["quiz.chart", "quiz.result"]
    chart = h.reply("quiz.chart").chart
    assert chart is not None and set(chart.values) == set("RIASEC")
    result = h.reply("quiz.result")
    assert len(result.values["matches"]) == 3
    assert all(m["reasons"] for m in result.values["matches"])
    shown = [b.data for row in result.buttons for b in row if b.data.startswith("p:show:")]
    attempt = h.store.quiz[h.user_id][-1]
    assert attempt.finished_at is not None and attempt.top == [s.removeprefix("p:show:") for s in shown]
    assert len(attempt.answers) == len(QUIZ)


async def test_back_goes_to_the_previous_question_and_keeps_answers() -> None:
    h = await _onboarded()
    await h.press("qz:start")
    await h.press("qz:a:0:1")
    await h.press("qz:a:1:2")
    assert await h.press("qz:back:2") == ["quiz.question"]
    assert h.reply("quiz.question").values["number"] == 2
    await h.press("qz:a:1:0")  # change the answer
    assert h.store.quiz[h.user_id][-1].answers[QUIZ[1].slug] == 0
    assert h.reply("quiz.question").values["number"] == 3


async def test_pause_and_resume_later_continue_at_the_first_open_question() -> None:
    h = await _onboarded()
    await h.press("qz:start")
    for i in range(4):
        await h.press(f"qz:a:{i}:0")
    assert await h.press("qz:later") == ["quiz.paused", "menu.main"]
    h.clock.advance(days=3)
    assert await h.command("berufecheck") == ["quiz.resume_offer"]
    assert h.reply("quiz.resume_offer").values["answered"] == 4
    assert await h.press("qz:resume") == ["quiz.question"]
    assert h.reply("quiz.question").values["number"] == 5


async def test_restart_begins_a_new_attempt() -> None:
    h = await _onboarded()
    await h.press("qz:start")
    await h.press("qz:a:0:0")
    await h.press("qz:later")
    await h.press("qz:start")
    assert await h.press("qz:restart") == ["quiz.intro", "quiz.question"]
    assert h.reply("quiz.question").values["number"] == 1


async def test_stale_answer_button_is_refused() -> None:
    h = await _onboarded()
    await h.press("qz:start")
    await h.press("qz:a:0:0")
    assert await h.forge("qz:a:0:1") == ["fallback.stale_button", "quiz.question"]
    assert await h.forge("qz:a:1:9") == ["fallback.stale_button", "quiz.question"]


async def test_menu_entry_shows_last_result_and_offers_a_retake() -> None:
    h = await _onboarded()
    await h.press("qz:start")
    for i in range(len(QUIZ)):
        await h.press(f"qz:a:{i}:2")
    assert await h.command("berufecheck") == ["quiz.chart", "quiz.result"]
    assert h.reply("quiz.result").values["again"] is True
    assert await h.press("qz:again") == ["quiz.intro", "quiz.question"]


async def test_quiz_answers_are_in_the_export_and_erased_with_the_profile() -> None:
    import json

    h = await _onboarded()
    await h.press("qz:start")
    await h.press("qz:a:0:1")
    await h.command("meinedaten")
    document = h.reply("privacy.export").document
    assert document is not None
    export = json.loads(document.content)
    assert export["quiz"][0]["answers"] == {QUIZ[0].slug: 1}
    user_id = h.user_id
    await h.command("loeschen")
    await h.press("pv:delete:yes")
    assert user_id not in h.store.quiz


async def test_quiz_can_be_the_very_first_thing_a_user_does() -> None:
    h = Harness()
    assert await h.command("berufecheck") == ["quiz.intro", "quiz.question"]
    assert await h.press("qz:a:0:0") == ["quiz.question"]
