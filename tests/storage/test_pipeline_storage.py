"""The cockpit's leads pipeline on real SQLite: a cluster sees its own companies' leads only, with
their consent, silence (the company's federal state's holidays), history and – when asked for and
covered by the consent – contact details, in a few queries."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from content import DEMO_DIR, default_directory, load_pack
from flows.core.model import ConsentRecord, Profile
from flows.domain.lead import CONSENT_PURPOSE, CONSENT_VERSION, Lead, LeadStatus, ParentDecision, ParentRequest
from flows.domain.lead_pipeline import LeadContact
from storage.content_sync import sync_pack
from storage.pipeline import cluster_leads, lead_detail
from storage.tables import CompanyRow
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())
MONDAY = datetime(2026, 11, 16, 10, tzinfo=UTC)  # Buß- und Bettag on Wednesday: a holiday in Saxony only
ZITTAU = "zittauer-gebirgsbau"  # Die Zukunftsmacher, in Saxony
HALLE = "saalefunke-automation"  # TAB_MINT, in Saxony-Anhalt
SHARED = {"asker": "teen", "first_name": "Tom", "phone": "+491712345678", "email": None, "place": "Löbau",
          "about": "offer", "title": "Ausbildung Maurer:in"}


async def _young(uow: SqlUnitOfWork, chat_id: int) -> int:
    user = await uow.users.save(Profile(channel="telegram", chat_id=chat_id, created_at=MONDAY))
    assert user.id is not None
    return user.id


async def _lead(uow: SqlUnitOfWork, user_id: int, company: str, status: LeadStatus = LeadStatus.DELIVERED,
                consent: bool = True, arrived: bool = True, target: str = "vacancy:x",
                shared: dict[str, Any] | None = None) -> int:
    lead, _ = await uow.leads.add_once(Lead(
        user_id=user_id, company=company, target=target, status=LeadStatus.WAITING_PARENT,
        shared=dict(SHARED if shared is None else shared), created_at=MONDAY, status_at=MONDAY))
    assert lead.id is not None
    if status is LeadStatus.WAITING_PARENT:
        return lead.id
    consent_id = None
    if consent:
        record = await uow.consents.add(user_id, ConsentRecord(purpose=CONSENT_PURPOSE, text_version=CONSENT_VERSION,
                                                               given_by="self", recipients=[company], given_at=MONDAY))
        consent_id = record.id
    await uow.leads.set_status(lead.id, LeadStatus.DELIVERED, MONDAY, consent_id=consent_id)
    if arrived:
        await uow.leads.mark_arrived(lead.id, MONDAY)
    if status is not LeadStatus.DELIVERED:
        await uow.leads.set_status(lead.id, status, MONDAY + timedelta(days=1))
    return lead.id


@contextmanager
def _statements(db: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(db.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", count)


async def test_a_cluster_sees_only_its_own_companies_leads(uow_factory: SqlUnitOfWorkFactory,
                                                         clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        young = await _young(uow, 1)
        ours = await _lead(uow, young, ZITTAU)
        theirs = await _lead(uow, young, HALLE)
        await uow.commit()
    now = MONDAY + timedelta(days=1)
    async with uow_factory() as uow:
        assert [lead.id for lead in await cluster_leads(uow.session, "zukunftsmacher", now)] == [ours]
        assert [lead.id for lead in await cluster_leads(uow.session, "tab-mint", now)] == [theirs]
        assert await cluster_leads(uow.session, "lausitz-cares", now) == []
        assert await cluster_leads(uow.session, "no-such-cluster", now) == []
        assert await lead_detail(uow.session, "zukunftsmacher", theirs, now) is None  # another cluster's
        assert await lead_detail(uow.session, "zukunftsmacher", 999_999, now) is None
        mine = await lead_detail(uow.session, "zukunftsmacher", ours, now)
    assert mine is not None and mine.company == ZITTAU and mine.company_name == "Zittauer Gebirgsbau (Beispiel)"
    assert (mine.title, mine.kind, mine.stage, mine.age_days) == ("Ausbildung Maurer:in", "offer", "delivered", 1)
    assert [h.status for h in mine.history] == ["on_the_way", "delivered"]
    assert mine.consent is not None and mine.consent.recipients == (ZITTAU,)
    assert mine.contact == LeadContact()  # no contact details unless asked for


async def test_silent_leads_first_by_the_holidays_of_the_companys_state(uow_factory: SqlUnitOfWorkFactory,
                                                                        clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        young = await _young(uow, 1)
        answered = await _lead(uow, young, ZITTAU, LeadStatus.CONTACTED, target="vacancy:a")
        waiting = await _lead(uow, young, ZITTAU, target="vacancy:b")
        saxony_anhalt = await _lead(uow, young, HALLE)
        await uow.commit()
    places = default_directory()
    fourth_saxon_working_day = datetime(2026, 11, 23, 10, tzinfo=UTC)  # Monday: the fifth elsewhere
    async with uow_factory() as uow:
        ours = await cluster_leads(uow.session, "zukunftsmacher", fourth_saxon_working_day, places=places)
        assert [(lead.id, lead.silent, lead.silent_days) for lead in ours] == [(answered, False, 0), (waiting, False, 4)]
        [halle] = await cluster_leads(uow.session, "tab-mint", fourth_saxon_working_day, places=places)
        assert (halle.id, halle.silent, halle.silent_days) == (saxony_anhalt, True, 5)
        later = await cluster_leads(uow.session, "zukunftsmacher", fourth_saxon_working_day + timedelta(days=1),
                                    places=places)
    assert [(lead.id, lead.silent) for lead in later] == [(waiting, True), (answered, False)]  # silent first


async def test_contact_details_only_for_leads_the_consent_covers(uow_factory: SqlUnitOfWorkFactory,
                                                                 clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        covered = await _lead(uow, await _young(uow, 1), ZITTAU)
        hired = await _lead(uow, await _young(uow, 2), ZITTAU, LeadStatus.HIRED)
        waiting = await _lead(uow, await _young(uow, 3), ZITTAU, LeadStatus.WAITING_PARENT)
        withdrawn = await _lead(uow, await _young(uow, 4), ZITTAU, LeadStatus.WITHDRAWN)
        without_consent = await _lead(uow, await _young(uow, 5), ZITTAU, consent=False)
        revoked_user = await _young(uow, 6)
        revoked = await _lead(uow, revoked_user, ZITTAU)
        [record] = await uow.consents.list_for_user(revoked_user)
        assert record.id is not None
        await uow.consents.withdraw(record.id, MONDAY + timedelta(days=1))
        # A parent's approval recorded on the request only (the lead has no consent id of its own).
        child = await _young(uow, 7)
        approved = await _lead(uow, child, ZITTAU, LeadStatus.WAITING_PARENT)
        await uow.leads.add_parent_request(ParentRequest(token="p" * 32, user_id=child, lead_ids=[approved],
                                                         created_at=MONDAY, expires_at=MONDAY + timedelta(days=7)))
        await uow.leads.decide("p" * 32, ParentDecision(decision="approved", relation="parent", channel="telegram",
                                                        chat_id=70), MONDAY)
        consent = await uow.consents.add(child, ConsentRecord(purpose=CONSENT_PURPOSE, text_version=CONSENT_VERSION,
                                                              given_by="parent", recipients=[ZITTAU], given_at=MONDAY))
        assert consent.id is not None
        await uow.leads.record_consent("p" * 32, consent.id)
        await uow.leads.set_status(approved, LeadStatus.DELIVERED, MONDAY)
        no_phone = await _lead(uow, await _young(uow, 8), ZITTAU, shared={**SHARED, "phone": None,
                                                                         "email": "ida@example.org"})
        await uow.commit()
    now = MONDAY + timedelta(days=2)
    async with uow_factory() as uow:
        plain = await cluster_leads(uow.session, "zukunftsmacher", now)
        leads = {lead.id: lead for lead in await cluster_leads(uow.session, "zukunftsmacher", now, with_contacts=True)}
        detail = await lead_detail(uow.session, "zukunftsmacher", covered, now, with_contacts=True)
    assert len(plain) == len(leads) == 8 and all(lead.contact == LeadContact() for lead in plain)
    tom = LeadContact(first_name="Tom", phone="+491712345678", place="Löbau")
    assert {i for i, lead in leads.items() if lead.contact != LeadContact()} == {covered, hired, approved, no_phone}
    assert leads[covered].contact == leads[hired].contact == leads[approved].contact == tom
    parents = leads[approved].consent
    assert parents is not None and parents.given_by == "parent"
    assert leads[no_phone].contact == LeadContact(first_name="Tom", email="ida@example.org", place="Löbau")
    for lead_id in (waiting, withdrawn, without_consent, revoked):
        assert leads[lead_id].contact == LeadContact(), lead_id
    assert detail is not None and detail.contact == tom


async def test_few_queries_archived_companies_and_a_status_filter(uow_factory: SqlUnitOfWorkFactory,
                                                                  clock: SteppableClock, db: AsyncEngine) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        ids = [await _lead(uow, await _young(uow, n), ZITTAU, LeadStatus.CONTACTED if n % 2 else LeadStatus.DELIVERED)
               for n in range(1, 31)]
        await uow.session.execute(update(CompanyRow).where(col(CompanyRow.slug) == ZITTAU).values(archived=True))
        await uow.commit()
    async with uow_factory() as uow:
        with _statements(db) as seen:
            leads = await cluster_leads(uow.session, "zukunftsmacher", MONDAY + timedelta(days=3), with_contacts=True,
                                        places=default_directory())
        selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 2, selects  # the leads with their companies, then their consents
        assert sorted(lead.id for lead in leads) == sorted(ids) and all(lead.company_archived for lead in leads)
        contacted = await cluster_leads(uow.session, "zukunftsmacher", MONDAY, statuses=[LeadStatus.CONTACTED])
        assert {lead.status for lead in contacted} == {LeadStatus.CONTACTED} and len(contacted) == 15
