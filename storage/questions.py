"""The question port on SQL (flows/domain/question.py)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.domain.question import ModelState, Question, TeamState
from storage.tables_questions import QuestionRow

FIELDS = tuple(Question.model_fields)


def _question(row: QuestionRow) -> Question:
    return Question.model_validate({name: getattr(row, name) for name in FIELDS})


class SqlQuestionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.pending_added = False  # a question for the model was kept: the commit wakes the answer worker

    async def add(self, question: Question) -> Question:
        row = QuestionRow(**question.model_dump(exclude={"id"}))
        self._session.add(row)
        await self._session.flush()
        self.pending_added = self.pending_added or question.model is ModelState.PENDING
        question.id = row.id  # in place, like the user repository
        return question

    async def get(self, question_id: int) -> Question | None:
        row = await self._session.get(QuestionRow, question_id)
        return None if row is None else _question(row)

    async def save(self, question: Question) -> None:
        assert question.id is not None
        await self._session.execute(update(QuestionRow).where(col(QuestionRow.id) == question.id)
                                    .values(**question.model_dump(exclude={"id"})))

    async def claim_pending(self, now: datetime, lease_seconds: float, limit: int) -> list[Question]:
        # Read, then take each row only if it is still free: of two workers, one gets it.
        rows = (await self._session.execute(
            select(QuestionRow).where(QuestionRow.model == ModelState.PENDING.value,
                                      or_(col(QuestionRow.model_lease_until).is_(None),
                                          col(QuestionRow.model_lease_until) <= now))
            .order_by(col(QuestionRow.id)).limit(limit))).scalars().all()
        lease_until = now + timedelta(seconds=lease_seconds)
        claimed = []
        for row in rows:
            taken = await self._session.execute(
                update(QuestionRow).where(col(QuestionRow.id) == row.id,
                                          QuestionRow.model == ModelState.PENDING.value,
                                          or_(col(QuestionRow.model_lease_until).is_(None),
                                              col(QuestionRow.model_lease_until) <= now))
                .values(model_lease_until=lease_until))
            if getattr(taken, "rowcount", 0) == 1:
                question = _question(row)
                question.model_lease_until = lease_until
                claimed.append(question)
        return claimed

    async def for_user(self, user_id: int) -> list[Question]:
        rows = (await self._session.execute(select(QuestionRow).where(QuestionRow.user_id == user_id)
                                            .order_by(col(QuestionRow.id)))).scalars().all()
        return [_question(r) for r in rows]

    async def model_asked_since(self, user_id: int, since: datetime) -> int:
        return int((await self._session.execute(
            select(func.count()).select_from(QuestionRow)
            .where(QuestionRow.user_id == user_id, QuestionRow.model != ModelState.NONE.value,
                   col(QuestionRow.asked_at) >= since))).scalar_one())

    async def for_team(self, cluster: str, limit: int = 200) -> list[Question]:
        is_open = case((QuestionRow.team == TeamState.OPEN.value, 0), else_=1)
        rows = (await self._session.execute(
            select(QuestionRow).where(QuestionRow.cluster == cluster, QuestionRow.team != TeamState.NONE.value)
            .order_by(is_open, case((QuestionRow.team == TeamState.OPEN.value, col(QuestionRow.team_asked_at)),
                                    else_=None),
                      col(QuestionRow.answered_at).desc(), col(QuestionRow.id))
            .limit(limit))).scalars().all()
        return [_question(r) for r in rows]

    async def open_asked_before(self, before: datetime) -> list[Question]:
        rows = (await self._session.execute(
            select(QuestionRow).where(QuestionRow.team == TeamState.OPEN.value,
                                      col(QuestionRow.team_asked_at) <= before,
                                      col(QuestionRow.reminded_at).is_(None))
            .order_by(col(QuestionRow.id)))).scalars().all()
        return [_question(r) for r in rows]

    async def purge(self, unsent_before: datetime, team_before: datetime) -> int:
        unsent = await self._session.execute(
            delete(QuestionRow).where(QuestionRow.team == TeamState.NONE.value,
                                      QuestionRow.model != ModelState.PENDING.value,
                                      col(QuestionRow.asked_at) < unsent_before))
        sent = await self._session.execute(
            delete(QuestionRow).where(QuestionRow.team != TeamState.NONE.value,
                                      col(QuestionRow.team_asked_at) < team_before))
        return int(getattr(unsent, "rowcount", 0) or 0) + int(getattr(sent, "rowcount", 0) or 0)
