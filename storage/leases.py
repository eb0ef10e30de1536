"""A lease in the database: one process at a time does a job (long polling of the bot's token), for as
long as it renews the lease; a process that died loses it when it expires. Works across processes and
machines on PostgreSQL, and across processes on one SQLite file."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from storage.tables_leases import LeaseRow


@dataclass(frozen=True)
class Held:
    """Who holds a lease (when someone else does)."""

    holder: str
    acquired_at: datetime
    expires_at: datetime


class Leases:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta,
                      replacing: str | None = None) -> Held | None:
        """Takes or renews the lease for `holder`; None on success, else who holds it. `replacing`: a
        holder known to be dead (its process is gone), whose lease is taken before it expires."""
        async with self._sessions() as session:
            dialect = session.get_bind().dialect.name
            insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
            statement = insert_(LeaseRow).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
            # One statement decides between two processes: a free, expired or own lease is taken.
            statement = statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"holder": holder, "expires_at": now + ttl,  # a renewal keeps its first acquired_at
                      "acquired_at": case((LeaseRow.holder == holder, LeaseRow.acquired_at), else_=now)},
                where=or_(col(LeaseRow.expires_at) <= now, LeaseRow.holder == holder,
                          LeaseRow.holder == (replacing or holder)))
            result = await session.execute(statement)
            taken = bool(getattr(result, "rowcount", 0))
            row = None if taken else (await session.execute(select(LeaseRow).where(LeaseRow.name == name))).scalar()
            await session.commit()
        if taken or row is None or row.acquired_at is None or row.expires_at is None:
            return None
        return Held(holder=row.holder, acquired_at=row.acquired_at, expires_at=row.expires_at)

    async def release(self, name: str, holder: str) -> None:
        async with self._sessions() as session:
            await session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))
            await session.commit()
