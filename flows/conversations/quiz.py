"""Berufe-Check: 12-16 button-only questions scored on RIASEC, then the three best professions.

    start ──> (unfinished attempt? offer: weiter | neu) ──> question 1..n ──> result + chart
                 "zurück" goes one question back; "später" leaves, answers stay stored.

Answers are saved with every press (quiz_attempts), so resuming works after days and restarts.
Buttons: QUIZ in flows/core/payloads.py. The result is never shared with companies.
"""
from __future__ import annotations

from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import Chart, ConversationState, FlowContext, QuizAttempt, Reply, Turn
from flows.core.payloads import EVENTS, MENU, PROFESSIONS, QUIZ, VACANCIES
from flows.domain.content import QuizItem
from flows.domain.labels import short_label
from flows.domain.matching import best_professions, interest_scores

NAME = "quiz"
BAR_SLOTS = 10


def progress_bar(done: int, total: int) -> str:
    filled = round(BAR_SLOTS * done / total) if total else 0
    return "▰" * filled + "▱" * (BAR_SLOTS - filled)


class QuizContext(FlowContext):
    """The open question, stored with the conversation: which attempt, which question (0-based)."""

    FLOW = NAME
    attempt: int | None = None
    i: int = 0


class QuizFlow:
    name = NAME
    payloads = QUIZ

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        await self._ensure_user(ctx)
        assert ctx.profile.id is not None
        items = await ctx.uow.content.quiz_items()
        if not items:
            return ctx.turn(reply("quiz.unavailable"), main_menu(ctx.profile), state=ConversationState())
        current = await ctx.uow.quiz.current(ctx.profile.id)
        if entry != "restart" and current is not None and current.answers:
            buttons = [[button("btn.quiz.resume", QUIZ.pack("resume"))], [button("btn.quiz.restart", QUIZ.pack("restart"))],
                       [button("btn.menu.back", MENU.pack("open"))]]
            return ctx.turn(reply("quiz.resume_offer", buttons, answered=len(current.answers), total=len(items)),
                            state=ConversationState(flow=NAME, step="offer"))
        if entry != "restart":
            finished = await ctx.uow.quiz.latest_finished(ctx.profile.id)
            if finished is not None and current is None:
                return await self._result(ctx, finished, items, again=True)
        attempt = current if current is not None and not current.answers else \
            await ctx.uow.quiz.save(ctx.profile.id, QuizAttempt(started_at=ctx.clock.now()))
        return self._ask(ctx, items, attempt, 0, reply("quiz.intro", total=len(items)))

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(QUIZ)
        if press is None:
            return None
        action, question, option = press.action, press.arg(0), press.arg(1)
        if action == "start":
            return await self.start(ctx, "quiz")
        if action in ("restart", "again"):
            return await self.start(ctx, "restart")
        if ctx.profile.id is None:
            return None
        items = await ctx.uow.content.quiz_items()
        attempt = await ctx.uow.quiz.current(ctx.profile.id)
        if action == "resume":
            return self._ask(ctx, items, attempt, self._first_open(items, attempt)) if attempt else None
        open_question = QuizContext.of(ctx.state)
        if attempt is None or open_question is None or attempt.id != open_question.attempt:
            return None  # a button of an old or finished attempt
        if action == "later":
            return ctx.turn(reply("quiz.paused", answered=len(attempt.answers), total=len(items)),
                            main_menu(ctx.profile), state=ConversationState())
        index = open_question.i
        if ctx.state.step != "question" or question != str(index):
            return None
        if action == "back" and index > 0:
            return self._ask(ctx, items, attempt, index - 1)
        if action == "a" and option.isdigit() and int(option) < len(items[index].options):
            attempt.answers[items[index].slug] = int(option)
            following = self._first_open(items, attempt, after=index)
            if following is None:
                return await self._finish(ctx, items, attempt)
            attempt = await ctx.uow.quiz.save(ctx.profile.id, attempt)
            return self._ask(ctx, items, attempt, following)
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        if ctx.profile.id is None or ctx.state.step != "question":
            return []
        items = await ctx.uow.content.quiz_items()
        attempt = await ctx.uow.quiz.current(ctx.profile.id)
        open_question = QuizContext.of(ctx.state)
        index = open_question.i if open_question else 0
        if attempt is None or index >= len(items):
            return []
        return [self._question(ctx, items, index)]

    # ---- helpers -------------------------------------------------------------------------
    @staticmethod
    async def _ensure_user(ctx: StepContext) -> None:
        if ctx.profile.id is None:  # the attempt row refers to the user row
            await ctx.uow.users.save(ctx.profile)

    @staticmethod
    def _first_open(items: list[QuizItem], attempt: QuizAttempt, after: int = -1) -> int | None:
        """The next unanswered question after `after` (then from the start), None when complete."""
        order = list(range(after + 1, len(items))) + list(range(0, after + 1))
        return next((i for i in order if items[i].slug not in attempt.answers), None)

    def _question(self, ctx: StepContext, items: list[QuizItem], index: int) -> Reply:
        item, locale = items[index], ctx.profile.locale
        rows = [[button("btn.raw", QUIZ.pack("a", index, j), label=o.label.get(locale) or o.label["de"])]
                for j, o in enumerate(item.options)]
        nav = [button("btn.back", QUIZ.pack("back", index))] if index > 0 else []
        rows.append(nav + [button("btn.quiz.later", QUIZ.pack("later"))])
        return reply("quiz.question", rows, number=index + 1, total=len(items),
                     bar=progress_bar(index, len(items)), text=item.text_in(locale))

    def _ask(self, ctx: StepContext, items: list[QuizItem], attempt: QuizAttempt, index: int | None,
             *before: Reply) -> Turn:
        index = 0 if index is None else index
        state = QuizContext(attempt=attempt.id, i=index).at("question")
        return ctx.turn(*before, self._question(ctx, items, index), state=state)

    async def _finish(self, ctx: StepContext, items: list[QuizItem], attempt: QuizAttempt) -> Turn:
        assert ctx.profile.id is not None
        scores = interest_scores(items, attempt.answers)
        matches = best_professions(scores, await ctx.uow.content.professions(), ctx.profile.cluster)
        attempt = attempt.model_copy(update={"finished_at": ctx.clock.now(), "scores": scores,
                                             "top": [m.profession.slug for m in matches]})
        attempt = await ctx.uow.quiz.save(ctx.profile.id, attempt)
        return await self._result(ctx, attempt, items, again=False)

    async def _result(self, ctx: StepContext, attempt: QuizAttempt, items: list[QuizItem], again: bool) -> Turn:
        scores = attempt.scores or interest_scores(items, attempt.answers)
        professions = {p.slug: p for p in await ctx.uow.content.professions()}
        matches = [m for m in best_professions(scores, list(professions.values()), ctx.profile.cluster)
                   if m.profession.slug in attempt.top] or \
            best_professions(scores, list(professions.values()), ctx.profile.cluster)
        cluster = await ctx.uow.content.cluster(ctx.profile.cluster) if ctx.profile.cluster else None
        rows = []
        for m in matches:
            rows.append([button("btn.quiz.profession", PROFESSIONS.pack("show", m.profession.slug),
                                name=short_label(m.profession.name))])
            rows.append([button("btn.menu.vacancies", VACANCIES.pack("prof", m.profession.slug)),
                         button("btn.menu.events", EVENTS.pack("open"))])
        rows.append([button("btn.quiz.again", QUIZ.pack("again")), button("btn.menu.back", MENU.pack("open"))])
        result = reply("quiz.result", rows, again=again, cluster=cluster.name if cluster else None,
                       matches=[{"name": m.profession.name, "reasons": list(m.reasons)} for m in matches])
        chart = reply("quiz.chart").model_copy(update={"chart": Chart(kind="riasec", values=scores)})
        return ctx.turn(chart, result, state=ConversationState())
