"""Unit of work: one session, one transaction; repositories share it. Rolls back unless committed."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.core.ports import Clock
from storage.broadcasts import SqlBroadcastRepository
from storage.cockpit import SqlCockpitRepository
from storage.commutes import SqlCommuteReader
from storage.events import SqlEventRepository
from storage.knowledge import SqlKnowledgeRepository
from storage.leads import SqlLeadRepository
from storage.outbox import SqlOutboxRepository
from storage.questions import SqlQuestionRepository
from storage.repositories import (
    SqlConsentRepository,
    SqlContentReader,
    SqlConversationRepository,
    SqlProcessedUpdateRepository,
    SqlQuizRepository,
    SqlUserRepository,
)
from storage.vacancies import SqlVacancyRepository

log = logging.getLogger(__name__)
OutboxListener = Callable[[frozenset[str]], None]
ANSWERS = "answers"  # the wake-up topic of a commit that kept a question for the model (flows/jobs/answers.py)


class WriterLock(asyncio.Lock):
    """The SQLite writer turn of this process; knows which task holds it. (A context variable would
    be inherited by tasks started inside a unit of work, e.g. an outbox tick woken by a commit, and
    make them look nested.)"""

    holder: asyncio.Task[object] | None = None


class SqlUnitOfWork:
    users: SqlUserRepository
    conversations: SqlConversationRepository
    consents: SqlConsentRepository
    updates: SqlProcessedUpdateRepository
    content: SqlContentReader
    outbox: SqlOutboxRepository
    quiz: SqlQuizRepository
    vacancies: SqlVacancyRepository
    events: SqlEventRepository
    leads: SqlLeadRepository
    broadcasts: SqlBroadcastRepository
    cockpit: SqlCockpitRepository
    knowledge: SqlKnowledgeRepository
    questions: SqlQuestionRepository
    commutes: SqlCommuteReader

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 writer_lock: WriterLock | None = None, listeners: tuple[OutboxListener, ...] = ()) -> None:
        self._sessions = sessions
        self._clock = clock
        self._writer_lock = writer_lock
        self._listeners = listeners
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        if self._writer_lock is not None:
            if self._writer_lock.locked() and self._writer_lock.holder is asyncio.current_task():
                raise RuntimeError("nested unit of work: it would wait for itself forever")
            await self._writer_lock.acquire()
            self._writer_lock.holder = asyncio.current_task()
        session = self._session = self._sessions()
        self.users = SqlUserRepository(session)
        self.conversations = SqlConversationRepository(session, self._clock)
        self.consents = SqlConsentRepository(session)
        self.updates = SqlProcessedUpdateRepository(session, self._clock)
        self.content = SqlContentReader(session)
        self.outbox = SqlOutboxRepository(session, self._clock)
        self.quiz = SqlQuizRepository(session)
        self.vacancies = SqlVacancyRepository(session)
        self.events = SqlEventRepository(session)
        self.leads = SqlLeadRepository(session)
        self.broadcasts = SqlBroadcastRepository(session)
        self.cockpit = SqlCockpitRepository(session)
        self.knowledge = SqlKnowledgeRepository(session, self._clock)
        self.questions = SqlQuestionRepository(session)
        self.commutes = SqlCommuteReader(session)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()  # no-op after commit; undoes anything uncommitted
        finally:
            await self._session.close()
            self._session = None
            if self._writer_lock is not None:
                self._writer_lock.holder = None
                self._writer_lock.release()

    @property
    def session(self) -> AsyncSession:
        """For storage code that works on whole tables (content sync) inside this unit of work."""
        assert self._session is not None
        return self._session

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()
        channels = frozenset(self.outbox.due_now) | ({ANSWERS} if self.questions.pending_added else set())
        self.outbox.due_now.clear()
        self.questions.pending_added = False
        if channels:
            for listener in self._listeners:
                try:
                    listener(channels)
                except Exception:  # a wake-up is a shortcut; the next tick sends all the same
                    log.exception("outbox listener failed")

    async def rollback(self) -> None:
        assert self._session is not None
        await self._session.rollback()
        self.outbox.due_now.clear()
        self.questions.pending_added = False


class SqlUnitOfWorkFactory:
    """With SQLite, units of work of this process take turns: SQLite has one writer at a time,
    and queueing here is cheaper and fairer than SQLite's busy-wait. Never nest two of them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._serialize = sessions.kw["bind"].dialect.name == "sqlite"
        self._writer_lock: WriterLock | None = None
        self._listeners: tuple[OutboxListener, ...] = ()

    def on_outbox_commit(self, listener: OutboxListener) -> None:
        """Call `listener(topics)` after each commit that stored messages due now (their channels) or kept a
        question for the model (ANSWERS), in this process."""
        self._listeners = (*self._listeners, listener)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    def __call__(self) -> SqlUnitOfWork:
        if self._serialize and self._writer_lock is None:
            self._writer_lock = WriterLock()  # created in the running loop, on first use
        return SqlUnitOfWork(self._sessions, self._clock, self._writer_lock, self._listeners)
