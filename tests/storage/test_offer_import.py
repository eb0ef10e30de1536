"""The Arbeitsagentur import (issue 15) end to end below the command line: the real client against the fake
job search on 127.0.0.1 (both field shapes), the importer, the real database, the bot's cards."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.ba_client import BaJobBoard
from bot.offer_import_job import LEASE, DailyOfferImport, exclusively
from bot.offer_import_job import ImportRunning as Running
from content import DEMO_DIR, default_directory, load_pack
from flows.conversations.vacancies import VacanciesFlow
from flows.core.context import StepContext
from flows.core.model import ConversationState, Event, EventKind, Profile, UserRef
from flows.domain.ba_listing import BaPage, BaQuery
from flows.domain.content import SearchFilters
from flows.domain.lead import Lead, LeadStatus
from flows.domain.offer_import import plan_searches
from flows.jobs.retention import purge
from flows.wiring import build_engine
from imports.ba import ImportReport, UnknownRegion, import_ba
from storage.content_export import current_files
from storage.content_sync import sync_pack
from storage.leases import Leases
from storage.offer_imports import OfferImportStore
from storage.tables import OutboxRow, VacancyRow
from storage.tables_imports import OfferImportRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes.ba_server import FakeJobBoard, FakeListing, malformed, rate_limited, renamed, server_error
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())
REGION = "tab-mint"  # Halle (Saale) and Saalekreis
HALLE = (51.4828, 11.9700)


def listing(ref: str, **changes: object) -> FakeListing:
    base = FakeListing(ref=ref, title="Ausbildung Industriemechaniker/in (m/w/d)", employer="Saalkreis Metall GmbH",
                       beruf="Industriemechaniker/in", kind="ausbildung", plz="06112", place="Halle (Saale)",
                       lat=HALLE[0], lon=HALLE[1], start=date(2027, 8, 1), published=date(2026, 11, 20))
    return replace(base, **changes)  # type: ignore[arg-type]


async def _nosleep(seconds: float) -> None:
    return None


async def run(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, url: str, **options: object) -> ImportReport:
    async with BaJobBoard(url, pace_seconds=0, backoff_seconds=0.01, sleep=_nosleep, timeout=5) as board:
        return await import_ba(OfferImportStore(uow_factory), board, clock, default_directory(), scope=REGION,
                               **options)  # type: ignore[arg-type]


async def imported(uow_factory: SqlUnitOfWorkFactory) -> dict[str, VacancyRow]:
    async with uow_factory() as uow:
        rows = (await uow.session.execute(select(VacancyRow).where(col(VacancyRow.origin) == "ba"))).scalars().all()
        return {row.slug: VacancyRow(**row.model_dump()) for row in rows}  # a copy that outlives the session


@pytest.mark.parametrize("shape", ["v4", "v6"])
async def test_listings_become_offers_with_source_place_and_card_in_either_shape(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, shape: str) -> None:
    await sync_pack(uow_factory, PACK, clock)
    listings = [listing("10000-1000000001-S", plz=6112),  # v4 sends a number: the leading zero is lost
                listing("10000-1000000002-S", kind="praktikum", title="Praktikum Mechatroniker/in",
                        beruf="Mechatroniker/in", start=None)]
    async with FakeJobBoard(listings) as server:
        report = await run(uow_factory, clock, server.url_v4 if shape == "v4" else server.url_v6)
        assert all(r.headers.get("X-API-Key") == "jobboerse-jobsuche" for r in server.requests)
    assert report.created == 2 and report.stopped is None and report.complete == report.searches
    rows = await imported(uow_factory)
    first = rows["ba-10000-1000000001-s"]
    assert first.plz == "06112" and first.company == "" and first.region == REGION and not first.archived
    assert first.data["url"] == "https://www.arbeitsagentur.de/jobsuche/jobdetail/10000-1000000001-S"
    assert first.data["employer"] == "Saalkreis Metall GmbH" and first.profession == "industriemechaniker-in"
    async with uow_factory() as uow:
        card = await uow.vacancies.card(first.slug)
        internship = await uow.vacancies.card("ba-10000-1000000002-s")
    assert card is not None and card.imported and card.company_name == "Saalkreis Metall GmbH"
    assert card.place == "Halle (Saale)" and card.start == date(2027, 8, 1) and card.start_known
    assert card.school is not None  # the profession's nearest Berufsschule town
    assert internship is not None and internship.kind == "praktikum" and not internship.start_known


async def test_a_second_run_changes_nothing_and_a_vanished_listing_is_archived_not_deleted(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with FakeJobBoard([listing("10000-1000000001-S"), listing("10000-1000000002-S")]) as server:
        first = await run(uow_factory, clock, server.url_v6)
        clock.advance(days=1)
        again = await run(uow_factory, clock, server.url_v6)
        assert (first.created, again.created, again.updated, again.archived) == (2, 0, 0, 0)
        assert again.unchanged == 2
        async with uow_factory() as uow:  # someone saved the offer that will go
            user = await uow.users.save(Profile(channel="telegram", chat_id=7, role="teen", created_at=clock.now()))
            assert user.id is not None
            await uow.vacancies.mark(user.id, "ba-10000-1000000002-s", "saved", clock.now())
            await uow.commit()
        server.listings.pop()
        clock.advance(days=1)
        gone = await run(uow_factory, clock, server.url_v6)
    assert gone.archived == 1
    async with uow_factory() as uow:  # free questions find what is offered, and only that
        found = {h.ref for h in await uow.knowledge.search("Ausbildung Industriemechaniker Saalkreis Metall",
                                                            limit=20, cluster=None, audience=None)}
    assert "ba-10000-1000000001-s" in found and "ba-10000-1000000002-s" not in found
    rows = await imported(uow_factory)
    assert rows["ba-10000-1000000002-s"].archived and not rows["ba-10000-1000000001-s"].archived
    async with uow_factory() as uow:
        assert [m.slug for m in await uow.vacancies.marks(user.id)] == ["ba-10000-1000000002-s"]  # kept
        assert await uow.vacancies.card("ba-10000-1000000002-s") is None  # but no longer offered


async def test_a_search_that_fails_half_way_archives_nothing_of_its_own(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    searches = plan_searches(await OfferImportStore(uow_factory).context(), REGION)
    async with FakeJobBoard([listing("10000-1000000001-S")]) as server:
        await run(uow_factory, clock, server.url_v6)
        server.listings.clear()  # gone from the BA, but the next run cannot read any search to its end
        server.then(*[server_error(503)] * 5 * len(searches))  # every search fails after the client's retries
        clock.advance(days=1)
        failed = await run(uow_factory, clock, server.url_v6)
        assert failed.problems["search_failed_server_error"] == failed.searches and failed.archived == 0
        assert not (await imported(uow_factory))["ba-10000-1000000001-s"].archived
        server.then(*[server_error(503)] * 5)  # only the first search fails: another profession's
        clock.advance(days=1)
        partly = await run(uow_factory, clock, server.url_v4)
    assert searches[0].profession != "industriemechaniker-in"
    assert partly.problems["search_failed_server_error"] == 1 and partly.complete == partly.searches - 1
    assert partly.archived == 1 and (await imported(uow_factory))["ba-10000-1000000001-s"].archived


async def test_bad_data_is_counted_and_left_out_never_half_written(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    listings = [
        listing("10000-1000000001-S", title="<b>Ausbildung</b> Industriemechaniker/in <script>alert(1)</script>"),
        listing("10000-1000000002-S", plz="99999"),  # no such postal code
        listing("10000-1000000003-S", beruf="Industriemechanikerhelfer/in"),  # another profession
        listing("10000-1000000004-S", raw_drop=("arbeitgeber", "firma")),  # no employer
        listing("bad ref with spaces"),
    ]
    async with FakeJobBoard(listings) as server:
        server.then(rate_limited(0.01), server_error(502), malformed())  # retried by the client
        report = await run(uow_factory, clock, server.url_v6)
    rows = await imported(uow_factory)
    assert list(rows) == ["ba-10000-1000000001-s"]
    assert rows["ba-10000-1000000001-s"].title == "Ausbildung Industriemechaniker/in"
    assert report.problems["listing_unknown_postcode"] >= 1 and report.problems["listing_other_profession"] >= 1
    assert report.problems["listing_missing_employer"] >= 1 and report.problems["listing_bad_ref"] >= 1
    assert report.stopped is None and report.complete == report.searches


async def test_a_page_that_never_ends_gives_up_that_search_only(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with FakeJobBoard([listing("10000-1000000001-S")]) as server:
        server.endless = True
        report = await run(uow_factory, clock, server.url_v6)
        requests = len(server.requests)
    assert report.problems["search_repeated_page"] == report.searches  # every search: its second page repeats
    assert requests == 2 * report.searches and report.archived == 0


async def test_a_renamed_interface_stops_the_run_archives_nothing_and_is_tried_again(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with FakeJobBoard([listing("10000-1000000001-S")]) as server:
        await run(uow_factory, clock, server.url_v6)
        server.listings.clear()
        server.then(renamed())
        clock.advance(days=1)
        report = await run(uow_factory, clock, server.url_v6)
    assert report.stopped and report.problems["interface_changed"] == 1 and report.archived == 0
    assert not (await imported(uow_factory))["ba-10000-1000000001-s"].archived
    async with uow_factory() as uow:
        statuses = (await uow.session.execute(select(col(OfferImportRow.status)).order_by(col(OfferImportRow.id)))).scalars().all()
    assert statuses == ["done", "failed"]


async def test_a_cluster_companys_own_offer_wins_and_its_other_listings_are_its_own(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    own = next(v for v in PACK.vacancies if v.company == "saalefunke-automation" and v.kind == "ausbildung")
    listings = [listing("10000-1000000001-S", employer="Saalefunke Automation GmbH (Beispiel)",
                        beruf="Elektroniker/in - Automatisierungstechnik", title="Elektroniker/in Automatisierung"),
                listing("10000-1000000002-S", employer="SAALEFUNKE Automation (Beispiel)")]  # industriemechaniker
    assert own.profession == "elektroniker-in-automatisierungstechnik"
    async with FakeJobBoard(listings) as server:
        report = await run(uow_factory, clock, server.url_v6)
    rows = await imported(uow_factory)
    assert list(rows) == ["ba-10000-1000000002-s"] and report.problems["listing_own_offer_wins"] >= 1
    assert rows["ba-10000-1000000002-s"].company == "saalefunke-automation"
    async with uow_factory() as uow:
        card = await uow.vacancies.card("ba-10000-1000000002-s")
        company_offers = [c.slug for c in await uow.vacancies.for_company("saalefunke-automation")]
    assert card is not None and card.company == "saalefunke-automation" and card.imported
    assert "ba-10000-1000000002-s" in company_offers


async def test_new_imported_offers_tell_saved_searches_once(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=8, role="teen", age_band="16_17",
                                            plz="06108", place="Halle (Saale)", onboarded=True,
                                            created_at=clock.now()))
        assert user.id is not None
        await uow.vacancies.save_search(user.id, SearchFilters(radius_km=25, profession="industriemechaniker-in"),
                                        clock.now())
        await uow.commit()
    async with FakeJobBoard([listing("10000-1000000001-S")]) as server:
        first = await run(uow_factory, clock, server.url_v6)
        clock.advance(days=1)
        again = await run(uow_factory, clock, server.url_v6)
    assert (first.alerted, again.alerted) == (1, 0)
    async with uow_factory() as uow:
        keys = (await uow.session.execute(select(col(OutboxRow.idempotency_key)))).scalars().all()
    assert [k for k in keys if k.startswith("offer-alert:")] == [k for k in keys if k.startswith("offer-alert:")][:1]


async def test_a_run_that_stopped_goes_on_from_its_cursor(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)

    class Crashing(BaJobBoard):
        calls = 0

        async def page(self, query: BaQuery, page: int, size: int = 100) -> BaPage:
            Crashing.calls += 1
            if Crashing.calls == 6:
                raise RuntimeError("the process dies here")
            return await super().page(query, page, size)

    async with FakeJobBoard([listing("10000-1000000001-S")]) as server:
        async with Crashing(server.url_v6, pace_seconds=0, sleep=_nosleep) as board:
            with pytest.raises(RuntimeError):
                await import_ba(OfferImportStore(uow_factory), board, clock, default_directory(), scope=REGION)
        before = len(server.requests)
        clock.advance(minutes=5)
        report = await run(uow_factory, clock, server.url_v6)
        after = len(server.requests) - before
    assert report.resumed and after == report.searches - 5  # the five searches read before are not read again
    assert report.complete == report.searches and "ba-10000-1000000001-s" in await imported(uow_factory)


async def test_content_loads_and_exports_leave_imported_offers_alone(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with FakeJobBoard([listing("10000-1000000001-S")]) as server:
        await run(uow_factory, clock, server.url_v6)
    report = await sync_pack(uow_factory, PACK, clock)
    assert report.archived["vacancies"] == 0 and not (await imported(uow_factory))["ba-10000-1000000001-s"].archived
    async with uow_factory() as uow:
        files = await current_files(uow.session)
    assert not [v for v in files["vacancies.yaml"] if v["slug"].startswith("ba-")]


async def test_unknown_region_and_dry_run(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with FakeJobBoard([listing("10000-1000000001-S")]) as server:
        async with BaJobBoard(server.url_v6, pace_seconds=0, sleep=_nosleep) as board:
            with pytest.raises(UnknownRegion):
                await import_ba(OfferImportStore(uow_factory), board, clock, default_directory(), scope="nowhere")
        dry = await run(uow_factory, clock, server.url_v6, dry_run=True)
    assert dry.created == 1 and await imported(uow_factory) == {}


async def test_in_the_chat_an_outside_employers_offer_leads_to_the_ba_page_never_to_a_hand_over(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with FakeJobBoard([listing("10000-1000000001-S", title="Ausbildung Industriemechaniker/in ab 2027")]) as s:
        await run(uow_factory, clock, s.url_v6)
    engine = build_engine(uow_factory, default_directory(), clock)
    user = UserRef(channel="telegram", chat_id=9)
    moves = [dict(kind=EventKind.COMMAND, text="start"), dict(kind=EventKind.BUTTON, data="ob:role:teen"),
             dict(kind=EventKind.TEXT, text="16"), dict(kind=EventKind.TEXT, text="06112")]
    for n, move in enumerate(moves):
        await engine.handle(Event(user=user, update_id=n + 1, **move))  # type: ignore[arg-type]
    async with uow_factory() as uow:
        card = await uow.vacancies.card("ba-10000-1000000001-s")
        assert card is not None
        ctx = StepContext(event=Event(user=user, update_id=19, kind=EventKind.COMMAND, text="stellen"),
                          profile=Profile(channel="telegram", chat_id=9), state=ConversationState(), uow=uow,
                          places=default_directory(), clock=clock)
        shown = await VacanciesFlow._card(ctx, card, None, 0, 1)
    buttons = [b for row in shown.buttons for b in row]
    assert shown.values["imported"] and not [b for b in buttons if b.data.startswith("ld:")]
    assert [b.url for b in buttons if b.url] == [card.source_url]
    forged = await engine.handle(Event(user=user, update_id=20, kind=EventKind.BUTTON,
                                       data="ld:v:ba-10000-1000000001-s"))
    assert forged.replies[0].key == "leads.imported_offer"
    assert [b.url for row in forged.replies[0].buttons for b in row if b.url] == [card.source_url]


async def test_the_daily_job_imports_once_a_day_in_one_process_only(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    clock.current = clock.current.replace(hour=5)  # 06:00 in Berlin: after BA_IMPORT_HOUR 4
    async with FakeJobBoard([listing("10000-1000000001-S")]) as server:
        board = BaJobBoard(server.url_v6, pace_seconds=0, sleep=_nosleep)
        job = DailyOfferImport(uow_factory.sessions, OfferImportStore(uow_factory), board, clock,
                               default_directory(), 4, ZoneInfo("Europe/Berlin"))
        leases = Leases(uow_factory.sessions)
        await leases.acquire(LEASE, "elsewhere:1", clock.now(), timedelta(minutes=10))  # another process imports
        with pytest.raises(Running):
            async with exclusively(uow_factory.sessions, clock):
                pass
        await job.tick()  # leaves it to the other process
        assert server.requests == []
        await leases.release(LEASE, "elsewhere:1")
        await job.tick()
        first = len(server.requests)
        clock.advance(hours=2)
        await job.tick()  # done today: nothing asked
        again = len(server.requests)
        clock.advance(days=1)
        await job.tick()
        await job.close()
    assert first > 0 and again == first and len(server.requests) == 2 * first
    assert "ba-10000-1000000001-s" in await imported(uow_factory)


async def test_long_archived_imports_go_unless_someone_saved_or_asked_about_them(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    refs = ["10000-1000000001-S", "10000-1000000002-S", "10000-1000000003-S"]
    async with FakeJobBoard([listing(ref, employer="SAALEFUNKE Automation (Beispiel)") for ref in refs]) as server:
        await run(uow_factory, clock, server.url_v6)
        async with uow_factory() as uow:
            user = await uow.users.save(Profile(channel="telegram", chat_id=7, role="teen", created_at=clock.now()))
            assert user.id is not None
            await uow.vacancies.mark(user.id, "ba-10000-1000000001-s", "saved", clock.now())
            await uow.leads.add_once(Lead(user_id=user.id, company="saalefunke-automation",
                                          target="vacancy:ba-10000-1000000002-s", status=LeadStatus.DELIVERED,
                                          created_at=clock.now(), status_at=clock.now()))
            await uow.commit()
        server.listings.clear()
        clock.advance(days=1)
        assert (await run(uow_factory, clock, server.url_v6)).archived == 3
    clock.advance(days=89)
    assert (await purge(uow_factory, clock)).offers == 0  # not yet
    clock.advance(days=2)
    assert (await purge(uow_factory, clock)).offers == 1
    assert sorted(await imported(uow_factory)) == ["ba-10000-1000000001-s", "ba-10000-1000000002-s"]


async def test_a_listing_another_professions_search_found_first_is_still_imported_by_its_own(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    both = listing("10000-1000000001-S", beruf="Mechatroniker/in",  # the Elektroniker search finds it by title
                   title="Mechatroniker/in oder Elektroniker/in - Automatisierungstechnik")
    searches = plan_searches(await OfferImportStore(uow_factory).context(), REGION)
    assert searches[0].profession == "elektroniker-in-automatisierungstechnik"  # searched first
    async with FakeJobBoard([both]) as server:
        report = await run(uow_factory, clock, server.url_v6)
    assert report.problems["listing_other_profession"] >= 1 and report.created == 1
    assert (await imported(uow_factory))["ba-10000-1000000001-s"].profession == "mechatroniker-in"
