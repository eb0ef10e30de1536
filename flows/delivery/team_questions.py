"""A free question sent to the cluster team ("Frag das Cluster-Team", issue 13): to the cluster's agents
in the chat, and the team's answer back to the asker. Both go through the outbox, each under an
idempotency key, so a replayed press or a second run never sends anything twice. The chat
(flows/conversations/team_questions.py), the reminder job (flows/jobs/team_questions.py) and the web
cockpit use these.

The agents see the question (personal data scrubbed out when it was stored), the form of address
and the language the answer should have, and nothing else of the asker: no name, no number, no id."""
from __future__ import annotations

from datetime import datetime

from flows.core.context import button, reply
from flows.core.model import Profile, Reply
from flows.core.payloads import MENU, TEAM
from flows.core.ports import UnitOfWork
from flows.delivery.agents import agents_for
from flows.delivery.outbox import OutboxMessage
from flows.domain.question import TEAM_ANSWER_MAX, Question, TeamState


async def cluster_name(uow: UnitOfWork, slug: str | None) -> str:
    """The cluster's name as people know it (its slug if the pack no longer has it)."""
    cluster = await uow.content.cluster(slug) if slug else None
    return cluster.name if cluster is not None else (slug or "")


def agent_message(key: str, question: Question) -> Reply:
    """What an agent gets about an open question ("team.agent_question", "team.agent_reminder"): the
    question and how to answer, with the button that starts the answer."""
    assert question.id is not None
    return reply(key, [[button("btn.team.answer", TEAM.pack("answer", question.id))]], id=question.id,
                 question=question.text, form=question.form, locale=question.locale,
                 asked_at=(question.team_asked_at or question.asked_at).isoformat())


def _agent_key(kind: str, question: Question, agent: Profile) -> str:
    return f"team-{kind}:{question.id}:{agent.channel}:{agent.chat_id}"


async def send_to_team(uow: UnitOfWork, question: Question, admins: frozenset[tuple[str, int]],
                       now: datetime) -> list[Profile]:
    """Queues the question to the cluster's agents (outbox, idempotency key per question and agent);
    returns who got it."""
    return await _to_agents(uow, question, admins, now, "question")


async def remind_agents(uow: UnitOfWork, question: Question, admins: frozenset[tuple[str, int]],
                        now: datetime) -> list[Profile]:
    """Queues the reminder of an open question to the cluster's agents (once per question and agent)."""
    return await _to_agents(uow, question, admins, now, "reminder")


async def _to_agents(uow: UnitOfWork, question: Question, admins: frozenset[tuple[str, int]], now: datetime,
                     kind: str) -> list[Profile]:
    if question.id is None or question.cluster is None:
        return []
    agents = await agents_for(uow, admins, question.cluster)
    message = agent_message(f"team.agent_{kind}", question)
    for agent in agents:
        await uow.outbox.enqueue(OutboxMessage.to(agent, message, now, _agent_key(kind, question, agent)))
    return agents


def clean_answer(text: str) -> str:
    """The answer as it will be sent: stripped; ValueError when empty or longer than TEAM_ANSWER_MAX."""
    answer = text.strip()
    if not answer:
        raise ValueError("the answer is empty")
    if len(answer) > TEAM_ANSWER_MAX:
        raise ValueError(f"the answer is longer than {TEAM_ANSWER_MAX} characters")
    return answer


async def deliver_team_answer(uow: UnitOfWork, question: Question, text: str, agent: str, now: datetime) -> bool:
    """Stores the team's answer (answer, answered_by=agent e.g. "telegram:<chat id>" or "cockpit:<chat id>",
    answered_at, team=ANSWERED), saves it, and queues it to the asker through the outbox (key
    f"team-answer:{id}"); False and no change if the question is not OPEN (answered already by a
    colleague) or its asker is gone. The text is stripped; empty or longer than TEAM_ANSWER_MAX raises
    ValueError."""
    answer = clean_answer(text)
    if question.id is None:
        return False
    stored = await uow.questions.get(question.id)  # the stored state decides, not the caller's copy
    if stored is None or stored.team is not TeamState.OPEN:
        return False
    asker = await uow.users.by_id(stored.user_id)
    if asker is None:
        return False
    message = reply("team.answer", [[button("btn.menu.back", MENU.pack("open"))]],
                    cluster=await cluster_name(uow, stored.cluster), question=stored.text, answer=answer)
    # The answer's idempotency key decides between two agents answering at the same moment (the chat
    # and the cockpit, two processes): the outbox stores one message per key, the second gets False and
    # changes nothing. Proactive: the asker's quiet hours apply (a minor's answer written at night
    # waits for the morning).
    if not await uow.outbox.enqueue(OutboxMessage.to(asker, message, now, f"team-answer:{stored.id}")):
        return False
    stored.answer, stored.answered_by, stored.answered_at = answer, agent, now
    stored.team = TeamState.ANSWERED
    await uow.questions.save(stored)
    question.answer, question.answered_by, question.answered_at, question.team = answer, agent, now, stored.team
    return True
