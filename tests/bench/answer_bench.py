"""Free questions answered by a language model: how long from the question to the queued answer, with
the fake OpenAI-compatible server on 127.0.0.1 (tests/fakes/openai_server.py) answering at once (our
own cost: the turn, the search again, the real `openai` client over HTTP, the check, the outbox) and
with a model that takes MODEL_DELAY_S, against the baseline of the same run: the bot's own FAQ answer
without a model. Also many questions at once: one worker answers BATCH at a time.

    .venv/bin/python -m tests.bench.answer_bench
"""
from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.llm import OpenAIAnswerer
from content import DEMO_DIR, default_directory, load_pack
from flows.core.engine import Engine
from flows.core.model import Event, EventKind, UserRef
from flows.jobs.answers import BATCH, AnswerWorker
from flows.wiring import build_engine
from storage.content_sync import sync_pack
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.bench.results import OUT, percentiles, run_and_save
from tests.eval.questions import retrieval_questions
from tests.fakes.openai_server import DEFAULT_KEY, Behaviour, ChatRequest, FakeOpenAI, answer, slow
from tests.unit.fakes import SteppableClock

ROUNDS = 2  # every evaluation question this often, per setting
MODEL_DELAY_S = 0.3  # a fast hosted or local model
AT_ONCE = 40  # questions from this many people in the same second


def _cite_first(request: ChatRequest) -> Behaviour:
    return answer("answered", "Auf der Seite dazu steht alles Wichtige.", request.passage_ids[:1])


class _Chats:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.update = 0

    async def say(self, chat_id: int, **fields: Any) -> None:
        self.update += 1
        event = Event(user=UserRef(channel="telegram", chat_id=chat_id), update_id=self.update, **fields)
        await self.engine.handle(event)
        await self.engine.mark_answered(event)

    async def onboard(self, chat_id: int) -> None:
        await self.say(chat_id, kind=EventKind.COMMAND, text="start")
        await self.say(chat_id, kind=EventKind.BUTTON, data="ob:role:parent")
        await self.say(chat_id, kind=EventKind.BUTTON, data="ob:place:skip")


async def _latencies(chats: _Chats, worker: AnswerWorker | None, questions: list[str], chat_id: int) -> list[float]:
    """Question by question: from the update to the answer in the outbox."""
    took = []
    for text in questions:
        started = time.perf_counter()
        await chats.say(chat_id, kind=EventKind.TEXT, text=text)
        if worker is not None:
            await worker.tick()
        took.append(time.perf_counter() - started)
    return took


async def _at_once(chats: _Chats, worker: AnswerWorker, questions: list[str]) -> dict[str, Any]:
    """AT_ONCE people ask together; the worker answers BATCH at a time."""
    for chat_id in range(2000, 2000 + AT_ONCE):
        await chats.onboard(chat_id)
    started = time.perf_counter()
    for n, chat_id in enumerate(range(2000, 2000 + AT_ONCE)):
        await chats.say(chat_id, kind=EventKind.TEXT, text=questions[n % len(questions)])
    report = await worker.tick()
    total = time.perf_counter() - started
    return {"questions": AT_ONCE, "answered": report.answered, "total_s": round(total, 2),
            "answers_per_s": round(AT_ONCE / total, 1)}


async def run_async() -> dict[str, Any]:
    questions = [q.question for q in retrieval_questions() if not q.refuse and q.lang == "de"] * ROUNDS
    clock = SteppableClock()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'answers.db'}"
        await asyncio.to_thread(upgrade, url)
        db = create_engine(url)
        uow_factory = SqlUnitOfWorkFactory(session_factory(db), clock)
        await sync_pack(uow_factory, load_pack(DEMO_DIR, default_directory()), clock)
        offline = _Chats(build_engine(uow_factory, default_directory(), clock))
        model = _Chats(build_engine(uow_factory, default_directory(), clock, model_host="127.0.0.1",
                                    llm_rate_per_user=10_000))
        model.update = 1_000_000  # update ids of the two engines never meet
        async with FakeOpenAI() as server:
            answerer = OpenAIAnswerer(server.base_url, DEFAULT_KEY, "gpt-4o-mini", timeout_seconds=30)
            worker = AnswerWorker(uow_factory, answerer, clock)
            await offline.onboard(1)
            await model.onboard(2)
            await model.onboard(3)
            baseline = await _latencies(offline, None, questions, 1)
            server.respond = _cite_first
            instant = await _latencies(model, worker, questions, 2)
            server.respond = lambda request: slow(MODEL_DELAY_S, _cite_first(request))
            delayed = await _latencies(model, worker, questions[:len(questions) // ROUNDS], 3)
            together = await _at_once(model, worker, questions)
            requests = len(server.requests)
            await answerer.close()
        await db.dispose()
    base, ours, slowed = percentiles(baseline), percentiles(instant), percentiles(delayed)
    return {"questions": len(questions), "model_requests": requests, "baseline_faq": base,
            "model_instant": ours, "model_delayed": slowed, "model_delay_ms": MODEL_DELAY_S * 1000,
            "ratio_p50_instant_vs_faq": round(ours["p50_ms"] / base["p50_ms"], 2),
            "overhead_p50_ms_over_model": round(slowed["p50_ms"] - MODEL_DELAY_S * 1000, 1),
            "at_once": together, "batch": BATCH}


def run() -> dict[str, Any]:
    return asyncio.run(run_async())


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['questions']} questions of tests/eval/questions.yaml, one after another; "
          f"from the update to the answer in the outbox")
    print("| path | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for label, key in (("baseline: the bot's own FAQ answer, no model", "baseline_faq"),
                       ("model answer, fake server answering at once", "model_instant"),
                       (f"model answer, model taking {result['model_delay_ms']:.0f} ms", "model_delayed")):
        figures = result[key]
        print(f"| {label} | {figures['p50_ms']} | {figures['p95_ms']} | {figures['max_ms']} |")
    together = result["at_once"]
    print(f"ratio p50 model (at once) / FAQ: {result['ratio_p50_instant_vs_faq']}; our own time on top of a "
          f"{result['model_delay_ms']:.0f} ms model (p50): {result['overhead_p50_ms_over_model']} ms")
    print(f"{together['questions']} questions at once, a model of {result['model_delay_ms']:.0f} ms, {result['batch']} "
          f"answered at a time by one worker: all answered in {together['total_s']} s "
          f"({together['answers_per_s']} answers/s)")


def main(out: Path = OUT) -> dict[str, Any]:
    return run_and_save("answers", run, print_table, out)


if __name__ == "__main__":
    main()
