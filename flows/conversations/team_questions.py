""""Frag das Cluster-Team": a free question the bot could not answer well goes to the asker's cluster
team, on the asker's request and with their consent, and the team's answer comes back here in the
chat (issue 13, point 5). Buttons: TEAM in flows/core/payloads.py; sending and answering:
flows/delivery/team_questions.py; the reminder after one working day: flows/jobs/team_questions.py.

    the asker:  answer to a free question ──"Frag das Cluster-Team"──> exactly what is sent, to whom,
                how long it is kept ──"Ja, senden"──> consent recorded, sent to the cluster's agents
                                    ──"Nein"──> nothing stored or sent
    an agent:   the question ──"Antworten"──> "write your answer" ──text──> to the asker
                ──"Als FAQ-Eintrag"──> the cockpit's page of the question

The question belongs to the person who asked it: a press on another person's question (a forged
button) is answered as if it did not exist. Only agents of the question's cluster see it or answer
it; anyone else learns nothing of it."""
from __future__ import annotations

from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConsentRecord, ConversationState, EventKind, FlowContext, Reply, Turn
from flows.core.payloads import MENU, TEAM, Press
from flows.delivery.team_questions import clean_answer, cluster_name, deliver_team_answer, send_to_team
from flows.domain.question import (
    KEEP_TEAM,
    TEAM_ANSWER_MAX,
    TEAM_CONSENT_PURPOSE,
    TEAM_CONSENT_VERSION,
    Question,
    TeamState,
)

NAME = "team"
ANSWER_STEP = "answer"


class AnswerContext(FlowContext):
    """An agent writing the answer to one question."""

    FLOW = NAME

    question: int


