"""Events as the flows see them, RSVPs and feedback."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.core.model import Profile
from flows.domain.content import EventInfo, Rsvp
from storage.content_views import event_info
from storage.tables import CompanyRow, EventRow, UserRow
from storage.tables_events import EventFeedbackRow, EventRsvpRow


def pack_event(data: dict[str, Any], company_names: list[str], lat: float, lon: float, sequence: int,
               company_slugs: list[str]) -> EventInfo:
    """An event as the flows see it, with who it is for and where to register (if anywhere)."""
    info = event_info(data, company_names, lat, lon, sequence, company_slugs=company_slugs)
    return info.model_copy(update={"pupils_only": bool(data.get("pupils_only")),
                                   "registration_url": data.get("registration_url")})


class SqlEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _infos(self, rows: list[EventRow]) -> list[EventInfo]:
        wanted = {slug for row in rows for slug in row.data.get("companies", [])}
        names: dict[str, str] = {}
        if wanted:  # archived companies are no longer shown (their pages are gone)
            found = await self._session.execute(select(CompanyRow.slug, CompanyRow.name).where(
                CompanyRow.slug.in_(wanted),
                col(CompanyRow.archived).is_(False)))
            names = dict(found.tuples().all())
        infos: list[EventInfo] = []
        for r in rows:
            shown = [c for c in r.data.get("companies", []) if c in names]
            infos.append(pack_event(r.data, [names[c] for c in shown], r.lat, r.lon, r.sequence, shown))
        return infos

    async def upcoming(self, now: datetime) -> list[EventInfo]:
        rows = await self._session.execute(
            select(EventRow).where(col(EventRow.archived).is_(False), EventRow.ends_at > now)
            .order_by(EventRow.starts_at))
        return await self._infos(list(rows.scalars().all()))

    async def get(self, slug: str) -> EventInfo | None:
        row = (await self._session.execute(
            select(EventRow).where(EventRow.slug == slug, col(EventRow.archived).is_(False)))).scalars().first()
        return (await self._infos([row]))[0] if row else None

    @staticmethod
    def _rsvp(row: EventRsvpRow) -> Rsvp:
        return Rsvp(event=row.event, offsets=list(row.offsets), created_at=row.created_at)

    async def rsvp(self, user_id: int, slug: str) -> Rsvp | None:
        row = (await self._session.execute(select(EventRsvpRow).where(
            EventRsvpRow.user_id == user_id, EventRsvpRow.event == slug))).scalars().first()
        return self._rsvp(row) if row else None

    async def rsvps(self, user_id: int) -> list[Rsvp]:
        rows = await self._session.execute(
            select(EventRsvpRow).where(EventRsvpRow.user_id == user_id).order_by(EventRsvpRow.id))
        return [self._rsvp(r) for r in rows.scalars().all()]

    async def save_rsvp(self, user_id: int, rsvp: Rsvp) -> None:
        changed = await self._session.execute(
            update(EventRsvpRow).where(EventRsvpRow.user_id == user_id, EventRsvpRow.event == rsvp.event)
            .values(offsets=rsvp.offsets))
        if not changed.rowcount:
            self._session.add(EventRsvpRow(user_id=user_id, event=rsvp.event, offsets=rsvp.offsets,
                                           created_at=rsvp.created_at))
            await self._session.flush()

    async def cancel_rsvp(self, user_id: int, slug: str) -> None:
        await self._session.execute(
            delete(EventRsvpRow).where(EventRsvpRow.user_id == user_id, EventRsvpRow.event == slug))

    async def attendees(self, slug: str) -> list[tuple[Profile, Rsvp]]:
        rows = await self._session.execute(
            select(UserRow, EventRsvpRow).join(EventRsvpRow, EventRsvpRow.user_id == UserRow.id)
            .where(EventRsvpRow.event == slug, col(UserRow.active).is_(True)))
        return [(Profile.model_validate(u, from_attributes=True), self._rsvp(r)) for u, r in rows.tuples().all()]

    async def save_feedback(self, user_id: int, slug: str, stars: int, at: datetime) -> None:
        changed = await self._session.execute(
            update(EventFeedbackRow).where(EventFeedbackRow.user_id == user_id, EventFeedbackRow.event == slug)
            .values(stars=stars, created_at=at))
        if not changed.rowcount:
            self._session.add(EventFeedbackRow(user_id=user_id, event=slug, stars=stars, created_at=at))
            await self._session.flush()

    async def feedback(self, user_id: int) -> dict[str, int]:
        rows = await self._session.execute(
            select(EventFeedbackRow.event, EventFeedbackRow.stars).where(EventFeedbackRow.user_id == user_id))
        return dict(rows.tuples().all())
