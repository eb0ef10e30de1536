"""Commutes by bus and train in the database (storage/tables_commutes.py): what cards, pages and the ranking
read (`SqlCommuteReader`, flows.core.ports.CommuteReader), and what the planning job writes (`CommuteStore`:
destinations wanted, a generation per plan, the switch to it)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.core.ports import PlaceDirectory
from flows.domain.commute import SCHOOL_DAY, Commute, CommutePlan, FeedCredit
from flows.domain.journeys import Point
from storage.content_views import locate
from storage.tables import ClusterRow, CompanyRow, ProfessionRow, VacancyRow
from storage.tables_commutes import CommuteDestinationRow, CommutePlanRow, CommuteRow

if TYPE_CHECKING:  # storage.uow builds the reader below
    from storage.uow import SqlUnitOfWorkFactory

PLAN_ID = 1
ROWS_PER_INSERT = 2000  # one destination's home areas go in a few statements


def _current_generation() -> Any:
    return select(CommutePlanRow.generation).where(CommutePlanRow.id == PLAN_ID).scalar_subquery()


def _commute(row: Any) -> Commute | None:
    if row.minutes is None:
        return None
    return Commute(minutes=row.minutes, changes=row.changes, walk_minutes=row.walk_minutes, leave=row.leave,
                   arrive=row.arrive, first_arrival=row.first_arrival, back_arrival=row.back_arrival)


def plan_of(row: CommutePlanRow) -> CommutePlan:
    feeds = tuple(FeedCredit(name=str(f.get("name", "")), publisher=str(f.get("publisher", "")),
                             licence=str(f.get("licence", "")), url=str(f.get("url", ""))) for f in row.feeds)
    assert row.planned_at is not None
    return CommutePlan(network=row.network, service_day=row.service_day, feeds=feeds, planned_at=row.planned_at,
                       complete=row.complete)


class SqlCommuteReader:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def plan(self) -> CommutePlan | None:
        row = await self._session.get(CommutePlanRow, PLAN_ID)
        return plan_of(row) if row is not None else None

    async def lookup(self, home: Point, destinations: Iterable[Point]) -> dict[Point, Commute | None]:
        wanted = sorted(set(destinations))
        if not wanted:
            return {}
        c = CommuteRow
        rows = (await self._session.execute(select(c).where(
            c.generation == _current_generation(), c.home_lat == home[0], c.home_lon == home[1],
            tuple_(c.dest_lat, c.dest_lon).in_(wanted)))).scalars().all()
        return {(row.dest_lat, row.dest_lon): _commute(row) for row in rows}

    async def reachable(self, home: Point, max_minutes: int) -> frozenset[Point]:
        c = CommuteRow
        rows = (await self._session.execute(select(c.dest_lat, c.dest_lon).where(
            c.generation == _current_generation(), c.home_lat == home[0], c.home_lon == home[1],
            col(c.minutes).is_not(None), col(c.minutes) <= max_minutes))).all()
        return frozenset((float(r[0]), float(r[1])) for r in rows)


def _row(generation: int, home: Point, destination: Point, commute: Commute | None) -> dict[str, Any]:
    values: dict[str, Any] = {"generation": generation, "home_lat": home[0], "home_lon": home[1],
                              "dest_lat": destination[0], "dest_lon": destination[1]}
    if commute is not None:
        values.update(asdict(commute))
    else:
        values.update(minutes=None, changes=0, walk_minutes=0, leave=0, arrive=0, first_arrival=None, back_arrival=None)
    return values


class CommuteStore:
    """The planning job's side: one transaction per destination, then the switch to the new generation."""

    def __init__(self, uow_factory: SqlUnitOfWorkFactory, postcodes: PlaceDirectory) -> None:
        self._uow_factory = uow_factory
        self._postcodes = postcodes

    async def current(self) -> CommutePlan | None:
        async with self._uow_factory() as uow:
            return await uow.commutes.plan()

    async def generation(self) -> int | None:
        async with self._uow_factory() as uow:
            row = await uow.session.get(CommutePlanRow, PLAN_ID)
            return row.generation if row is not None else None

    async def region_towns(self) -> list[Point]:
        """The clusters' reference towns: home areas are the places around them."""
        async with self._uow_factory() as uow:
            clusters = (await uow.session.execute(select(ClusterRow.data).where(
                col(ClusterRow.archived).is_(False)))).scalars().all()
        towns = [locate(self._postcodes, str(t["plz"]), str(t["name"])) for data in clusters
                 for t in data.get("region_towns", []) if isinstance(t, dict) and t.get("plz")]
        return [(t.lat, t.lon) for t in towns if t is not None]

    async def destinations_wanted(self) -> set[Point]:
        """Every place people commute to: offers (the clusters' and imported ones), companies, Berufsschulen."""
        found: set[Point] = set()
        async with self._uow_factory() as uow:
            session = uow.session
            offers = (await session.execute(select(VacancyRow.lat, VacancyRow.lon).where(
                col(VacancyRow.archived).is_(False)).distinct())).all()
            found.update((float(r[0]), float(r[1])) for r in offers)
            schools: list[Mapping[str, Any]] = []
            for data in (await session.execute(select(ProfessionRow.data).where(
                    col(ProfessionRow.archived).is_(False)))).scalars().all():
                schools += [t for t in data.get("berufsschule", []) if isinstance(t, dict)]
            for data in (await session.execute(select(VacancyRow.data).where(
                    col(VacancyRow.archived).is_(False), col(VacancyRow.region).is_(None)))).scalars().all():
                if isinstance(data.get("berufsschule"), dict):
                    schools.append(data["berufsschule"])
            companies = (await session.execute(select(CompanyRow.data).where(
                col(CompanyRow.archived).is_(False)))).scalars().all()
        places = [locate(self._postcodes, str(s.get("plz", "")), s.get("name")) for s in schools]
        places += [locate(self._postcodes, str(c.get("plz", "")), c.get("place")) for c in companies]
        found.update((p.lat, p.lon) for p in places if p is not None)
        return found

    async def planned(self, generation: int) -> set[Point]:
        async with self._uow_factory() as uow:
            rows = (await uow.session.execute(select(CommuteDestinationRow.lat, CommuteDestinationRow.lon).where(
                CommuteDestinationRow.generation == generation))).all()
        return {(float(r[0]), float(r[1])) for r in rows}

    async def discard(self, generation: int) -> None:
        """Drops what a generation holds (a plan that stopped half-way, before it is planned again)."""
        async with self._uow_factory() as uow:
            await uow.session.execute(delete(CommuteRow).where(CommuteRow.generation == generation))
            await uow.session.execute(delete(CommuteDestinationRow).where(CommuteDestinationRow.generation == generation))
            await uow.commit()

    async def save_destination(self, generation: int, destination: Point, planned: Mapping[Point, Commute | None],
                               at: datetime) -> None:
        rows = [_row(generation, home, destination, commute) for home, commute in planned.items()]
        async with self._uow_factory() as uow:
            session = uow.session
            await session.execute(delete(CommuteRow).where(  # planned again (a retried destination)
                CommuteRow.generation == generation, CommuteRow.dest_lat == destination[0],
                CommuteRow.dest_lon == destination[1]))
            await session.execute(delete(CommuteDestinationRow).where(
                CommuteDestinationRow.generation == generation, CommuteDestinationRow.lat == destination[0],
                CommuteDestinationRow.lon == destination[1]))
            for start in range(0, len(rows), ROWS_PER_INSERT):
                await session.execute(insert(CommuteRow), rows[start:start + ROWS_PER_INSERT])
            session.add(CommuteDestinationRow(generation=generation, lat=destination[0], lon=destination[1],
                                              homes=len(rows), planned_at=at))
            await uow.commit()

    async def switch(self, generation: int, network: str, service_day: date, feeds: Iterable[FeedCredit],
                     at: datetime, complete: bool) -> None:
        """Makes `generation` the plan in use (readers see it from this commit on) and drops every other."""
        values = {"generation": generation, "network": network, "day_type": SCHOOL_DAY, "service_day": service_day,
                  "feeds": [asdict(f) for f in feeds], "planned_at": at, "complete": complete}
        async with self._uow_factory() as uow:
            session = uow.session
            if await session.get(CommutePlanRow, PLAN_ID) is None:
                session.add(CommutePlanRow(id=PLAN_ID, **values))
            else:
                await session.execute(update(CommutePlanRow).where(CommutePlanRow.id == PLAN_ID).values(**values))
            await session.execute(delete(CommuteRow).where(CommuteRow.generation != generation))
            await session.execute(delete(CommuteDestinationRow).where(CommuteDestinationRow.generation != generation))
            await uow.commit()

    async def mark_complete(self, at: datetime) -> None:
        async with self._uow_factory() as uow:
            await uow.session.execute(update(CommutePlanRow).where(CommutePlanRow.id == PLAN_ID)
                                      .values(complete=True, planned_at=at))
            await uow.commit()

    async def clear(self) -> None:
        """No timetable any more: no commutes (cards fall back to km)."""
        async with self._uow_factory() as uow:
            await uow.session.execute(delete(CommuteRow))
            await uow.session.execute(delete(CommuteDestinationRow))
            await uow.session.execute(delete(CommutePlanRow))
            await uow.commit()
