"""Questions sent to the cluster team that nobody answered within one working day: the cluster's agents
are reminded once (with the answer button). A periodic tick (bot/scheduler.py) calls `remind_team`;
the reminders go through the outbox under a key per question and agent, and `reminded_at` keeps a
question from being reminded of twice."""
from __future__ import annotations

from datetime import datetime, timedelta

from flows.core.ports import UnitOfWorkFactory
from flows.delivery.team_questions import remind_agents
from flows.domain.working_days import add_working_days

REMIND_AFTER_WORKING_DAYS = 1


async def remind_team(uow_factory: UnitOfWorkFactory, now: datetime, admins: frozenset[tuple[str, int]]) -> int:
    """Remind the agents of every open question sent at least one working day ago (Monday to Friday
    without Germany's nationwide holidays) and not reminded of yet; returns how many questions."""
    reminded = 0
    async with uow_factory() as uow:
        # One working day is at least one calendar day: the repository narrows, the rule decides.
        for question in await uow.questions.open_asked_before(now - timedelta(days=REMIND_AFTER_WORKING_DAYS)):
            if question.team_asked_at is None or question.reminded_at is not None:
                continue
            if add_working_days(question.team_asked_at, REMIND_AFTER_WORKING_DAYS, None) > now:
                continue
            await remind_agents(uow, question, admins, now)
            question.reminded_at = now
            await uow.questions.save(question)
            reminded += 1
        await uow.commit()
    return reminded
