"""The cockpit's sign-ins, sessions and audit log. Nothing here commits: the caller's unit of work does."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import desc, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables_cockpit import AuditRow, CockpitSessionRow, CockpitSignInRow


@dataclass(frozen=True)
class SessionInfo:
    channel: str
    chat_id: int
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class SqlCockpitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_sign_in(self, token_hash: str, channel: str, chat_id: int, at: datetime,
                          expires_at: datetime) -> None:
        self._session.add(CockpitSignInRow(token_hash=token_hash, channel=channel, chat_id=chat_id, created_at=at,
                                           expires_at=expires_at))
        await self._session.flush()

    async def use_sign_in(self, token_hash: str, now: datetime) -> tuple[str, int] | None:
        """The agent a valid, unused link belongs to; the link is used up by this (one UPDATE, so two
        browsers racing with the same link cannot both get in)."""
        result = await self._session.execute(
            update(CockpitSignInRow)
            .where(CockpitSignInRow.token_hash == token_hash, CockpitSignInRow.used_at.is_(None),
                   CockpitSignInRow.expires_at > now)
            .values(used_at=now))
        if not isinstance(result, CursorResult) or result.rowcount != 1:
            return None
        row = await self._session.get(CockpitSignInRow, token_hash)
        return None if row is None else (row.channel, row.chat_id)

    async def add_session(self, id_hash: str, channel: str, chat_id: int, csrf_token: str, at: datetime,
                          expires_at: datetime) -> None:
        self._session.add(CockpitSessionRow(id_hash=id_hash, channel=channel, chat_id=chat_id, csrf_token=csrf_token,
                                            created_at=at, last_seen_at=at, expires_at=expires_at))
        await self._session.flush()

    async def active_session(self, id_hash: str, now: datetime) -> SessionInfo | None:
        row = await self._session.get(CockpitSessionRow, id_hash)
        if row is None or row.ended_at is not None or row.expires_at is None or row.expires_at <= now:
            return None
        return SessionInfo(channel=row.channel, chat_id=row.chat_id, csrf_token=row.csrf_token,
                           expires_at=row.expires_at)

    async def touch_session(self, id_hash: str, now: datetime, expires_at: datetime) -> None:
        await self._session.execute(update(CockpitSessionRow).where(CockpitSessionRow.id_hash == id_hash)
                                    .values(last_seen_at=now, expires_at=expires_at))

    async def end_session(self, id_hash: str, now: datetime) -> None:
        await self._session.execute(update(CockpitSessionRow)
                                    .where(CockpitSessionRow.id_hash == id_hash, CockpitSessionRow.ended_at.is_(None))
                                    .values(ended_at=now))

    async def end_sessions_of(self, channel: str, chat_id: int, now: datetime) -> None:
        """Signs an agent out everywhere (e.g. no longer an agent)."""
        await self._session.execute(update(CockpitSessionRow)
                                    .where(CockpitSessionRow.channel == channel, CockpitSessionRow.chat_id == chat_id,
                                           CockpitSessionRow.ended_at.is_(None))
                                    .values(ended_at=now))

    async def record(self, at: datetime, actor: str, cluster: str, action: str, subject: str,
                     detail: dict[str, Any] | None = None) -> None:
        self._session.add(AuditRow(at=at, actor=actor, cluster=cluster, action=action, subject=subject[:96],
                                   detail=detail or {}))
        await self._session.flush()

    async def audit(self, cluster: str, limit: int = 100) -> list[AuditEntry]:
        rows = (await self._session.execute(select(AuditRow).where(AuditRow.cluster == cluster)
                                            .order_by(desc(AuditRow.at), desc(AuditRow.id)).limit(limit))).scalars()
        return [AuditEntry(at=r.at, actor=r.actor, action=r.action, subject=r.subject, detail=r.detail)
                for r in rows if r.at is not None]