class TeamQuestionsFlow:
    name = NAME
    payloads = TEAM

    def __init__(self, cockpit_url: str | None = None) -> None:
        """cockpit_url: COCKPIT_URL, where agents make a FAQ entry of an answer (None: not set up)."""
        self.cockpit_url = cockpit_url.rstrip("/") if cockpit_url else None

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        return ctx.turn(main_menu(ctx.profile), state=ConversationState())  # no command leads here

    async def handle(self, ctx: StepContext) -> Turn | None:
        if ctx.event.kind is EventKind.TEXT:
            waiting = AnswerContext.of(ctx.state)
            return await self._answer_text(ctx, waiting) if waiting is not None else None
        press = ctx.pressed(TEAM)
        if press is None:
            return None
        question_id = press.number()
        if question_id is None:
            return self._gone(ctx)
        if press.action in ("ask", "send", "no"):
            return await self._asker(ctx, press, question_id)
        return await self._agent(ctx, press, question_id)

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        waiting = AnswerContext.of(ctx.state)
        if waiting is None:
            return []
        question = await ctx.uow.questions.get(waiting.question)
        if question is None or not self._agent_of(ctx, question) or question.team is not TeamState.OPEN:
            return []
        return [self._ask_for_answer(question)]

    # ---- the asker ------------------------------------------------------------------------------
    async def _asker(self, ctx: StepContext, press: Press, question_id: int) -> Turn:
        question = await ctx.uow.questions.get(question_id)
        if question is None or ctx.profile.id is None or question.user_id != ctx.profile.id:
            return self._gone(ctx)  # someone else's question (a forged button), or deleted: nothing of it
        if question.team is not TeamState.NONE:
            return await self._already(ctx, question)
        if press.action == "no":
            return ctx.turn(reply("team.not_sent", self._menu()), state=ConversationState())
        if question.cluster is None and ctx.profile.cluster is not None:
            # Asked before a cluster was chosen: the asker's cluster now, stored so that the consent
            # screen and the sending name the same team.
            question.cluster = ctx.profile.cluster
            await ctx.uow.questions.save(question)
        cluster = await ctx.uow.content.cluster(question.cluster) if question.cluster else None
        if cluster is None:
            return ctx.turn(reply("team.no_cluster", self._menu()), state=ConversationState())
        if press.action == "ask":
            return ctx.turn(self._consent(question, cluster.name), state=ConversationState())
        return await self._send(ctx, question, cluster.slug, cluster.name)

    @staticmethod
    def _consent(question: Question, cluster: str) -> Reply:
        assert question.id is not None
        buttons = [[button("btn.team.send", TEAM.pack("send", question.id)),
                    button("btn.team.no", TEAM.pack("no", question.id))]]
        return reply("team.consent", buttons, question=question.text, cluster=cluster, form=question.form,
                     locale=question.locale, days=KEEP_TEAM.days)

    async def _send(self, ctx: StepContext, question: Question, slug: str, cluster: str) -> Turn:
        assert ctx.profile.id is not None
        now = ctx.clock.now()
        consent = await ctx.uow.consents.add(ctx.profile.id, ConsentRecord(
            purpose=TEAM_CONSENT_PURPOSE, text_version=TEAM_CONSENT_VERSION, given_by="self",
            recipients=[f"cluster:{slug}"], given_at=now))
        question.team, question.team_asked_at, question.consent_id = TeamState.OPEN, now, consent.id
        await ctx.uow.questions.save(question)
        await send_to_team(ctx.uow, question, ctx.admins, now)
        return ctx.turn(reply("team.sent", self._menu(), cluster=cluster), state=ConversationState())

    async def _already(self, ctx: StepContext, question: Question) -> Turn:
        cluster = await cluster_name(ctx.uow, question.cluster)
        if question.team is TeamState.ANSWERED and question.answer:
            return ctx.turn(reply("team.already_answered", self._menu(), cluster=cluster, question=question.text,
                                  answer=question.answer), state=ConversationState())
        return ctx.turn(reply("team.already_sent", self._menu(), cluster=cluster), state=ConversationState())

    # ---- the cluster's agents -------------------------------------------------------------------
    @staticmethod
    def _agent_of(ctx: StepContext, question: Question) -> bool:
        return ctx.admin and question.cluster is not None and ctx.profile.cluster == question.cluster

    def _refusal(self, ctx: StepContext, question: Question | None) -> Turn | None:
        """Only an agent of the question's cluster may see it; nobody else learns what it says."""
        if not ctx.admin:
            return self._gone(ctx)
        if question is None or question.team is TeamState.NONE:
            return ctx.turn(reply("team.agent_gone"), state=ConversationState())
        if ctx.profile.cluster is None:
            return ctx.turn(reply("leads.agent_no_cluster"), state=ConversationState())
        if not self._agent_of(ctx, question):
            return ctx.turn(reply("team.agent_other_cluster"), state=ConversationState())
        return None

    async def _agent(self, ctx: StepContext, press: Press, question_id: int) -> Turn:
        question = await ctx.uow.questions.get(question_id)
        if (refused := self._refusal(ctx, question)) is not None:
            return refused
        assert question is not None and question.id is not None
        if press.action == "faq":
            return self._faq(ctx, question.id)
        if question.team is TeamState.ANSWERED:
            return self._answered_already(ctx, question)
        return ctx.turn(self._ask_for_answer(question), state=AnswerContext(question=question.id).at(ANSWER_STEP))

    @staticmethod
    def _ask_for_answer(question: Question) -> Reply:
        return reply("team.agent_write", id=question.id, question=question.text, form=question.form,
                     locale=question.locale, limit=TEAM_ANSWER_MAX)

    @staticmethod
    def _answered_already(ctx: StepContext, question: Question) -> Turn:
        return ctx.turn(reply("team.agent_already_answered", id=question.id, question=question.text,
                              answer=question.answer or ""), state=ConversationState())

    async def _answer_text(self, ctx: StepContext, waiting: AnswerContext) -> Turn:
        question = await ctx.uow.questions.get(waiting.question)
        if (refused := self._refusal(ctx, question)) is not None:
            return refused
        assert question is not None and question.id is not None
        if question.team is TeamState.ANSWERED:  # a colleague was quicker (here or in the cockpit)
            return self._answered_already(ctx, question)
        text = ctx.event.text or ""
        try:
            clean_answer(text)
        except ValueError:  # the state stays: the agent shortens it and sends it again
            return ctx.turn(reply("team.agent_answer_invalid", limit=TEAM_ANSWER_MAX, length=len(text.strip())))
        agent = f"{ctx.profile.channel}:{ctx.profile.chat_id}"
        if not await deliver_team_answer(ctx.uow, question, text, agent, ctx.clock.now()):
            fresh = await ctx.uow.questions.get(question.id)
            if fresh is None:
                return ctx.turn(reply("team.agent_gone"), state=ConversationState())
            return self._answered_already(ctx, fresh)
        buttons = [[button("btn.team.faq", TEAM.pack("faq", question.id))],
                   [button("btn.menu.back", MENU.pack("open"))]]
        return ctx.turn(reply("team.agent_answered", buttons, id=question.id), state=ConversationState())

    def _faq(self, ctx: StepContext, question_id: int) -> Turn:
        if self.cockpit_url is None:
            return ctx.turn(reply("team.agent_faq_no_cockpit"), state=ConversationState())
        return ctx.turn(reply("team.agent_faq", url=f"{self.cockpit_url}/fragen/{question_id}"),
                        state=ConversationState())

    # ---- shared -----------------------------------------------------------------------------------
    def _gone(self, ctx: StepContext) -> Turn:
        return ctx.turn(reply("team.gone", self._menu()), state=ConversationState())

    @staticmethod
    def _menu() -> list[list[Button]]:
        return [[button("btn.menu.back", MENU.pack("open"))]]
