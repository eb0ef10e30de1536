"""Issue 8: a parent's consent comes from a parent. The child's own account and accounts under 18
are refused, the opener declares to be a parent or legal guardian, and the deciding account is kept.

A teen profile without an age band is refused like one under 18 (the safe side: adults opening a
parent link are new accounts, parents or others, or said 18+)."""
from __future__ import annotations

import json

import pytest

from content import default_directory
from flows.domain.lead import LeadStatus
from tests.unit.fakes import Store
from tests.unit.harness import Harness
from tests.unit.test_leads import _hand_over, _messages, _young


async def _requested(store: Store) -> tuple[Harness, str]:
    """A 15-year-old (chat 42) who asked for a parent's consent: the harness and the link's token."""
    child = await _young(store, "u16")
    await _hand_over(child)
    assert await child.press("ld:ok") == ["leads.parent_link", "menu.main"]
    return child, child.reply("leads.parent_link").values["payload"].removeprefix("pc-")


def _parent(store: Store, child: Harness, chat_id: int = 77) -> Harness:
    return Harness(store=store, chat_id=chat_id, places=default_directory(), clock=child.clock)


def _untouched(store: Store, child: Harness, token: str) -> None:
    """Nothing consumed, nothing consented, nothing handed over."""
    request = store.parent_requests[token]
    assert request.decided_at is None and request.decision is None and request.decided_by_chat_id is None
    assert store.consents.get(child.user_id, []) == []
    assert all(lead.status is LeadStatus.WAITING_PARENT for lead in store.leads.values())
    assert _messages(store, "leads.company_new") == []


async def _declared_parent(store: Store, child: Harness, token: str) -> Harness:
    """A parent who opened the link and said they are a parent: the decision comes next."""
    parent = _parent(store, child)
    assert await parent.command("start", f"pc-{token}") == ["leads.parent_declare"]
    assert await parent.press(f"ld:pr:{token}:p") == ["leads.parent_review"]
    return parent


async def _confirms(parent: Harness, token: str, code: str = "p") -> None:
    assert await parent.command("start", f"pc-{token}") == ["leads.parent_declare"]
    assert await parent.press(f"ld:pr:{token}:{code}") == ["leads.parent_review"]
    assert await parent.press(f"ld:pa:{token}:{code}") == ["leads.parent_thanks"]


async def test_the_childs_own_account_is_refused_and_the_link_stays_valid() -> None:
    store = Store()
    child, token = await _requested(store)
    assert (await child.command("start", f"pc-{token}"))[0] == "leads.parent_link_own"
    assert "ld:pr:" not in " ".join(child.button_data)
    for forged in (f"ld:pr:{token}:p", f"ld:pa:{token}:p", f"ld:pd:{token}:g", f"ld:pa:{token}"):
        assert (await child.forge(forged))[0] == "leads.parent_link_own"
    _untouched(store, child, token)
    await _confirms(_parent(store, child), token)  # the real parent still can
    assert all(lead.status is LeadStatus.DELIVERED for lead in store.leads.values())


@pytest.mark.parametrize(("age", "forged"), [("16_17", "ld:pa:{token}:p"), ("u16", "ld:pr:{token}:g")])
async def test_another_account_under_eighteen_is_refused(age: str, forged: str) -> None:
    store = Store()
    child, token = await _requested(store)
    sibling = await _young(store, age, chat_id=43, clock=child.clock)
    assert (await sibling.command("start", f"pc-{token}"))[0] == "leads.parent_link_minor"
    assert (await sibling.forge(forged.format(token=token)))[0] == "leads.parent_link_minor"
    _untouched(store, child, token)


async def test_a_teen_account_without_an_age_counts_as_under_eighteen() -> None:
    store = Store()
    child, token = await _requested(store)
    teen = _parent(store, child, chat_id=45)
    await teen.command("start")
    await teen.press("ob:role:teen")
    await teen.press("ob:age:skip")
    assert teen.profile.role == "teen" and teen.profile.age_band is None
    assert (await teen.command("start", f"pc-{token}"))[0] == "leads.parent_link_minor"
    _untouched(store, child, token)


async def test_an_adult_teen_account_may_declare() -> None:
    """18+ is no reason to refuse: whether they are a parent or guardian is theirs to declare."""
    store = Store()
    child, token = await _requested(store)
    adult = await _young(store, "18plus", chat_id=46, clock=child.clock)
    assert await adult.command("start", f"pc-{token}") == ["leads.parent_declare"]


