"""The knowledge port on SQL: search over the bot's pages (storage/search.py) and the FAQ entries."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.core.ports import Clock
from flows.domain.knowledge import FaqInfo, KnowledgeHit, faq_info
from storage.tables import FaqRow


class SqlKnowledgeRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock  # events that ended since the last rebuild are left out

    async def search(self, query: str, limit: int = 5, cluster: str | None = None,
                     audience: str | None = None) -> list[KnowledgeHit]:
        from storage import search  # the index module (storage/search.py), read only when asked

        hits = await search.search(self._session, query, limit=limit, cluster=cluster, audience=audience,
                                   now=self._clock.now())
        return [KnowledgeHit(id=h.id, kind=h.kind, ref=h.ref, title=h.title, text=h.body, score=h.score)
                for h in hits]

    async def faq(self, slug: str) -> FaqInfo | None:
        data = (await self._session.execute(
            select(FaqRow.data).where(FaqRow.slug == slug, col(FaqRow.archived).is_(False)))).scalars().first()
        return faq_info(data) if data else None
