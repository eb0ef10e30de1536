"""Free questions, answered from the bot's own knowledge (issue 13).

Typed text that names nothing the menu knows (flows/conversations/menu.py) is a question: the search
over the bot's pages (FAQ entries of the pack, professions, clusters, companies, events, offers;
storage/search.py) finds the best matches. Without a language model (the default) the best FAQ
entry is shown with its sources, or the best pages are offered as "Meintest du …?" buttons into the
bot's own pages; nothing is made up. With a language model (OPENAI_API_KEY), a question the search
finds pages for is kept and answered by the answer worker (flows/jobs/answers.py) a moment later, at
most LLM_RATE_PER_USER times per person and hour. Personal data typed into a question is removed before
the search and before it is kept or sent; a question is at most QUESTION_MAX_CHARS characters.
Every answer offers "Frag das Cluster-Team" (flows/conversations/team_questions.py).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Literal

from flows.core.context import StepContext, reply
from flows.core.model import ConversationState, Reply, Turn
from flows.core.payloads import QUESTIONS
from flows.delivery.answer_replies import (
    MORE_PAGES,
    faq_reply,
    hit_buttons,
    nothing_reply,
    out_of_scope_reply,
    pages_reply,
)
from flows.domain.answers import scrub
from flows.domain.knowledge import KnowledgeHit
from flows.domain.probes import is_probe
from flows.domain.question import ModelState, Question

NAME = "questions"
MAX_QUESTION = 500  # default of QUESTION_MAX_CHARS: longer text is a letter, not a question
HITS = MORE_PAGES + 1
AUDIENCE: dict[str, Literal["teens", "parents"]] = {"teen": "teens", "parent": "parents"}  # role -> FAQ audience
RATE_WINDOW = timedelta(hours=1)  # LLM_RATE_PER_USER counts questions to the model in this window


def _formal(ctx: StepContext) -> bool:
    return ctx.profile.role in ("parent", "company", "other")


class QuestionsFlow:
    name = NAME
    payloads = QUESTIONS

    def __init__(self, max_chars: int = MAX_QUESTION, model: bool = False, rate_per_hour: int = 20) -> None:
        """max_chars: QUESTION_MAX_CHARS, the longest question read; model: a language model answers
        (OPENAI_API_KEY is set; flows/jobs/answers.py does it after this turn); rate_per_hour:
        LLM_RATE_PER_USER, questions a person may put to the model per hour (then: the bot's own pages)."""
        self.max_chars = max_chars
        self.model = model
        self.rate_per_hour = rate_per_hour

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        return ctx.turn(reply("questions.how"), state=ConversationState())

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(QUESTIONS)
        if press is None or press.action != "f":
            return None
        entry = await ctx.uow.knowledge.faq(press.arg())
        if entry is None:  # an old button: the entry left the pack
            return ctx.turn(reply("questions.gone", nothing_reply(None).buttons), state=ConversationState())
        return ctx.turn(faq_reply(entry, _formal(ctx), [], None), state=ConversationState())

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return []

    async def faq_answer(self, ctx: StepContext, text: str) -> Turn | None:
        """A question a FAQ entry answers best (or one too long to read); None: let the menu read it for
        a profession, a town or a menu word first."""
        if (refused := self._refused(ctx, text)) is not None:
            return refused
        hits = await self._search(ctx, text)
        if hits and hits[0].kind == "faq":
            return await self._answered(ctx, text, hits)
        return None

    async def answer(self, ctx: StepContext, text: str) -> Turn:
        """A typed question: the model's answer (later, from the answer worker), else the best FAQ
        entry, or the best pages to choose from."""
        if (refused := self._refused(ctx, text)) is not None:
            return refused
        return await self._answered(ctx, text, await self._search(ctx, text))

    def _refused(self, ctx: StepContext, text: str) -> Turn | None:
        """Too long to read, or after what the bot must not give or do (flows/domain/probes.py)."""
        if len(text) > self.max_chars:
            return ctx.turn(reply("questions.too_long", limit=self.max_chars), state=ConversationState())
        if is_probe(text):
            return ctx.turn(out_of_scope_reply(), state=ConversationState())
        return None

    async def _search(self, ctx: StepContext, text: str) -> list[KnowledgeHit]:
        query = scrub(text)  # personal data out before anything is searched, stored or sent
        return await ctx.uow.knowledge.search(query, limit=HITS, cluster=ctx.profile.cluster,
                                              audience=AUDIENCE.get(ctx.profile.role or ""))

    async def _answered(self, ctx: StepContext, text: str, hits: list[KnowledgeHit]) -> Turn:
        to_model = self.model and bool(hits) and await self._within_rate(ctx)
        question = await self._keep(ctx, text, ModelState.PENDING if to_model else ModelState.NONE)
        qid = None if question is None else question.id
        if to_model and qid is not None:  # the answer worker sends the answer in a moment
            return ctx.turn(reply("questions.thinking"), state=ConversationState())
        if not hits:
            return ctx.turn(nothing_reply(qid), state=ConversationState())
        best = hits[0]
        if best.kind == "faq" and (entry := await ctx.uow.knowledge.faq(best.ref)) is not None:
            return ctx.turn(faq_reply(entry, _formal(ctx), hit_buttons(hits[1:]), qid), state=ConversationState())
        return ctx.turn(pages_reply(hits, qid), state=ConversationState())

    async def _within_rate(self, ctx: StepContext) -> bool:
        if ctx.profile.id is None:
            return False
        since = ctx.clock.now() - RATE_WINDOW
        return await ctx.uow.questions.model_asked_since(ctx.profile.id, since) < self.rate_per_hour

    async def _keep(self, ctx: StepContext, text: str, model: ModelState) -> Question | None:
        """The scrubbed question, kept for the model's answer and for "Frag das Cluster-Team" (deleted
        after KEEP_UNSENT unless sent to the team)."""
        scrubbed = scrub(text).strip()
        if ctx.profile.id is None or not scrubbed:
            return None
        audience = AUDIENCE.get(ctx.profile.role or "")
        return await ctx.uow.questions.add(Question(
            user_id=ctx.profile.id, text=scrubbed[:self.max_chars], cluster=ctx.profile.cluster,
            audience=audience, form="sie" if _formal(ctx) else "du", locale=ctx.profile.locale,
            asked_at=ctx.clock.now(), model=model))
