"""Capabilities the flows need, as Protocols. storage/ and content/ implement them."""
from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from flows.geo import Place
from flows.model import ClusterInfo, ConsentRecord, ConversationState, Profile, Reply


class StaleState(Exception):
    """The conversation changed under us (another worker); the event is processed again."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class PlaceDirectory(Protocol):
    def lookup(self, plz: str) -> list[Place]: ...
    def find(self, plz: str, name: str) -> Place | None:
        """The place of that name under that PLZ (a PLZ often covers several villages)."""
        ...
    def search(self, name: str, limit: int = 10) -> list[Place]: ...
    def nearest(self, lat: float, lon: float) -> Place: ...
    def is_known(self, plz: str) -> bool: ...


class UserRepository(Protocol):
    async def get(self, channel: str, chat_id: int) -> Profile | None: ...
    async def save(self, profile: Profile) -> Profile: ...
    async def delete(self, user_id: int) -> None: ...
    async def mark_inactive(self, channel: str, chat_id: int) -> None: ...
    async def ids_last_seen_before(self, cutoff: datetime, limit: int) -> list[int]: ...


class ConversationRepository(Protocol):
    async def get(self, user_id: int) -> ConversationState: ...
    async def save(self, user_id: int, state: ConversationState) -> ConversationState:
        """Store the state if its version is still the stored one, else raise StaleState."""
        ...


class ConsentRepository(Protocol):
    async def list_for_user(self, user_id: int) -> list[ConsentRecord]: ...
    async def add(self, user_id: int, record: ConsentRecord) -> ConsentRecord: ...


class ProcessedUpdate(Protocol):
    replies: list[Reply] | None
    locale: str
    formal: bool
    answered: bool


class ProcessedUpdateRepository(Protocol):
    async def get(self, channel: str, update_id: int) -> ProcessedUpdate | None: ...
    async def add(self, channel: str, update_id: int, replies: list[Reply], locale: str,
                  formal: bool = False) -> None: ...
    async def mark_answered(self, channel: str, update_id: int) -> None:
        """Remember that the replies went out and forget their content (data minimisation)."""
        ...

    async def purge_before(self, cutoff: datetime) -> int: ...


class ContentReader(Protocol):
    async def clusters(self) -> list[ClusterInfo]: ...
    async def cluster(self, slug: str) -> ClusterInfo | None: ...


class UnitOfWork(Protocol):
    users: UserRepository
    conversations: ConversationRepository
    consents: ConsentRepository
    updates: ProcessedUpdateRepository
    content: ContentReader

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
