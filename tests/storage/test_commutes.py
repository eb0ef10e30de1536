"""Commutes (issue 16) end to end below the command line: a GTFS feed the test writes between two real places
of the demo regions (Löbau and Görlitz), loaded into a network file, planned by the planning job into the
real database, and read back by the bot's reader and the ranking."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from bot.commute_job import LEASE, CommutePlanner, NetworkFile, PlanRunning, exclusively, needs_full_plan, plan_in_child
from content import DEMO_DIR, default_directory, load_pack
from flows.core.clock import SystemClock
from flows.domain.commute import Commute, CommutePlan, FeedCredit
from flows.domain.geo import Place
from flows.domain.matching import rank_spec, rank_vacancies
from storage.commutes import CommuteStore
from storage.content_sync import sync_pack
from storage.leases import Leases
from storage.tables import VacancyRow
from storage.tables_commutes import CommuteRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes.gtfs_feed import write_feed
from tests.unit.fakes import SteppableClock
from transit import load_feeds, save_network

PLACES = default_directory()
PACK = load_pack(DEMO_DIR, PLACES)
ZONE = ZoneInfo("Europe/Berlin")

def _place(plz: str, name: str) -> Place:
    place = PLACES.find(plz, name)
    assert place is not None
    return place


LOEBAU = _place("02708", "Löbau")
GOERLITZ = _place("02826", "Görlitz")
HOME = (LOEBAU.lat, LOEBAU.lon)
DEST = (GOERLITZ.lat, GOERLITZ.lon)
METRES = 1 / 111_195  # degrees of latitude per metre


def hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def feed(path: Path, morning: str = "06:40", arrival: str = "07:10", publisher: str = "Testverkehr Lausitz",
         until: str = "20281231") -> Path:
    """A bus Löbau -> Görlitz on weekdays and back in the afternoon. The Löbau stop is 100 m north of the
    place's centre (2 min on foot), the Görlitz stop 150 m north (3 min)."""
    return write_feed(
        path,
        stops=[("L", "Löbau Bahnhof", LOEBAU.lat + 100 * METRES, LOEBAU.lon),
               ("G", "Görlitz Demianiplatz", GOERLITZ.lat + 150 * METRES, GOERLITZ.lon)],
        routes=[("r1", "Bus 30", 3)],
        trips=[("r1", "wd", "t1"), ("r1", "wd", "t2")],
        stop_times=[("t1", "L", f"{morning}:00", None), ("t1", "G", f"{arrival}:00", None),
                    ("t2", "G", "16:15:00", None), ("t2", "L", "16:45:00", None)],
        calendar=[("wd", "1111100", "20260101", until)],
        feed_info={"feed_publisher_name": publisher, "feed_publisher_url": "https://example.org/gtfs",
                   "feed_lang": "de", "feed_version": "1"})


def network_file(tmp_path: Path, **options: str) -> Path:
    target = tmp_path / "transit.network"
    network = load_feeds([feed(tmp_path / "lausitz.zip", **options)], licences={"lausitz": "CC BY 4.0"})
    save_network(network, target)
    return target


def planner(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, path: Path) -> CommutePlanner:
    return CommutePlanner(uow_factory.sessions, CommuteStore(uow_factory, PLACES), clock, PLACES, NetworkFile(path),
                          hour=2, zone=ZONE)


async def lookup(uow_factory: SqlUnitOfWorkFactory, home: tuple[float, float],
                 *destinations: tuple[float, float]) -> dict[tuple[float, float], Commute | None]:
    async with uow_factory() as uow:
        return await uow.commutes.lookup(home, destinations)


async def plan_now(uow_factory: SqlUnitOfWorkFactory) -> CommutePlan | None:
    async with uow_factory() as uow:
        return await uow.commutes.plan()


