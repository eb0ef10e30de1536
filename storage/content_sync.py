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

from content import Pack, default_directory
from flows.conversations.events import announce_change
from flows.core.ports import Clock, PlaceDirectory
from flows.domain.content import EventInfo
from flows.jobs.alerts import alert_saved_searches
from storage.content_views import event_info, locate
from storage.tables import ClusterRow, CompanyRow, ContentColumns, EventRow, ProfessionRow, VacancyRow
from storage.tables_quiz import QuizQuestionRow
from storage.uow import SqlUnitOfWorkFactory


@dataclass(frozen=True)
class _Source:
    pack: Pack
    postcodes: PlaceDirectory


def _quiz(e: Any, _: _Source) -> dict[str, Any]:
    return {}  # position is added from the entry's place in the pack


def _cluster(e: Any, _: _Source) -> dict[str, Any]:
    return {"name": e.name, "region_name": e.region_name}


def _profession(e: Any, _: _Source) -> dict[str, Any]:
    return {"name": e.name, "field": e.field, "duration_months": e.duration_months}


def _company(e: Any, _: _Source) -> dict[str, Any]:
    return {"name": e.name, "cluster": e.cluster, "plz": e.plz, "example": e.example}


def _vacancy(e: Any, source: _Source) -> dict[str, Any]:
    company = source.pack.companies_by_slug[e.company]
    place = e.place or (company.place if e.plz == company.plz else None)  # the loader filled in or checked it
    here = locate(source.postcodes, e.plz, place)
    assert here is not None  # the loader checked every PLZ
    return {"company": e.company, "profession": e.profession, "kind": e.kind, "title": e.title,
            "plz": e.plz, "start": e.start, "published": e.published, "lat": here.lat, "lon": here.lon,
            "school_level": e.school_expectation}


def _event(e: Any, source: _Source) -> dict[str, Any]:
    here = locate(source.postcodes, e.plz, e.place)
    assert here is not None  # the loader checked place and PLZ
    return {"cluster": e.cluster, "title": e.title, "format": e.format, "plz": e.plz,
            "audience": e.audience, "cancelled": e.cancelled, "starts_at": e.starts, "ends_at": e.ends,
            "lat": here.lat, "lon": here.lon}


KINDS: list[tuple[str, type[ContentColumns], Callable[[Any, _Source], dict[str, Any]]]] = [
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
    announced: int = 0  # messages to people who RSVP'd to a moved or cancelled event
    alerted: int = 0  # saved searches told about new offers

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or any(self.archived.values())


def _same(row: ContentColumns, values: dict[str, Any]) -> bool:
    return all(getattr(row, key) == value for key, value in values.items())


EVENT_IDENTITY = ("starts_at", "ends_at", "plz", "cancelled")  # a change here is news for attendees


def _event_view(row: EventRow) -> EventInfo:
    return event_info(row.data, [], row.lat, row.lon, row.sequence)


async def sync_pack(uow_factory: SqlUnitOfWorkFactory, pack: Pack, clock: Clock,
                    postcodes: PlaceDirectory | None = None) -> SyncReport:
    """One transaction for the whole pack: a half-loaded pack is never visible, and the messages
    about moved events and new offers are enqueued in that same transaction."""
    source = _Source(pack, postcodes or default_directory())
    report = SyncReport()
    now: datetime = clock.now()
    moved: list[tuple[EventInfo, EventRow]] = []
    new_offers: list[str] = []
    async with uow_factory() as uow:
        session = uow.session
        for kind, table, columns in KINDS:
            entries: list[BaseModel] = getattr(pack, kind)
            existing = {row.slug: row for row in (await session.execute(select(table))).scalars().all()}
            counts = dict.fromkeys(("created", "updated", "unchanged", "archived"), 0)
            for position, entry in enumerate(entries):
                values = {"data": entry.model_dump(mode="json"), "archived": False, **columns(entry, source)}
                if kind in ORDERED:
                    values["position"] = position
                row = existing.pop(entry.slug, None)
                if kind == "vacancies" and (row is None or row.archived):
                    new_offers.append(entry.slug)
                if row is None:
                    session.add(table(slug=entry.slug, updated_at=now, **values))
                    counts["created"] += 1
                elif _same(row, values):
                    counts["unchanged"] += 1
                else:
                    if isinstance(row, EventRow) and any(getattr(row, k) != values[k] for k in EVENT_IDENTITY):
                        values["sequence"] = row.sequence + 1
                        moved.append((_event_view(row), row))
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
        await session.flush()
        for old, row in moved:
            report.announced += await announce_change(uow, old, _event_view(row), now)
        if new_offers:
            report.alerted = await alert_saved_searches(uow, new_offers, source.postcodes, now)
        await uow.commit()
    return report


async def content_is_empty(uow_factory: SqlUnitOfWorkFactory) -> bool:
    async with uow_factory() as uow:
        return (await uow.session.execute(select(ClusterRow.id).limit(1))).first() is None
