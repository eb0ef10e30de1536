"""Load a validated content pack into the database: upsert by slug, archive what disappeared.

Rows are never deleted: users' data (saved offers, RSVPs, leads) may refer to them. Loading the
same pack twice changes nothing (not even updated_at), so it is safe at every start.

Events, offers and companies may also be created and edited in the web cockpit; a load keeps those
edits (the rules: flows/domain/content_edit.py) and reports what it kept.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content import Pack, PackError, Problem, default_directory
from content.loader import FILES, validate_pack
from content.postcodes import PostcodeDirectory
from flows.conversations.events import announce_change
from flows.core.ports import Clock, PlaceDirectory
from flows.domain.content import EventInfo
from flows.domain.content_edit import ARCHIVED, COCKPIT, PACK, is_held, with_overrides
from flows.domain.offer_import import SOURCE as IMPORTED
from flows.jobs.alerts import alert_saved_searches
from storage import search
from storage.content_export import current_files
from storage.content_views import event_info, locate
from storage.db import CONTENT_LOAD_LOCK, hold_until_commit
from storage.tables import ClusterRow, CompanyRow, ContentColumns, EventRow, FaqRow, ProfessionRow, VacancyRow
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
    company = source.pack.companies_by_slug.get(e.company)
    place = e.place or (company.place if company and e.plz == company.plz else None)  # the loader filled it in
    here = locate(source.postcodes, e.plz, place)
    if here is None:  # the loader checked every PLZ; an entry merged with cockpit edits may still miss
        raise ValueError(f"unknown postal code {e.plz}")
    return {"company": e.company, "profession": e.profession, "kind": e.kind, "title": e.title,
            "plz": e.plz, "start": e.start, "published": e.published, "lat": here.lat, "lon": here.lon,
            "school_level": e.school_expectation}


def _event(e: Any, source: _Source) -> dict[str, Any]:
    here = locate(source.postcodes, e.plz, e.place)
    if here is None:  # the loader checked place and PLZ; see _vacancy
        raise ValueError(f"unknown postal code {e.plz}")
    return {"cluster": e.cluster, "title": e.title, "format": e.format, "plz": e.plz,
            "audience": e.audience, "cancelled": e.cancelled, "starts_at": e.starts, "ends_at": e.ends,
            "lat": here.lat, "lon": here.lon}


def _faq(e: Any, _: _Source) -> dict[str, Any]:
    return {"question": e.question, "audience": e.audience}


KINDS: list[tuple[str, type[ContentColumns], Callable[[Any, _Source], dict[str, Any]]]] = [
    ("clusters", ClusterRow, _cluster),
    ("professions", ProfessionRow, _profession),
    ("companies", CompanyRow, _company),
    ("vacancies", VacancyRow, _vacancy),
    ("events", EventRow, _event),
    ("quiz", QuizQuestionRow, _quiz),
    ("faq", FaqRow, _faq),
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
    # kind -> slugs the load left (partly) as the cockpit has them: created or edited there, and the pack
    # says something else or nothing at all ("kept, edited in the cockpit")
    kept: dict[str, list[str]] = field(default_factory=dict)
    adopted: dict[str, int] = field(default_factory=dict)  # --adopt: rows handed back to the pack

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or any(self.archived.values())


def _same(row: ContentColumns, values: dict[str, Any]) -> bool:
    return all(getattr(row, key) == value for key, value in values.items())


EVENT_IDENTITY = ("starts_at", "ends_at", "plz", "cancelled")  # a change here is news for attendees


def event_moved(row: EventRow, values: dict[str, Any]) -> bool:
    """News for attendees: new time, new town (a PLZ may cover several), cancelled or back on. Not a
    new time of an event that was and stays cancelled (they were told it is off)."""
    if row.cancelled and values["cancelled"]:
        return False
    return any(getattr(row, k) != values[k] for k in EVENT_IDENTITY) \
        or row.data.get("place") != values["data"].get("place")


def event_view(row: EventRow) -> EventInfo:
    return event_info(row.data, [], row.lat, row.lon, row.sequence)


EDITABLE_KINDS = {"companies": "companies.yaml", "vacancies": "vacancies.yaml", "events": "events.yaml",
                  "faq": "faq.yaml"}
MODELS = {kind: FILES[file] for kind, file in EDITABLE_KINDS.items()}


def _held_values(kind: str, row: Any, values: dict[str, Any], source: _Source,
                 columns: Callable[[Any, _Source], dict[str, Any]]) -> dict[str, Any] | None:
    """What a load writes into a row the cockpit created or edited: None to leave it as it is (created in
    the cockpit, or the pack entry and the cockpit's fields do not fit together), else the pack entry
    with the cockpit's fields on top (see flows/domain/content_edit.py)."""
    if row.origin == COCKPIT:
        return None
    merged = with_overrides(values["data"], row.overrides)
    try:
        entry = MODELS[kind].model_validate(merged)
        return {"data": entry.model_dump(mode="json"), "archived": bool(row.overrides.get(ARCHIVED)),
                **columns(entry, source)}
    except (ValidationError, ValueError):
        return None


def _entry_of(files: dict[str, list[dict[str, Any]]], problem: Problem) -> tuple[str | None, str]:
    """The slug of the entry a problem is about, and the rest of its path ("[3].plz" -> "x", ".plz")."""
    match = re.match(r"\[(\d+)\]", problem.path)
    entries = files.get(problem.file, [])
    if match is None or int(match.group(1)) >= len(entries):
        return None, ""
    slug = entries[int(match.group(1))].get("slug")
    return (slug if isinstance(slug, str) else None), problem.path[match.end():]


async def _check_kept(session: AsyncSession, postcodes: PostcodeDirectory) -> None:
    """The content after the load (pack + what it kept from the cockpit) must still be a valid pack, so
    `lotse content export` always writes one: e.g. an offer created in the cockpit whose company the
    pack removed. Such a load is refused, naming the entry, and nothing is written."""
    files = await current_files(session)
    try:
        validate_pack(files, postcodes)
    except PackError as error:
        problems = []
        for p in error.problems:
            slug, rest = _entry_of(files, p)
            where = f'"{slug}"{rest}' if slug else p.path
            problems.append(Problem(p.file, where, p.message + " (with what the load keeps from the web cockpit: "
                                    "change it there, or keep what it needs in the pack)", p.code))
        raise PackError(problems) from None


async def sync_pack(uow_factory: SqlUnitOfWorkFactory, pack: Pack, clock: Clock,
                    postcodes: PlaceDirectory | None = None, adopt: bool = False) -> SyncReport:
    """One transaction for the whole pack: a half-loaded pack is never visible, and the messages
    about moved events and new offers are enqueued in that same transaction.

    Rows created or edited in the web cockpit are kept (flows/domain/content_edit.py); with `adopt`,
    such rows whose pack entry now says exactly what the cockpit says go back to the pack."""
    source = _Source(pack, postcodes or default_directory())
    report = SyncReport()
    now: datetime = clock.now()
    moved: list[tuple[EventInfo, EventRow]] = []
    new_offers: list[str] = []
    async with uow_factory() as uow:
        session = uow.session
        await hold_until_commit(session, CONTENT_LOAD_LOCK)  # two loads at once: one after the other
        for kind, table, columns in KINDS:
            entries: list[BaseModel] = getattr(pack, kind)
            query = select(table)
            if table is VacancyRow:  # imported offers are the import's (storage/offer_imports.py), never archived here
                query = query.where(VacancyRow.origin != IMPORTED)
            existing = {row.slug: row for row in (await session.execute(query)).scalars().all()}
            counts = dict.fromkeys(("created", "updated", "unchanged", "archived"), 0)
            kept: list[str] = []
            adopted = 0
            for position, entry in enumerate(entries):
                values = {"data": entry.model_dump(mode="json"), "archived": False, **columns(entry, source)}
                if kind in ORDERED:
                    values["position"] = position
                row = existing.pop(entry.slug, None)
                if row is not None and kind in EDITABLE_KINDS and is_held(row.origin, row.overrides):
                    if adopt and values["data"] == row.data and not row.overrides.get(ARCHIVED):
                        row.origin, row.overrides = PACK, {}  # the pack says what the cockpit said
                        adopted += 1
                    else:
                        pack_data = values["data"]
                        held = _held_values(kind, row, values, source, columns)
                        if held is None:  # left as the cockpit has it
                            if pack_data != row.data or row.archived:
                                kept.append(entry.slug)
                            counts["unchanged"] += 1
                            continue
                        if held["data"] != pack_data or held["archived"]:
                            kept.append(entry.slug)
                        values = held
                if kind == "vacancies" and not values["archived"] and (row is None or row.archived):
                    new_offers.append(entry.slug)
                if row is None:
                    session.add(table(slug=entry.slug, updated_at=now, **values))
                    counts["created"] += 1
                elif _same(row, values):
                    counts["unchanged"] += 1
                else:
                    if isinstance(row, EventRow) and event_moved(row, values):
                        values["sequence"] = row.sequence + 1
                        moved.append((event_view(row), row))
                    for key, value in values.items():
                        setattr(row, key, value)
                    row.updated_at = now
                    counts["updated"] += 1
            for row in existing.values():
                if kind in EDITABLE_KINDS and is_held(row.origin, row.overrides):
                    if not row.archived:
                        kept.append(row.slug)  # not in the pack: created or edited in the cockpit
                elif not row.archived:
                    row.archived, row.updated_at = True, now
                    counts["archived"] += 1
            for name, count in counts.items():
                getattr(report, name)[kind] = count
            if kind in EDITABLE_KINDS:
                report.kept[kind] = sorted(kept)
                report.adopted[kind] = adopted
        await session.flush()
        if any(report.kept.values()):
            await _check_kept(session, postcodes if isinstance(postcodes, PostcodeDirectory)
                              else default_directory())
        for old, row in moved:
            report.announced += await announce_change(uow, old, event_view(row), now)
        if new_offers:
            report.alerted = await alert_saved_searches(uow, new_offers, source.postcodes, now)
        await search.rebuild(session, now)  # the free questions' index (storage/search.py)
        await uow.commit()
    return report


async def content_is_empty(uow_factory: SqlUnitOfWorkFactory) -> bool:
    async with uow_factory() as uow:
        return (await uow.session.execute(select(ClusterRow.id).limit(1))).first() is None