async def test_a_feed_is_planned_for_the_next_school_day_and_read_back(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, tmp_path: Path) -> None:
    await sync_pack(uow_factory, PACK, clock)  # Monday 1 March 2027, 10:00 in Berlin
    job = planner(uow_factory, clock, network_file(tmp_path))
    seen: list[tuple[int, int]] = []
    async with exclusively(uow_factory.sessions, clock):
        report = await job.run(progress=lambda done, total: seen.append((done, total)))
    assert report.full and report.service_day == date(2027, 3, 2)  # Tuesday
    assert report.destinations == len(seen) and seen[-1] == (report.destinations, report.destinations)
    assert DEST in await job.store.planned(1) and report.homes > 1000  # the places of the three regions
    found = await lookup(uow_factory, HOME, DEST)
    # leave 06:38, 2 min to the stop, bus 06:40-07:10, 3 min: at the door 07:13; back: 16:00 -> 16:47
    assert found == {DEST: Commute(minutes=35, changes=0, walk_minutes=5, leave=hm("06:38"), arrive=hm("07:13"),
                                   first_arrival=hm("07:13"), back_arrival=hm("16:47"))}
    plan = await plan_now(uow_factory)
    assert plan is not None and plan.complete and plan.service_day == date(2027, 3, 2)
    assert plan.feeds == (FeedCredit("lausitz", "Testverkehr Lausitz", "CC BY 4.0", "https://example.org/gtfs"),)
    bautzen = PLACES.find("02625", "Bautzen")
    assert bautzen is not None
    assert await lookup(uow_factory, (bautzen.lat, bautzen.lon), DEST) == {DEST: None}  # planned: no bus
    async with uow_factory() as uow:
        assert await uow.commutes.reachable(HOME, 60) >= {DEST}
        assert DEST not in await uow.commutes.reachable(HOME, 30)
        assert DEST not in await uow.commutes.reachable((bautzen.lat, bautzen.lon), 60)  # only Bautzen, on foot


async def test_nothing_is_planned_again_until_something_changes(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, tmp_path: Path) -> None:
    await sync_pack(uow_factory, PACK, clock)
    path = network_file(tmp_path)
    job = planner(uow_factory, clock, path)
    first = await job.run()
    again = await job.run()
    assert again.note == "up to date" and again.destinations == 0
    # an offer in a place nothing went to before: only that destination is planned, into the plan in use
    async with uow_factory() as uow:
        offer = (await uow.session.execute(select(VacancyRow).where(col(VacancyRow.archived).is_(False)))).scalars().first()
        assert offer is not None
        data = dict(offer.data)
        moved = VacancyRow(**{**offer.model_dump(exclude={"id"}), "slug": "neu-in-zittau", "lat": 50.8962, "lon": 14.8072,
                              "data": {**data, "slug": "neu-in-zittau"}})
        uow.session.add(moved)
        await uow.commit()
    added = await job.run()
    assert (added.full, added.destinations) == (False, 1)
    assert (await plan_now(uow_factory)) is not None
    # the school day came: everything again, for the next one, as a new generation; the old one is gone
    clock.current = datetime(2027, 3, 2, 2, 30, tzinfo=ZONE)  # Tuesday, from TRANSIT_PLAN_HOUR on
    replanned = await job.run()
    assert replanned.full and replanned.service_day == date(2027, 3, 3)
    assert replanned.destinations == first.destinations + 1
    async with uow_factory() as uow:
        generations = (await uow.session.execute(select(func.distinct(CommuteRow.generation)))).scalars().all()
    assert generations == [2]


async def test_a_new_network_is_planned_again_and_people_see_the_old_plan_until_the_new_one_is_done(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, tmp_path: Path) -> None:
    await sync_pack(uow_factory, PACK, clock)
    path = network_file(tmp_path)
    job = planner(uow_factory, clock, path)
    await job.run()
    old = (await lookup(uow_factory, HOME, DEST))[DEST]
    assert old is not None and old.minutes == 35
    faster = load_feeds([feed(tmp_path / "lausitz.zip", morning="06:50", arrival="07:10")])
    save_network(faster, path)
    store = job.store
    # half-way through a new plan (a crash): readers still get the plan in use
    await store.save_destination(2, DEST, {HOME: replace(old, minutes=1)}, clock.now())
    assert (await lookup(uow_factory, HOME, DEST))[DEST] == old
    report = await job.run()
    assert report.full
    new = (await lookup(uow_factory, HOME, DEST))[DEST]
    assert new is not None and new.minutes == 25  # 06:48 -> 07:13


