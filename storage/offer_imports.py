"""The database side of an offer import (imports/ba.py): the content it needs, its runs and their cursor,
one transaction per page of listings, and the end of a run (archive what was not seen, tell saved
searches about new offers, index them for free questions).

Imported offers are rows of `vacancies` with origin "ba" (flows/domain/offer_import.py). Content loads
and the web cockpit leave them alone; they are never deleted (saved offers, leads and alerts may refer
to them), only archived.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.core.ports import PlaceDirectory
from flows.domain.offer_import import (
    SOURCE,
    ClusterCompany,
    ImportContext,
    ImportedOffer,
    ImportProfession,
    ImportRegion,
    RegionTown,
)
from flows.jobs.alerts import alert_saved_searches
from storage import search
from storage.tables import ClusterRow, CompanyRow, ProfessionRow, VacancyRow
from storage.tables_imports import OfferImportRow
from storage.uow import SqlUnitOfWorkFactory

RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass
class Run:
    id: int | None  # None: a dry run, nothing is written
    started_at: datetime
    query: int = 0  # the search being read (index into the planned searches)
    page: int = 1  # its next page
    complete: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    resumed: bool = False


@dataclass(frozen=True)
class PageWrite:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Finish:
    archived: int = 0
    alerted: int = 0
    new_offers: int = 0


def _towns(raw: object) -> tuple[RegionTown, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(RegionTown(name=str(t["name"]), plz=str(t["plz"])) for t in raw
                 if isinstance(t, dict) and t.get("name") and t.get("plz"))


class OfferImportStore:
    def __init__(self, uow_factory: SqlUnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def context(self) -> ImportContext:
        async with self._uow_factory() as uow:
            session = uow.session
            clusters = (await session.execute(select(ClusterRow.data).where(col(ClusterRow.archived).is_(False))
                                              .order_by(ClusterRow.slug))).scalars().all()
            professions = (await session.execute(select(ProfessionRow.data).where(
                col(ProfessionRow.archived).is_(False)).order_by(ProfessionRow.slug))).scalars().all()
            companies = (await session.execute(select(CompanyRow.slug, CompanyRow.name).where(
                col(CompanyRow.archived).is_(False)).order_by(CompanyRow.slug))).tuples().all()
            own = (await session.execute(select(VacancyRow.company, VacancyRow.profession).where(
                col(VacancyRow.archived).is_(False), VacancyRow.origin != SOURCE).distinct())).tuples().all()
        return ImportContext(
            regions=tuple(ImportRegion(cluster=str(c["slug"]), towns=_towns(c.get("region_towns")),
                                       radius_km=int(c.get("ba_radius_km") or 20)) for c in clusters),
            professions=tuple(ImportProfession(slug=str(p["slug"]), ba_names=tuple(p.get("ba_names") or ()),
                                               clusters=tuple(p.get("clusters") or ()),
                                               berufsschule=_towns(p.get("berufsschule"))) for p in professions),
            companies=tuple(ClusterCompany(slug=s, name=n) for s, n in companies),
            own_offers=frozenset((c, p) for c, p in own))

    async def open_run(self, scope: str, now: datetime, resume_within: timedelta) -> Run:
        """A new run, or the last one of this scope if it stopped half-way less than `resume_within` ago
        (it goes on from its cursor: the pages it wrote are not fetched again)."""
        async with self._uow_factory() as uow:
            session = uow.session
            last = (await session.execute(select(OfferImportRow).where(
                OfferImportRow.source == SOURCE, OfferImportRow.scope == scope)
                .order_by(col(OfferImportRow.id).desc()).limit(1))).scalars().first()
            if last is not None and last.status == RUNNING and last.started_at is not None \
                    and last.updated_at is not None and now - last.updated_at <= resume_within:
                return Run(id=last.id, started_at=last.started_at, query=int(last.cursor.get("query", 0)),
                           page=int(last.cursor.get("page", 1)), complete=list(last.complete),
                           counts=dict(last.counts), resumed=True)
            if last is not None and last.status == RUNNING:  # stopped too long ago: its cursor is stale
                last.status, last.finished_at = FAILED, now
            row = OfferImportRow(source=SOURCE, scope=scope, status=RUNNING, started_at=now, updated_at=now,
                                 cursor={"query": 0, "page": 1}, complete=[], counts={})
            session.add(row)
            await session.flush()
            run_id = row.id
            await uow.commit()
        return Run(id=run_id, started_at=now)

    async def write_page(self, run: Run, offers: list[ImportedOffer], now: datetime) -> PageWrite:
        """The page's offers and the run's cursor, in one transaction: a crash leaves either both or
        neither, so a resumed run neither skips nor repeats a page."""
        created = updated = unchanged = 0
        async with self._uow_factory() as uow:
            session = uow.session
            by_slug = {offer.slug: offer for offer in offers}  # one listing found twice on a page: once
            rows = {row.slug: row for row in (await session.execute(select(VacancyRow).where(
                col(VacancyRow.slug).in_(list(by_slug))))).scalars().all()} if by_slug else {}
            for slug, offer in by_slug.items():
                row = rows.get(slug)
                columns = {"company": offer.company, "profession": offer.profession, "kind": offer.kind,
                           "title": offer.title[:200], "plz": offer.plz, "start": offer.start,
                           "published": offer.published, "lat": offer.lat, "lon": offer.lon,
                           "region": offer.region, "seen_at": now}
                if row is None:
                    session.add(VacancyRow(slug=slug, data=offer.data, archived=False, origin=SOURCE, overrides={},
                                           updated_at=now, imported_at=now, school_level=None, **columns))
                    created += 1
                    continue
                if row.origin != SOURCE:  # a pack or cockpit offer of that slug: never overwritten
                    unchanged += 1
                    continue
                if row.archived:  # listed again: new for saved searches, and a page for free questions again
                    row.archived, row.imported_at, row.updated_at = False, now, now
                if row.data != offer.data:
                    row.data, row.updated_at = offer.data, now
                    updated += 1
                else:
                    unchanged += 1
                for key, value in columns.items():
                    setattr(row, key, value)
            await self._save_cursor(session, run, now)
            await uow.commit()
        return PageWrite(created, updated, unchanged)

    async def save_cursor(self, run: Run, now: datetime) -> None:
        async with self._uow_factory() as uow:
            await self._save_cursor(uow.session, run, now)
            await uow.commit()

    @staticmethod
    async def _save_cursor(session: AsyncSession, run: Run, now: datetime) -> None:
        if run.id is None:
            return
        await session.execute(update(OfferImportRow).where(OfferImportRow.id == run.id).values(
            cursor={"query": run.query, "page": run.page}, complete=list(run.complete), counts=dict(run.counts),
            updated_at=now))

    async def finish(self, run: Run, groups: Collection[tuple[str, str, str]], places: PlaceDirectory,
                     now: datetime, failed: bool = False) -> Finish:
        """Archive the offers of wholly read searches that no page listed in this run; tell saved searches
        about the offers new since the run started; index them for free questions; close the run. One
        transaction."""
        assert run.id is not None
        archived = 0
        async with self._uow_factory() as uow:
            session = uow.session
            for cluster, profession, kind in sorted(groups):
                result = await session.execute(update(VacancyRow).where(
                    VacancyRow.origin == SOURCE, col(VacancyRow.archived).is_(False), VacancyRow.region == cluster,
                    VacancyRow.profession == profession, VacancyRow.kind == kind,
                    col(VacancyRow.seen_at) < run.started_at).values(archived=True, updated_at=now))
                archived += int(getattr(result, "rowcount", 0) or 0)
            new = list((await session.execute(select(VacancyRow.slug).where(
                VacancyRow.origin == SOURCE, col(VacancyRow.archived).is_(False),
                col(VacancyRow.imported_at) >= run.started_at).order_by(VacancyRow.slug))).scalars().all())
            alerted = await alert_saved_searches(uow, new, places, now) if new else 0
            changed = (await session.execute(select(VacancyRow.slug).where(  # created, changed, archived
                VacancyRow.origin == SOURCE, col(VacancyRow.updated_at) >= run.started_at))).scalars().all()
            await search.rebuild_refs(session, now, "offer", changed)  # the free questions' index
            run.counts["archived"] = run.counts.get("archived", 0) + archived
            await session.execute(update(OfferImportRow).where(OfferImportRow.id == run.id).values(
                status=FAILED if failed else DONE, finished_at=now, updated_at=now,
                cursor={"query": run.query, "page": run.page}, complete=list(run.complete), counts=dict(run.counts)))
            await uow.commit()
        return Finish(archived=archived, alerted=alerted, new_offers=len(new))

    async def last_finished(self, scope: str) -> datetime | None:
        """When the last run of this scope started that ended (done, or stopped by an unknown answer: tried
        again the next day). A run that stopped half-way is not ended: the next one goes on with it."""
        async with self._uow_factory() as uow:
            return (await uow.session.execute(select(func.max(OfferImportRow.started_at)).where(
                OfferImportRow.source == SOURCE, OfferImportRow.scope == scope,
                col(OfferImportRow.status).in_((DONE, FAILED))))).scalar_one_or_none()
