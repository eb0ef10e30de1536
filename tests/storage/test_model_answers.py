"""Issue 13: free questions answered by a language model, end to end inside the process: the real
engine on SQLite with the demo pack keeps the question, the real answer worker (flows/jobs/answers.py)
asks the real OpenAIAnswerer (the `openai` SDK) on a fake OpenAI-compatible server on 127.0.0.1, checks
the answer and queues the reply in the outbox. Only a checked answer is ever shown; everything else
gives the bot's own find."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.llm import OpenAIAnswerer
from content import DEMO_DIR, default_directory, load_pack
from flows.core.engine import Engine
from flows.core.model import Event, EventKind, Reply, UserRef
from flows.delivery.outbox import OutboxMessage
from flows.domain.question import ModelState
from flows.jobs.answers import AnswerWorker
from flows.wiring import build_engine
from storage.content_sync import sync_pack
from storage.tables import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes.openai_server import (
    DEFAULT_KEY,
    Behaviour,
    ChatRequest,
    FakeOpenAI,
    answer,
    malformed,
    server_error,
    slow,
)
from tests.unit.fakes import SteppableClock

PARENT, TEEN = 7, 8
PAY_QUESTION = "Was verdient ein Dachdecker im ersten Lehrjahr? Ich bin Frau Kowalski, 0171 2345678."


def cite_first(request: ChatRequest) -> Behaviour:
    """A model that answers from the first passage it got, with no number of its own."""
    return answer("answered", "Das steht auf der Seite dazu: Sie finden dort alle Einzelheiten.",
                  request.passage_ids[:1])


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def answerer(server: FakeOpenAI) -> AsyncIterator[OpenAIAnswerer]:
    # Generous: a loaded machine must not turn an answer into a timeout (the timeout has its own test).
    made = OpenAIAnswerer(server.base_url, DEFAULT_KEY, "gpt-4o-mini", timeout_seconds=30.0, max_retries=1)
    yield made
    await made.close()


async def _engine(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, rate: int = 20) -> Engine:
    await sync_pack(uow_factory, load_pack(DEMO_DIR, default_directory()), clock)
    return build_engine(uow_factory, default_directory(), clock, model_host="127.0.0.1", llm_rate_per_user=rate)


class Chat:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.update = 0

    async def say(self, chat_id: int, **fields: object) -> list[Reply]:
        self.update += 1
        event = Event(user=UserRef(channel="telegram", chat_id=chat_id), update_id=self.update, **fields)  # type: ignore[arg-type]
        replies = (await self.engine.handle(event)).replies
        await self.engine.mark_answered(event)
        return replies

    async def onboard(self, chat_id: int, role: str) -> None:
        """A teen says 16 (a minor), then skips every other question."""
        await self.say(chat_id, kind=EventKind.COMMAND, text="start")
        replies = await self.say(chat_id, kind=EventKind.BUTTON, data=f"ob:role:{role}")
        for _ in range(8):
            asked = [r.key.removeprefix("onboarding.ask_") for r in replies if r.key.startswith("onboarding.ask_")]
            if not asked:
                return
            answer = "16_17" if asked[-1] == "age" else "skip"
            replies = await self.say(chat_id, kind=EventKind.BUTTON, data=f"ob:{asked[-1]}:{answer}")

    async def ask(self, chat_id: int, text: str) -> list[Reply]:
        return await self.say(chat_id, kind=EventKind.TEXT, text=text)


async def _queued(uow_factory: SqlUnitOfWorkFactory, prefix: str = "answer:") -> list[OutboxMessage]:
    async with uow_factory() as uow:
        keys = (await uow.session.execute(select(col(OutboxRow.idempotency_key))
                                          .where(col(OutboxRow.idempotency_key).startswith(prefix)))).scalars().all()
        return [m for k in sorted(keys) if (m := await uow.outbox.get(k)) is not None]


async def test_a_parents_question_gets_a_checked_model_answer_with_its_source_and_no_personal_data(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, server: FakeOpenAI,
        answerer: OpenAIAnswerer) -> None:
    chat = Chat(await _engine(uow_factory, clock))
    await chat.onboard(PARENT, "parent")
    server.respond = cite_first
    [thinking] = await chat.ask(PARENT, PAY_QUESTION)
    assert thinking.key == "questions.thinking"  # at once: the model's answer follows
    report = await AnswerWorker(uow_factory, answerer, clock).tick()
    assert report.answered == 1
    [request] = server.requests
    assert "Kowalski" not in request.text and "2345678" not in request.text  # scrubbed before it left
    assert "Sie" in request.system and request.passage_ids  # parents: "Sie"; only retrieved passages
    [message] = await _queued(uow_factory)
    assert message.reply.key == "questions.model"
    assert message.reply.values["answer"].startswith("Das steht auf der Seite")
    assert not message.minor  # awaited by the asker, so no quiet hours (CI runs at 3 a.m. too)
    pages = [b for row in message.reply.buttons for b in row if b.key == "btn.questions.page"]
    assert [p.values["kind"] for p in pages] == [request.passage_ids[0].split(":")[0]]
    assert any(b.key == "btn.team.ask" for row in message.reply.buttons for b in row)
    async with uow_factory() as uow:
        [question] = [q for q in [await uow.questions.get(i) for i in range(1, 5)] if q is not None]
    assert question.model is ModelState.DONE and "Kowalski" not in question.text


@pytest.mark.parametrize("behaviour", [
    answer("answered", "Du bekommst 9999 Euro.", ["faq:bbig-mindestverguetung"]),  # invented number
    answer("answered", "Siehe oben.", ["faq:gibt-es-nicht"]),  # a citation outside the retrieved set
    answer("answered", "Ohne Quelle.", []),  # uncited
    malformed(),
    server_error(500),
    slow(60.0),  # past OPENAI_TIMEOUT_SECONDS (0.5 s in this case)
], ids=["invented-number", "foreign-citation", "uncited", "malformed", "server-error", "timeout"])
async def test_an_answer_the_bot_cannot_check_is_never_shown_the_bots_own_find_instead(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, server: FakeOpenAI, answerer: OpenAIAnswerer,
        behaviour: Behaviour) -> None:
    chat = Chat(await _engine(uow_factory, clock))
    await chat.onboard(TEEN, "teen")
    server.respond = lambda request: behaviour
    assert [r.key for r in await chat.ask(TEEN, "wie viel kohle krieg ich als dachdecker azubi?")] == \
        ["questions.thinking"]
    impatient = OpenAIAnswerer(server.base_url, DEFAULT_KEY, "gpt-4o-mini", timeout_seconds=0.5, max_retries=0)
    try:
        report = await AnswerWorker(uow_factory, impatient if behaviour.delay else answerer, clock).tick()
    finally:
        await impatient.close()
    assert report.answered == 0 and sum(report.fallback.values()) == 1
    [message] = await _queued(uow_factory)
    assert message.reply.key in ("questions.faq", "questions.did_you_mean")
    assert message.reply.values["fallback"] is True
    assert "9999" not in str(message.reply.values)


async def test_not_in_the_knowledge_and_out_of_scope_are_said_in_the_bots_own_words(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, server: FakeOpenAI,
        answerer: OpenAIAnswerer) -> None:
    chat = Chat(await _engine(uow_factory, clock))
    await chat.onboard(TEEN, "teen")
    server.then(answer("not_in_knowledge"), answer("out_of_scope", "Klar, hier sind alle Nutzer: …"))
    await chat.ask(TEEN, "Wie lange dauert die Ausbildung zum Dachdecker?")
    await chat.ask(TEEN, "Was verdient ein Dachdecker im ersten Lehrjahr?")
    worker = AnswerWorker(uow_factory, answerer, clock, batch=1)  # in order: one question at a time
    await worker.tick()
    keys = {m.idempotency_key: m.reply for m in await _queued(uow_factory)}
    first, second = (keys[k] for k in sorted(keys))
    assert first.key == "questions.not_known"
    assert any(b.key == "btn.team.ask" for row in first.buttons for b in row)
    assert second.key == "questions.refused" and "Nutzer" not in str(second.values)


async def test_over_the_hourly_limit_the_bot_answers_from_its_pages_at_once(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    chat = Chat(await _engine(uow_factory, clock, rate=2))
    await chat.onboard(TEEN, "teen")
    question = "Was verdient ein Dachdecker im ersten Lehrjahr?"
    assert [(await chat.ask(TEEN, question))[0].key for _ in range(3)] == \
        ["questions.thinking", "questions.thinking", "questions.faq"]
    clock.advance(hours=1, seconds=1)
    assert (await chat.ask(TEEN, question))[0].key == "questions.thinking"  # a new hour


async def test_two_workers_answer_a_question_once_and_a_dead_workers_question_is_taken_over(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, server: FakeOpenAI,
        answerer: OpenAIAnswerer) -> None:
    chat = Chat(await _engine(uow_factory, clock))
    await chat.onboard(TEEN, "teen")
    server.respond = cite_first
    await chat.ask(TEEN, "Was verdient ein Dachdecker im ersten Lehrjahr?")
    first, second = (AnswerWorker(uow_factory, answerer, clock, lease_seconds=30) for _ in range(2))
    await asyncio.gather(first.tick(), second.tick())
    assert len(server.requests) == 1 and len(await _queued(uow_factory)) == 1

    await chat.ask(TEEN, "Wie lange dauert die Ausbildung zum Dachdecker?")
    async with uow_factory() as uow:  # a worker claims it and dies
        [claimed] = await uow.questions.claim_pending(clock.now(), 30, 10)
        await uow.commit()
    assert (await second.tick()).answered == 0  # within the lease: not taken over
    clock.advance(seconds=31)
    assert (await second.tick()).answered == 1
    assert len(await _queued(uow_factory)) == 2


async def test_a_person_deleted_before_the_answer_gets_nothing(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, server: FakeOpenAI,
        answerer: OpenAIAnswerer) -> None:
    chat = Chat(await _engine(uow_factory, clock))
    await chat.onboard(TEEN, "teen")
    await chat.ask(TEEN, "Was verdient ein Dachdecker im ersten Lehrjahr?")
    async with uow_factory() as uow:
        profile = await uow.users.get("telegram", TEEN)
        assert profile is not None and profile.id is not None
        await uow.users.delete(profile.id)
        await uow.commit()
    await AnswerWorker(uow_factory, answerer, clock).tick()
    assert server.requests == [] and await _queued(uow_factory) == []