async def test_an_expired_timetable_switches_commutes_off(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, tmp_path: Path) -> None:
    await sync_pack(uow_factory, PACK, clock)
    job = planner(uow_factory, clock, network_file(tmp_path))
    await job.run()
    clock.current = datetime(2029, 1, 8, 9, 0, tzinfo=ZONE)  # the feed ran until the end of 2028
    report = await job.run()
    assert report.note == "expired"
    assert await plan_now(uow_factory) is None and await lookup(uow_factory, HOME, DEST) == {}


async def test_without_a_network_file_nothing_happens(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, tmp_path: Path) -> None:
    job = planner(uow_factory, clock, tmp_path / "missing.network")
    await job.tick()
    assert (await job.run()).note == "no network" and await plan_now(uow_factory) is None


async def test_one_process_plans_at_a_time(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock,
                                           tmp_path: Path) -> None:
    await sync_pack(uow_factory, PACK, clock)
    job = planner(uow_factory, clock, network_file(tmp_path))
    leases = Leases(uow_factory.sessions)
    await leases.acquire(LEASE, "elsewhere:1", clock.now(), timedelta(minutes=10))  # another process plans
    with pytest.raises(PlanRunning):
        async with exclusively(uow_factory.sessions, clock):
            pass
    await job.tick()  # leaves it to the other process
    assert await plan_now(uow_factory) is None
    await leases.release(LEASE, "elsewhere:1")
    await job.tick()
    assert await plan_now(uow_factory) is not None


async def test_the_ranking_filter_keeps_the_same_offers_in_sql_as_in_python(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, tmp_path: Path) -> None:
    await sync_pack(uow_factory, PACK, clock)
    await planner(uow_factory, clock, network_file(tmp_path)).run()
    async with uow_factory() as uow:
        reachable = await uow.commutes.reachable(HOME, 60)
        spec = rank_spec(HOME[0], HOME[1], 100, date(2027, 3, 1), None, None, None, {}, None, reachable=reachable)
        total, page = await uow.vacancies.ranked(spec, 0, 500)
        everything = await uow.vacancies.candidates((-90, 90, -180, 180), None, None)
        unfiltered, _ = await uow.vacancies.ranked(replace(spec, reachable=None), 0, 1)
        nothing, _ = await uow.vacancies.ranked(replace(spec, reachable=frozenset()), 0, 1)
    assert 0 < total < unfiltered and nothing == 0
    assert all((r.lat, r.lon) in reachable for r in page)
    assert [r.slug for r in page] == [r.slug for r in rank_vacancies(everything, spec)]


def test_the_plan_is_due_for_a_new_network_and_on_the_planned_day_from_the_hour() -> None:
    plan = CommutePlan("abc", date(2027, 3, 2), (), datetime(2027, 3, 1, 1, 0, tzinfo=ZONE), True)
    monday = datetime(2027, 3, 1, 12, 0, tzinfo=ZONE)
    assert not needs_full_plan(plan, "abc", monday, 2, ZONE)
    assert needs_full_plan(plan, "new", monday, 2, ZONE)
    assert needs_full_plan(None, "abc", monday, 2, ZONE)
    assert not needs_full_plan(plan, "abc", datetime(2027, 3, 2, 1, 59, tzinfo=ZONE), 2, ZONE)
    assert needs_full_plan(plan, "abc", datetime(2027, 3, 2, 2, 0, tzinfo=ZONE), 2, ZONE)
    assert needs_full_plan(plan, "abc", datetime(2027, 3, 5, 0, 0, tzinfo=ZONE), 2, ZONE)  # missed days


async def test_lotse_run_plans_in_a_child_process_when_something_is_due(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, tmp_path: Path, db_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await sync_pack(uow_factory, PACK, clock)
    path = network_file(tmp_path, until="20991231")  # the child plans for the real next school day
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TRANSIT_FILE", str(path))
    spawned: list[int] = []

    async def spawn() -> int:
        spawned.append(await plan_in_child(timeout=300))
        return spawned[-1]

    job = replace(planner(uow_factory, clock, path), clock=SystemClock(), spawn=spawn)
    assert await job.due()
    await job.tick()
    assert spawned == [0]
    assert not await job.due()  # planned by the child, for the next school day
    await job.tick()
    assert spawned == [0]  # nothing due: no child
    found = (await lookup(uow_factory, HOME, DEST))[DEST]
    assert found is not None and found.minutes == 35
