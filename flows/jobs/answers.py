"""The answer worker: free questions kept for a language model (flows/conversations/questions.py) are
answered here, after the conversation's turn, so no database transaction waits for the model.

For each pending question: claim it (a lease, so two workers never answer it twice and a crashed
worker's question is taken over when the lease ends), search the pages again, ask the model with the
passages found (the Answerer port; bot/llm.py), check its answer in code (flows.domain.answers.check),
and queue the reply in the outbox under a key per question (a retry never sends two answers). A model
that does not answer (timeout, 429, 5xx, malformed JSON) or an answer that fails the check gives the
bot's own find instead (the best FAQ entry or pages), saying so. Nothing unchecked is ever shown.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from flows.core.model import Reply
from flows.core.ports import Answerer, Clock, UnitOfWork, UnitOfWorkFactory
from flows.core.rerun import Rerun
from flows.delivery.answer_replies import (
    faq_reply,
    hit_buttons,
    model_reply,
    not_known_reply,
    out_of_scope_reply,
    pages_reply,
)
from flows.delivery.outbox import OutboxMessage
from flows.domain.answers import (
    AnswerRequest,
    AnswerStatus,
    AnswerUnavailable,
    CheckedAnswer,
    Passage,
    check,
    refusal,
)
from flows.domain.knowledge import KINDS, KnowledgeHit
from flows.domain.question import MODEL_ANSWER_EXPIRES, ModelState, Question

log = logging.getLogger(__name__)

HITS = 5  # passages the model sees
BATCH = 4  # questions answered at once by one worker


@dataclass
class AnswerReport:
    answered: int = 0  # checked model answers sent
    not_known: int = 0  # the model found no answer in the passages
    out_of_scope: int = 0
    fallback: dict[str, int] = field(default_factory=dict)  # the bot's own find, by why

    def __bool__(self) -> bool:
        return bool(self.answered or self.not_known or self.out_of_scope or self.fallback)


@dataclass(frozen=True)
class _Outcome:
    checked: CheckedAnswer | None
    why_not: str | None = None  # why the bot's own find is sent instead


class AnswerWorker:
    def __init__(self, uow_factory: UnitOfWorkFactory, answerer: Answerer, clock: Clock,
                 lease_seconds: float = 60.0, batch: int = BATCH) -> None:
        """lease_seconds: how long a claimed question is this worker's (more than the model's whole
        time, retries included: OPENAI_TIMEOUT_SECONDS)."""
        self._uow_factory = uow_factory
        self._answerer = answerer
        self._clock = clock
        self.lease_seconds = lease_seconds
        self.batch = batch
        self._runner = Rerun(self._logged_tick, "answers")

    def kick(self) -> None:
        """Answer what is pending, in the background (a commit that kept a question calls this)."""
        self._runner.kick()

    async def close(self, timeout: float = 5.0) -> None:
        await self._runner.close(timeout)

    async def _logged_tick(self) -> None:
        try:
            report = await self.tick()
        except Exception:
            log.exception("answer tick failed")
            return
        if report:
            log.info("answers: %s", report)

    async def tick(self) -> AnswerReport:
        """Answers pending questions until none is left (a bounded number of rounds)."""
        report = AnswerReport()
        for _ in range(1000):
            async with self._uow_factory() as uow:
                claimed = await uow.questions.claim_pending(self._clock.now(), self.lease_seconds, self.batch)
                await uow.commit()
            if not claimed:
                break
            await asyncio.gather(*(self._answer(q, report) for q in claimed))
        return report

    async def _answer(self, question: Question, report: AnswerReport) -> None:
        async with self._uow_factory() as uow:  # read only: closed before the model is asked
            hits = await uow.knowledge.search(question.text, limit=HITS, cluster=question.cluster,
                                              audience=question.audience)
        outcome = await self._ask(question, hits)
        async with self._uow_factory() as uow:
            current = await uow.questions.get(question.id or 0)
            if current is None or current.model is not ModelState.PENDING \
                    or current.model_lease_until != question.model_lease_until:
                return  # the person was deleted, or another worker took it over after our lease
            profile = await uow.users.by_id(current.user_id)
            if profile is not None and profile.active:
                message = await self._reply(uow, current, hits, outcome, report)
                now = self._clock.now()
                # Minor or not: an answer the person is waiting for is not a message that wakes them.
                await uow.outbox.enqueue(OutboxMessage.to(
                    profile, message, now, f"answer:{current.id}",
                    expires_at=current.asked_at + MODEL_ANSWER_EXPIRES).model_copy(update={"minor": False}))
            current.model = ModelState.DONE
            current.model_lease_until = None
            await uow.questions.save(current)
            await uow.commit()

    async def _ask(self, question: Question, hits: list[KnowledgeHit]) -> _Outcome:
        passages = tuple(Passage.from_hit(h) for h in hits if h.kind in KINDS)
        try:
            request = AnswerRequest(question=question.text, passages=passages, form=question.form,
                                    locale=question.locale)
            answer = await self._answerer.answer(request)
        except AnswerUnavailable as error:
            return _Outcome(None, error.reason.value)
        checked = check(answer, passages)
        if checked is None:
            why = refusal(answer, passages)
            log.warning("answer %s refused: %s", question.id, why.value if why else "?")
            return _Outcome(None, f"refused_{why.value}" if why else "refused")
        return _Outcome(checked)

    async def _reply(self, uow: UnitOfWork, question: Question, hits: list[KnowledgeHit], outcome: _Outcome,
                     report: AnswerReport) -> Reply:
        checked = outcome.checked
        if checked is not None and checked.status is AnswerStatus.ANSWERED:
            report.answered += 1
            return model_reply(checked, question.text, question.id)
        if checked is not None and checked.status is AnswerStatus.OUT_OF_SCOPE:
            report.out_of_scope += 1
            return out_of_scope_reply()
        if checked is not None:
            report.not_known += 1
            return not_known_reply(hits, question.id)
        why = outcome.why_not or "unknown"
        report.fallback[why] = report.fallback.get(why, 0) + 1
        if hits and hits[0].kind == "faq" and (entry := await uow.knowledge.faq(hits[0].ref)) is not None:
            return faq_reply(entry, question.formal, hit_buttons(hits[1:]), question.id, fallback=True)
        return pages_reply(hits, question.id, fallback=True)
