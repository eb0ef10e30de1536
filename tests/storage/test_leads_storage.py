"""Leads, parents' links, company contacts and invitations on real SQLite."""
from __future__ import annotations

from datetime import timedelta

from content import DEMO_DIR, default_directory, load_pack
from flows.core.model import Profile
from flows.domain.lead import CompanyInvite, Lead, LeadStatus, ParentDecision, ParentRequest
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())


async def test_one_lead_per_user_company_and_offer_and_status_history(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    now = clock.now()
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=1, created_at=now))
        assert user.id is not None
        lead = Lead(user_id=user.id, company="zittauer-gebirgsbau", target="vacancy:x", status=LeadStatus.WAITING_PARENT,
                    shared={"first_name": "Tom"}, created_at=now, status_at=now)
        first, created = await uow.leads.add_once(lead)
        again, created_again = await uow.leads.add_once(lead)
        assert created and not created_again and again.id == first.id and first.id is not None
        await uow.leads.set_status(first.id, LeadStatus.DELIVERED, now + timedelta(minutes=1), consent_id=7)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.leads.get(first.id)
        assert stored is not None and stored.delivered_at is None  # handed to the outbox, not arrived yet
        await uow.leads.mark_arrived(first.id, now + timedelta(minutes=2))
        await uow.leads.mark_arrived(first.id, now + timedelta(minutes=3))  # a second channel: the first counts
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.leads.get(first.id)
        assert stored is not None
        assert stored.status is LeadStatus.DELIVERED and stored.consent_id == 7
        assert stored.delivered_at == now + timedelta(minutes=2)
        assert [h["status"] for h in stored.history] == ["delivered"]
        assert [lead.id for lead in await uow.leads.for_companies(["zittauer-gebirgsbau"])] == [first.id]
        token = await uow.leads.report_token(first.id, "c" * 32)
        assert await uow.leads.report_token(first.id, "d" * 32) == token == "c" * 32  # e-mail and reminder alike
        found = await uow.leads.by_report_token(token)
        assert found is not None and found.id == first.id and await uow.leads.by_report_token("d" * 32) is None
        await uow.users.delete(user.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.leads.get(first.id) is None  # erased with the person
        assert await uow.leads.by_report_token("c" * 32) is None  # and the status links die with it


async def test_parent_request_is_single_use_and_invites_expire(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    now = clock.now()
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=2, created_at=now))
        assert user.id is not None
        await uow.leads.add_parent_request(ParentRequest(token="a" * 32, user_id=user.id, lead_ids=[1], created_at=now,
                                                         expires_at=now + timedelta(days=7)))
        await uow.leads.add_invite(CompanyInvite(token="b" * 32, company="zittauer-gebirgsbau", created_at=now,
                                                 expires_at=now + timedelta(days=1)))
        await uow.leads.add_invite(CompanyInvite(token="c" * 32, company="zittauer-gebirgsbau", created_at=now,
                                                 expires_at=now - timedelta(seconds=1)))
        await uow.commit()
    async with uow_factory() as uow:
        decision = ParentDecision(decision="approved", relation="parent", channel="telegram", chat_id=9)
        assert await uow.leads.decide("a" * 32, decision, now)
        assert not await uow.leads.decide("a" * 32, decision.model_copy(update={"decision": "declined"}), now)
        request = await uow.leads.parent_request("a" * 32)
        assert request is not None and request.decision == "approved"
        assert await uow.leads.use_invite("b" * 32, now) == "zittauer-gebirgsbau"
        assert await uow.leads.use_invite("b" * 32, now) is None
        assert await uow.leads.use_invite("c" * 32, now) is None
        assert await uow.leads.add_contact("zittauer-gebirgsbau", "telegram", 500, now)
        assert not await uow.leads.add_contact("zittauer-gebirgsbau", "telegram", 500, now)
        assert await uow.leads.contacts("zittauer-gebirgsbau") == [("telegram", 500)]
        assert await uow.leads.companies_of("telegram", 500) == ["zittauer-gebirgsbau"]
        assert await uow.leads.company_exists("zittauer-gebirgsbau") and not await uow.leads.company_exists("nope")
        companies = await uow.content.companies()
        assert len(companies) == len(PACK.companies) and all(c.id > 0 for c in companies)