async def test_whoever_is_not_a_parent_or_guardian_is_refused_and_nothing_is_stored() -> None:
    store = Store()
    child, token = await _requested(store)
    neighbour = _parent(store, child)
    assert await neighbour.command("start", f"pc-{token}") == ["leads.parent_declare"]
    assert neighbour.button_data == [f"ld:pr:{token}:p", f"ld:pr:{token}:g", f"ld:pr:{token}:n"]
    assert await neighbour.press(f"ld:pr:{token}:n") == ["leads.parent_not_guardian"]
    assert neighbour.profile.role is None  # saying "no" makes nobody a parent
    # A decision without a declaration (forged, or an old button) only brings the question back.
    assert await neighbour.forge(f"ld:pa:{token}") == ["leads.parent_declare"]
    assert await neighbour.forge(f"ld:pa:{token}:x") == ["leads.parent_declare"]
    _untouched(store, child, token)


async def test_a_declared_guardian_confirms_and_the_deciding_account_is_recorded() -> None:
    store = Store()
    child, token = await _requested(store)
    guardian = _parent(store, child)
    await _confirms(guardian, token, "g")
    [consent] = store.consents[child.user_id]
    assert consent.given_by == "parent"
    request = store.parent_requests[token]
    assert (request.decision, request.relation) == ("approved", "guardian")
    assert (request.decided_by_channel, request.decided_by_chat_id) == ("telegram", 77)
    assert request.consent_id == consent.id and request.decided_at is not None
    leads = list(store.leads.values())
    assert all(lead.status is LeadStatus.DELIVERED and lead.consent_id == consent.id for lead in leads)
    assert {m.reply.values["lead_id"] for m in _messages(store, "leads.company_new")} == {lead.id for lead in leads}
    assert [m.recipient.chat_id for m in _messages(store, "leads.child_approved")] == [42]
    assert guardian.profile.role == "parent"

    assert await child.command("meinedaten") == ["privacy.export"]
    document = child.reply("privacy.export").document
    assert document is not None
    data = json.loads(document.content)
    [decision] = data["parent_decisions"]
    assert (decision["relation"], decision["decided_by_channel"], decision["decided_by_chat_id"]) == \
        ("guardian", "telegram", 77)
    assert decision["decision"] == "approved" and decision["consent_id"] == consent.id
    assert "token" not in decision and all("parent_token" not in lead for lead in data["leads"])


async def test_double_presses_and_replays_make_one_decision() -> None:
    store = Store()
    child, token = await _requested(store)
    parent = _parent(store, child)
    await _confirms(parent, token)
    assert await parent.forge(f"ld:pa:{token}:p") == ["leads.parent_already", "menu.main"]
    assert (await parent.forge(f"ld:pd:{token}:p"))[0] == "leads.parent_already"
    assert (await parent.command("start", f"pc-{token}"))[0] == "leads.parent_already"
    assert len(store.consents[child.user_id]) == 1
    assert all(lead.status is LeadStatus.DELIVERED for lead in store.leads.values())
    assert len(_messages(store, "leads.child_approved")) == 1 and _messages(store, "leads.child_declined") == []
    other = _parent(store, child, chat_id=78)
    assert (await other.command("start", f"pc-{token}"))[0] == "leads.parent_link_invalid"
    assert (await other.forge(f"ld:pd:{token}:p"))[0] == "leads.parent_link_invalid"
    assert store.parent_requests[token].decided_by_chat_id == 77


async def test_a_declared_parent_declines_and_the_decision_is_recorded() -> None:
    store = Store()
    child, token = await _requested(store)
    parent = await _declared_parent(store, child, token)
    assert await parent.press(f"ld:pd:{token}:p") == ["leads.parent_declined"]
    assert all(lead.status is LeadStatus.DECLINED for lead in store.leads.values())
    request = store.parent_requests[token]
    assert (request.decision, request.relation, request.decided_by_chat_id, request.consent_id) == \
        ("declined", "parent", 77, None)
    assert store.consents.get(child.user_id, []) == [] and _messages(store, "leads.company_new") == []


async def test_a_link_that_expires_between_declaration_and_decision_is_refused() -> None:
    store = Store()
    child, token = await _requested(store)
    parent = await _declared_parent(store, child, token)
    child.clock.advance(days=8)
    assert (await parent.press(f"ld:pa:{token}:p"))[0] == "leads.parent_link_invalid"
    assert (await parent.command("start", f"pc-{token}"))[0] == "leads.parent_link_invalid"
    _untouched(store, child, token)
