"""Repositories: map rows to the flows' models. They never commit; the unit of work does."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.core.model import (
    ClusterInfo,
    ConsentRecord,
    ConversationState,
    Profile,
    QuizAttempt,
    Reply,
    UnansweredUpdate,
)
from flows.core.ports import Clock, StaleState
from flows.domain.content import CompanyInfo, ProfessionInfo, QuizItem
from storage.content_views import company_info, profession_info, quiz_item
from storage.tables import (
    ClusterRow,
    CompanyRow,
    ConsentRow,
    ConversationRow,
    OutboxRow,
    ProcessedUpdateRow,
    ProfessionRow,
    UserRow,
)
from storage.tables_broadcasts import BroadcastRecipientRow
from storage.tables_events import EventFeedbackRow, EventRsvpRow
from storage.tables_leads import LeadRow, ParentRequestRow
from storage.tables_questions import QuestionRow
from storage.tables_quiz import QuizAttemptRow, QuizQuestionRow
from storage.tables_vacancies import SavedSearchRow, VacancyFiltersRow, VacancyMarkRow

PROFILE_FIELDS = tuple(f for f in Profile.model_fields if f != "id")


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, channel: str, chat_id: int) -> Profile | None:
        row = (await self._session.execute(
            select(UserRow).where(UserRow.channel == channel, UserRow.chat_id == chat_id)
        )).scalars().first()
        return Profile.model_validate(row, from_attributes=True) if row else None

    async def by_id(self, user_id: int) -> Profile | None:
        row = await self._session.get(UserRow, user_id)
        return Profile.model_validate(row, from_attributes=True) if row else None

    async def save(self, profile: Profile) -> Profile:
        values = profile.model_dump(include=set(PROFILE_FIELDS))
        if profile.id is None:
            row = UserRow(**values)
            self._session.add(row)
            try:
                await self._session.flush()
            except IntegrityError:
                # Another worker created this person a moment ago (their first updates reached two
                # workers at once): the whole step is done again on the stored profile.
                raise StaleState(f"user {profile.channel}:{profile.chat_id} created concurrently") from None
            profile.id = row.id  # in place: a flow may save early (to refer to the user), the engine later
            return profile
        await self._session.execute(update(UserRow).where(UserRow.id == profile.id).values(**values))
        return profile

    async def delete(self, user_id: int) -> None:
        # Explicit deletes: cascades are not guaranteed on every database connection.
        await self._session.execute(delete(ConversationRow).where(ConversationRow.user_id == user_id))
        await self._session.execute(delete(ConsentRow).where(ConsentRow.user_id == user_id))
        await self._session.execute(delete(QuizAttemptRow).where(QuizAttemptRow.user_id == user_id))
        await self._session.execute(delete(VacancyMarkRow).where(VacancyMarkRow.user_id == user_id))
        await self._session.execute(delete(SavedSearchRow).where(SavedSearchRow.user_id == user_id))
        await self._session.execute(delete(VacancyFiltersRow).where(VacancyFiltersRow.user_id == user_id))
        await self._session.execute(delete(EventRsvpRow).where(EventRsvpRow.user_id == user_id))
        await self._session.execute(delete(EventFeedbackRow).where(EventFeedbackRow.user_id == user_id))
        await self._session.execute(delete(ParentRequestRow).where(ParentRequestRow.user_id == user_id))
        await self._session.execute(delete(LeadRow).where(LeadRow.user_id == user_id))
        await self._session.execute(delete(BroadcastRecipientRow).where(BroadcastRecipientRow.user_id == user_id))
        await self._session.execute(delete(QuestionRow).where(QuestionRow.user_id == user_id))
        user = (await self._session.execute(
            select(UserRow.channel, UserRow.chat_id).where(UserRow.id == user_id))).first()
        if user is not None:  # queued and sent messages name the chat: erased with the user
            await self._session.execute(
                delete(OutboxRow).where(OutboxRow.channel == user.channel, OutboxRow.chat_id == user.chat_id))
        await self._session.execute(delete(UserRow).where(UserRow.id == user_id))

    async def mark_inactive(self, channel: str, chat_id: int) -> None:
        await self._session.execute(
            update(UserRow).where(UserRow.channel == channel, UserRow.chat_id == chat_id).values(active=False)
        )

    async def ids_last_seen_before(self, cutoff: datetime, limit: int) -> list[int]:
        rows = await self._session.execute(
            select(UserRow.id).where(UserRow.last_seen_at < cutoff).limit(limit)
        )
        return [r for r in rows.scalars().all() if r is not None]


class SqlConversationRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def get(self, user_id: int) -> ConversationState:
        c = ConversationRow
        row = (await self._session.execute(
            select(c.flow, c.step, c.context, c.version).where(c.user_id == user_id))).first()
        if row is None:
            return ConversationState()
        return ConversationState(flow=row.flow, step=row.step, context=dict(row.context), version=row.version)

    async def save(self, user_id: int, state: ConversationState) -> ConversationState:
        values: dict[str, Any] = {"flow": state.flow, "step": state.step, "context": state.context,
                                  "version": state.version + 1, "updated_at": self._clock.now()}
        if state.version == 0:
            exists = await self._session.get(ConversationRow, user_id)
            if exists is None:
                self._session.add(ConversationRow(user_id=user_id, **values))
                await self._session.flush()
                return state.model_copy(update={"version": 1})
        # Optimistic concurrency: only the version we read may be replaced.
        result = await self._session.execute(
            update(ConversationRow)
            .where(ConversationRow.user_id == user_id, ConversationRow.version == state.version)
            .values(**values)
        )
        if result.rowcount != 1:
            raise StaleState(f"conversation of user {user_id} changed")
        return state.model_copy(update={"version": state.version + 1})


class SqlConsentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def list_for_user(self, user_id: int) -> list[ConsentRecord]:
        rows = await self._session.execute(
            select(ConsentRow).where(ConsentRow.user_id == user_id).order_by(ConsentRow.id)
        )
        return [ConsentRecord.model_validate(r, from_attributes=True) for r in rows.scalars().all()]

    async def withdraw(self, consent_id: int, at: datetime) -> None:
        await self._session.execute(update(ConsentRow).where(ConsentRow.id == consent_id).values(withdrawn_at=at))

    async def add(self, user_id: int, record: ConsentRecord) -> ConsentRecord:
        row = ConsentRow(user_id=user_id, **record.model_dump(exclude={"id"}))
        self._session.add(row)
        await self._session.flush()
        return record.model_copy(update={"id": row.id})


class StoredUpdate:
    def __init__(self, row: Any) -> None:  # a row with replies, locale, formal, answered_at, processed_at
        self.replies = [Reply.model_validate(r) for r in row.replies] if row.replies is not None else None
        self.locale = row.locale
        self.formal = row.formal
        self.answered = row.answered_at is not None
        self.processed_at: datetime = row.processed_at


class SqlProcessedUpdateRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def get(self, channel: str, update_id: int) -> StoredUpdate | None:
        p = ProcessedUpdateRow
        row = (await self._session.execute(select(p.replies, p.locale, p.formal, p.answered_at, p.processed_at).where(
            p.channel == channel, p.update_id == update_id))).first()
        return StoredUpdate(row) if row else None

    async def claim(self, channel: str, update_id: int, chat_id: int | None, at: datetime) -> bool:
        # INSERT … ON CONFLICT DO NOTHING: of two workers inserting at once, the database lets one in.
        insert_ = pg_insert if self._session.get_bind().dialect.name == "postgresql" else sqlite_insert
        result = await self._session.execute(
            insert_(ProcessedUpdateRow).values(channel=channel, update_id=update_id, chat_id=chat_id,
                                               processed_at=at, locale="de", formal=False, replies=None)
            .on_conflict_do_nothing(index_elements=["channel", "update_id"]))
        return bool(getattr(result, "rowcount", 0))

    async def take_over(self, channel: str, update_id: int, claimed_at: datetime, at: datetime) -> bool:
        p = ProcessedUpdateRow
        result = await self._session.execute(
            update(p).where(p.channel == channel, p.update_id == update_id, p.processed_at == claimed_at,
                            col(p.answered_at).is_(None)).values(processed_at=at))
        return bool(getattr(result, "rowcount", 0))

    async def add(self, channel: str, update_id: int, replies: list[Reply], locale: str,
                  formal: bool = False, chat_id: int | None = None) -> None:
        p = ProcessedUpdateRow
        values = {"chat_id": chat_id, "processed_at": self._clock.now(), "locale": locale, "formal": formal,
                  "replies": [r.model_dump(mode="json") for r in replies]}
        result = await self._session.execute(
            update(p).where(p.channel == channel, p.update_id == update_id).values(**values))
        if not getattr(result, "rowcount", 0):  # not claimed before (a caller that does not claim)
            self._session.add(ProcessedUpdateRow(channel=channel, update_id=update_id, **values))
            await self._session.flush()

    async def unanswered(self, channel: str, since: datetime, limit: int) -> list[UnansweredUpdate]:
        p = ProcessedUpdateRow
        rows = (await self._session.execute(
            select(p.update_id, p.chat_id, p.replies, p.locale, p.formal, p.processed_at)
            .where(p.channel == channel, p.processed_at >= since, p.answered_at.is_(None),
                   p.chat_id.is_not(None), p.replies.is_not(None))
            .order_by(p.processed_at, p.update_id).limit(limit))).all()
        return [UnansweredUpdate(update_id=r.update_id, chat_id=r.chat_id, locale=r.locale, formal=r.formal,
                                 processed_at=r.processed_at,
                                 replies=[Reply.model_validate(x) for x in r.replies]) for r in rows if r.replies]

    async def mark_answered(self, channel: str, update_id: int) -> None:
        await self._session.execute(
            update(ProcessedUpdateRow)
            .where(ProcessedUpdateRow.channel == channel, ProcessedUpdateRow.update_id == update_id)
            .values(answered_at=self._clock.now(), replies=None)
        )

    async def open_before(self, channel: str, chat_id: int, update_id: int, since: datetime,
                          unhandled_only: bool) -> bool:
        p = ProcessedUpdateRow
        query = select(p.update_id).where(p.channel == channel, p.chat_id == chat_id, p.update_id < update_id,
                                          col(p.answered_at).is_(None), col(p.processed_at) >= since)
        if unhandled_only:
            query = query.where(col(p.replies).is_(None))
        return (await self._session.execute(query.limit(1))).first() is not None

    async def newest(self, channel: str) -> int | None:
        p = ProcessedUpdateRow
        return (await self._session.execute(select(func.max(p.update_id)).where(p.channel == channel))).scalar()

    async def purge_before(self, cutoff: datetime) -> int:
        result = await self._session.execute(
            delete(ProcessedUpdateRow).where(ProcessedUpdateRow.processed_at < cutoff)
        )
        return int(result.rowcount or 0)


class SqlContentReader:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @staticmethod
    def _cluster(row: ClusterRow) -> ClusterInfo:
        towns = [(t["name"], t["plz"]) for t in row.data.get("region_towns", [])]
        return ClusterInfo(slug=row.slug, name=row.name, region_name=row.region_name, towns=towns,
                           districts=list(row.data.get("districts", [])))

    async def clusters(self) -> list[ClusterInfo]:
        rows = await self._session.execute(
            select(ClusterRow).where(col(ClusterRow.archived).is_(False)).order_by(ClusterRow.slug)
        )
        return [self._cluster(r) for r in rows.scalars().all()]

    async def cluster(self, slug: str) -> ClusterInfo | None:
        row = (await self._session.execute(
            select(ClusterRow).where(ClusterRow.slug == slug, col(ClusterRow.archived).is_(False))
        )).scalars().first()
        return self._cluster(row) if row else None

    async def professions(self) -> list[ProfessionInfo]:
        rows = await self._session.execute(
            select(ProfessionRow.data).where(col(ProfessionRow.archived).is_(False)).order_by(ProfessionRow.slug)
        )
        return [profession_info(data) for data in rows.scalars().all()]

    async def profession(self, slug: str) -> ProfessionInfo | None:
        data = (await self._session.execute(
            select(ProfessionRow.data).where(ProfessionRow.slug == slug, col(ProfessionRow.archived).is_(False))
        )).scalars().first()
        return profession_info(data) if data else None

    async def companies(self) -> list[CompanyInfo]:
        rows = await self._session.execute(
            select(CompanyRow.id, CompanyRow.data).where(col(CompanyRow.archived).is_(False)).order_by(CompanyRow.slug))
        return [company_info(i, d) for i, d in rows.tuples().all()]

    async def company(self, slug: str) -> CompanyInfo | None:
        row = (await self._session.execute(
            select(CompanyRow.id, CompanyRow.data).where(CompanyRow.slug == slug, col(CompanyRow.archived).is_(False))
        )).first()
        return company_info(row[0], row[1]) if row else None

    async def interest_profiles(self) -> dict[str, dict[str, int]]:
        rows = await self._session.execute(
            select(ProfessionRow.slug, ProfessionRow.data["riasec"]).where(col(ProfessionRow.archived).is_(False)))
        return {slug: dict(profile or {}) for slug, profile in rows.tuples().all()}

    async def quiz_items(self) -> list[QuizItem]:
        rows = await self._session.execute(
            select(QuizQuestionRow.data).where(col(QuizQuestionRow.archived).is_(False))
            .order_by(QuizQuestionRow.position)
        )
        return [quiz_item(data) for data in rows.scalars().all()]


class SqlQuizRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @staticmethod
    def _attempt(row: QuizAttemptRow) -> QuizAttempt:
        return QuizAttempt(id=row.id, answers=dict(row.answers), started_at=row.started_at,
                           finished_at=row.finished_at, scores=row.scores, top=list(row.top))

    async def _newest(self, user_id: int, finished: bool) -> QuizAttempt | None:
        done = QuizAttemptRow.finished_at.is_not(None) if finished else QuizAttemptRow.finished_at.is_(None)
        row = (await self._session.execute(
            select(QuizAttemptRow).where(QuizAttemptRow.user_id == user_id, done)
            .order_by(QuizAttemptRow.id.desc()).limit(1)
        )).scalars().first()
        return self._attempt(row) if row else None

    async def current(self, user_id: int) -> QuizAttempt | None:
        return await self._newest(user_id, finished=False)

    async def latest_finished(self, user_id: int) -> QuizAttempt | None:
        return await self._newest(user_id, finished=True)

    async def list_for_user(self, user_id: int) -> list[QuizAttempt]:
        rows = await self._session.execute(
            select(QuizAttemptRow).where(QuizAttemptRow.user_id == user_id).order_by(QuizAttemptRow.id)
        )
        return [self._attempt(r) for r in rows.scalars().all()]

    async def save(self, user_id: int, attempt: QuizAttempt) -> QuizAttempt:
        values = attempt.model_dump(exclude={"id"})
        if attempt.id is None:
            row = QuizAttemptRow(user_id=user_id, **values)
            self._session.add(row)
            await self._session.flush()
            return attempt.model_copy(update={"id": row.id})
        await self._session.execute(
            update(QuizAttemptRow).where(QuizAttemptRow.id == attempt.id, QuizAttemptRow.user_id == user_id)
            .values(**values)
        )
        return attempt
