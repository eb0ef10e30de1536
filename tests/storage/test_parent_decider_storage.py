"""Issue 8 on real SQLite: a parent request keeps who decided; a waiting lead knows its request."""
from __future__ import annotations

from datetime import timedelta

from flows.core.model import Profile
from flows.domain.lead import Lead, LeadStatus, ParentRequest
from storage.uow import SqlUnitOfWorkFactory


async def test_the_deciding_account_is_kept_with_the_request(uow_factory: SqlUnitOfWorkFactory, clock) -> None:
    now = clock.now()
    async with uow_factory() as uow:
        child = await uow.users.save(Profile(channel="telegram", chat_id=3, created_at=now))
        lead, _ = await uow.leads.add_once(Lead(
            user_id=child.id, company="zittauer-gebirgsbau", target="vacancy:x", status=LeadStatus.WAITING_PARENT,
            shared={"first_name": "Mia"}, created_at=now, status_at=now, parent_token="e" * 32))
        await uow.leads.add_parent_request(ParentRequest(token="e" * 32, user_id=child.id, lead_ids=[lead.id],
                                                         created_at=now, expires_at=now + timedelta(days=7)))
        await uow.commit()
    async with uow_factory() as uow:
        request = await uow.leads.parent_request("e" * 32)
        assert request is not None and request.relation is None and request.decided_by_chat_id is None
        assert await uow.leads.decide("e" * 32, "approved", now)
        await uow.leads.add_parent_request(request.model_copy(update={
            "decision": "approved", "decided_at": now, "relation": "guardian", "decided_by_channel": "telegram",
            "decided_by_chat_id": 9_876_543_210, "consent_id": 5}))  # Telegram ids exceed 32 bits
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.leads.parent_request("e" * 32)
        assert stored is not None
        assert (stored.decision, stored.relation, stored.consent_id) == ("approved", "guardian", 5)
        assert (stored.decided_by_channel, stored.decided_by_chat_id) == ("telegram", 9_876_543_210)
        assert stored.lead_ids == [lead.id] and stored.decided_at == now
        assert not await uow.leads.decide("e" * 32, "declined", now)  # still one decision only
        assert (await uow.leads.get(lead.id)).parent_token == "e" * 32
        assert [found.parent_token for found in await uow.leads.for_user(child.id)] == ["e" * 32]
