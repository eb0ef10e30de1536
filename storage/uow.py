"""Unit of work: one session, one transaction; repositories share it. Rolls back unless committed."""
from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

from flows.ports import Clock
from storage.repositories import (
    SqlConsentRepository,
    SqlContentReader,
    SqlConversationRepository,
    SqlProcessedUpdateRepository,
    SqlUserRepository,
)


class SqlUnitOfWork:
    users: SqlUserRepository
    conversations: SqlConversationRepository
    consents: SqlConsentRepository
    updates: SqlProcessedUpdateRepository
    content: SqlContentReader

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        session = self._session = self._sessions()
        self.users = SqlUserRepository(session)
        self.conversations = SqlConversationRepository(session, self._clock)
        self.consents = SqlConsentRepository(session)
        self.updates = SqlProcessedUpdateRepository(session, self._clock)
        self.content = SqlContentReader(session)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()  # no-op after commit; undoes anything uncommitted
        finally:
            await self._session.close()
            self._session = None

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()

    async def rollback(self) -> None:
        assert self._session is not None
        await self._session.rollback()


class SqlUnitOfWorkFactory:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._clock)
