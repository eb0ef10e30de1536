"""Load a validated content pack into the database: upsert by slug, archive what disappeared.

Rows are never deleted: users' data (saved offers, RSVPs, leads) may refer to them. Loading the
same pack twice changes nothing (not even updated_at), so it is safe at every start.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

from content import Pack
from flows.ports import Clock
from storage.tables import ClusterRow, CompanyRow, ContentColumns, EventRow, ProfessionRow, VacancyRow
from storage.tables_quiz import QuizQuestionRow


def _quiz(e: Any) -> dict[str, Any]:
    return {}  # position is added from the entry's place in the pack


def _cluster(e: Any) -> dict[str, Any]:
    return {"name": e.name, "region_name": e.region_name}


def _profession(e: Any) -> dict[str, Any]:
    return {"name": e.name, "field": e.field, "duration_months": e.duration_months}


def _company(e: Any) -> dict[str, Any]:
    return {"name": e.name, "cluster": e.cluster, "plz": e.plz, "example": e.example}


def _vacancy(e: Any) -> dict[str, Any]:
    return {"company": e.company, "profession": e.profession, "kind": e.kind, "title": e.title,
            "plz": e.plz, "start": e.start, "published": e.published}


def _event(e: Any) -> dict[str, Any]:
    return {"cluster": e.cluster, "title": e.title, "format": e.format, "plz": e.plz,
            "audience": e.audience, "cancelled": e.cancelled, "starts_at": e.starts, "ends_at": e.ends}


KINDS: list[tuple[str, type[ContentColumns], Callable[[Any], dict[str, Any]]]] = [
    ("clusters", ClusterRow, _cluster),
    ("professions", ProfessionRow, _profession),
    ("companies", CompanyRow, _company),
    ("vacancies", VacancyRow, _vacancy),
    ("events", EventRow, _event),
    ("quiz", QuizQuestionRow, _quiz),
]
ORDERED = {"quiz"}  # kinds whose order in the pack matters


@dataclass
class SyncReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    archived: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or any(self.archived.values())


def _same(row: ContentColumns, values: dict[str, Any]) -> bool:
    return all(getattr(row, key) == value for key, value in values.items())


async def sync_pack(sessions: async_sessionmaker[AsyncSession], pack: Pack, clock: Clock) -> SyncReport:
    """One transaction for the whole pack: a half-loaded pack is never visible."""
    report = SyncReport()
    now: datetime = clock.now()
    async with sessions() as session:
        for kind, table, columns in KINDS:
            entries: list[BaseModel] = getattr(pack, kind)
            existing = {row.slug: row for row in (await session.execute(select(table))).scalars().all()}
            counts = dict.fromkeys(("created", "updated", "unchanged", "archived"), 0)
            for position, entry in enumerate(entries):
                values = {"data": entry.model_dump(mode="json"), "archived": False, **columns(entry)}
                if kind in ORDERED:
                    values["position"] = position
                row = existing.pop(entry.slug, None)  # type: ignore[attr-defined]
                if row is None:
                    session.add(table(slug=entry.slug, updated_at=now, **values))  # type: ignore[attr-defined]
                    counts["created"] += 1
                elif _same(row, values):
                    counts["unchanged"] += 1
                else:
                    for key, value in values.items():
                        setattr(row, key, value)
                    row.updated_at = now
                    counts["updated"] += 1
            for row in existing.values():
                if not row.archived:
                    row.archived, row.updated_at = True, now
                    counts["archived"] += 1
            for name, count in counts.items():
                getattr(report, name)[kind] = count
        await session.commit()
    return report


async def content_is_empty(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as session:
        return (await session.execute(select(ClusterRow.id).limit(1))).first() is None
