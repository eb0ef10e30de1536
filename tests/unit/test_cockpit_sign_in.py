"""Issue 12: /cockpit gives a cluster agent a single-use sign-in link for the web cockpit."""
from __future__ import annotations

from datetime import timedelta

from flows.domain.sign_in import token_hash
from tests.unit.fakes import SteppableClock, Store
from tests.unit.harness import Harness

COCKPIT = "https://cockpit.example.org"


async def _agent(store: Store, clock: SteppableClock, chat_id: int, plz: str, cockpit_url: str | None = COCKPIT) -> Harness:
    """A cluster agent (by configured id) of the cluster of their home town."""
    agent = Harness(store=store, chat_id=chat_id, clock=clock, agent=True, cockpit_url=cockpit_url)
    await agent.command("start")
    await agent.press("ob:role:other")
    await agent.text(plz)
    await agent.press("ob:place_confirm:yes")
    return agent


async def test_an_agent_gets_a_link_bound_to_them_valid_ten_minutes() -> None:
    store, clock = Store(), SteppableClock()
    agent = await _agent(store, clock, 900, "06108")
    assert await agent.command("cockpit") == ["cockpit.sign_in_link"]
    url = agent.reply("cockpit.sign_in_link").values["url"]
    assert url.startswith(f"{COCKPIT}/anmelden?t=")
    token = url.split("?t=", 1)[1]
    assert len(token) >= 40
    # Only the hash is stored, with the agent's numeric id and an expiry 10 minutes from now.
    assert token not in store.sign_ins
    channel, chat_id, expires_at = store.sign_ins[token_hash(token)]
    assert (channel, chat_id) == ("telegram", 900)
    assert expires_at - clock.now() == timedelta(minutes=10)
    # Each request is a new link.
    await agent.command("cockpit")
    assert agent.reply("cockpit.sign_in_link").values["url"] != url
    assert len(store.sign_ins) == 2


async def test_no_link_for_someone_who_is_not_an_agent() -> None:
    store = Store()
    young = Harness(store=store, chat_id=901, cockpit_url=COCKPIT)
    await young.command("start", "zukunftsmacher")
    await young.press("ob:role:skip")
    await young.press("ob:place:skip")
    assert (await young.command("cockpit"))[0] == "fallback.unknown_command"
    assert store.sign_ins == {}


async def test_no_link_without_a_cluster_or_without_a_cockpit() -> None:
    store = Store()
    agent = Harness(store=store, chat_id=900, agent=True, cockpit_url=COCKPIT)
    await agent.command("start")
    await agent.press("ob:role:skip")
    await agent.press("ob:place:skip")
    assert await agent.command("cockpit") == ["leads.agent_no_cluster"]
    assert store.sign_ins == {}
    unset = await _agent(Store(), SteppableClock(), 902, "06108", cockpit_url=None)
    assert await unset.command("cockpit") == ["cockpit.not_configured"]
