"""Issue 8: cluster agents act only within their own cluster (/einladung, /leads); the server's
`lotse company invite` (flows.conversations.leads.create_invite) stays unrestricted."""
from __future__ import annotations

from flows.conversations.leads import create_invite
from tests.unit.fakes import FakeUnitOfWork, SteppableClock, Store
from tests.unit.harness import Harness
from tests.unit.test_leads import _agent

ZUKUNFTSMACHER, TAB_MINT = "zittauer-gebirgsbau", "saalefunke-automation"


async def test_an_agent_invites_a_company_of_their_own_cluster() -> None:
    store = Store()
    agent = await _agent(store, SteppableClock(), 900, "06108")  # Halle: TAB_MINT
    assert await agent.command("einladung", TAB_MINT) == ["leads.invite_created"]
    assert [i.company for i in store.invites.values()] == [TAB_MINT]


async def test_an_agent_cannot_invite_a_company_of_another_cluster() -> None:
    store = Store()
    agent = await _agent(store, SteppableClock(), 900, "06108")  # Halle: TAB_MINT
    assert await agent.command("einladung", ZUKUNFTSMACHER) == ["leads.invite_other_cluster"]
    # Only what the agent typed: nothing of the other cluster (not even the company's name).
    assert agent.reply("leads.invite_other_cluster").values == {"company": ZUKUNFTSMACHER}
    assert store.invites == {}
    assert await agent.command("einladung", "gibt-es-nicht") == ["leads.invite_unknown_company"]
    assert store.invites == {}


async def test_an_agent_without_a_cluster_is_told_and_nothing_is_created() -> None:
    store = Store()
    agent = Harness(store=store, chat_id=900, agent=True)
    await agent.command("start")
    assert agent.profile.cluster is None
    # answered in the middle of onboarding, then the open question comes back
    assert await agent.command("einladung", ZUKUNFTSMACHER) == ["leads.agent_no_cluster", "onboarding.ask_role"]
    assert store.invites == {}
    assert await agent.command("leads") == ["onboarding.deferred", "onboarding.ask_role"]  # waits for the questions
    await agent.press("ob:role:skip")
    assert await agent.press("ob:place:skip") == ["onboarding.done", "leads.agent_no_cluster"]  # /leads ran now
    assert await agent.command("leads") == ["leads.agent_no_cluster"]
    assert await agent.forge("ld:af:all") == ["leads.agent_no_cluster"]
    assert await agent.forge("ld:csv:all") == ["leads.agent_no_cluster"]


async def test_others_do_not_know_the_agent_commands() -> None:
    store = Store()
    young = Harness(store=store, chat_id=901)
    await young.command("start", "zukunftsmacher")
    assert young.profile.cluster == "zukunftsmacher"
    assert (await young.command("einladung", ZUKUNFTSMACHER))[0] == "fallback.unknown_command"
    assert (await young.command("leads"))[0] == "fallback.unknown_command"
    assert store.invites == {}


async def test_the_server_command_invites_any_company() -> None:
    store = Store()
    clock = SteppableClock()
    async with FakeUnitOfWork(store) as uow:
        assert (await create_invite(uow, ZUKUNFTSMACHER, clock.now()) or "").startswith("ci-")
        assert (await create_invite(uow, TAB_MINT, clock.now()) or "").startswith("ci-")
        await uow.commit()
    assert sorted(i.company for i in store.invites.values()) == sorted([ZUKUNFTSMACHER, TAB_MINT])
