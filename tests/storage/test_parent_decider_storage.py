"""Issue 8 on real SQLite: a parent request keeps who decided, and the young person's export finds it."""
from __future__ import annotations

from datetime import timedelta

from flows.core.model import Profile
from flows.domain.lead import Lead, LeadStatus, ParentDecision, ParentRequest
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock


async def test_the_deciding_account_is_kept_with_the_request(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    async with uow_factory() as uow:
        child = await uow.users.save(Profile(channel="telegram", chat_id=3, created_at=now))
        assert child.id is not None
        lead, _ = await uow.leads.add_once(Lead(
            user_id=child.id, company="zittauer-gebirgsbau", target="vacancy:x", status=LeadStatus.WAITING_PARENT,
            shared={"first_name": "Mia"}, created_at=now, status_at=now))
        assert lead.id is not None
        await uow.leads.add_parent_request(ParentRequest(token="e" * 32, user_id=child.id, lead_ids=[lead.id],
                                                         created_at=now, expires_at=now + timedelta(days=7)))
        await uow.commit()
    async with uow_factory() as uow:
        request = await uow.leads.parent_request("e" * 32)
        assert request is not None and request.relation is None and request.decided_by_chat_id is None
        decision = ParentDecision(decision="approved", relation="guardian", channel="telegram",
                                  chat_id=9_876_543_210)  # Telegram ids exceed 32 bits
        assert await uow.leads.decide("e" * 32, decision, now)
        await uow.leads.record_consent("e" * 32, 5)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.leads.parent_request("e" * 32)
        assert stored is not None
        assert (stored.decision, stored.relation, stored.consent_id) == ("approved", "guardian", 5)
        assert (stored.decided_by_channel, stored.decided_by_chat_id) == ("telegram", 9_876_543_210)
        assert stored.lead_ids == [lead.id] and stored.decided_at == now
        other = decision.model_copy(update={"decision": "declined", "chat_id": 1})
        assert not await uow.leads.decide("e" * 32, other, now)  # still one decision only, by the first
        assert [found.token for found in await uow.leads.parent_requests_for(child.id)] == ["e" * 32]
        assert await uow.leads.parent_requests_for(child.id + 1) == []
