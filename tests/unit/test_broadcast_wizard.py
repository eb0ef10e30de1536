"""/broadcast: an agent composes an announcement like a user would, with the live count on every screen."""
from __future__ import annotations

from datetime import UTC, datetime

from flows.core.model import EventKind, Profile
from flows.core.payloads import BROADCASTS
from flows.domain.broadcast import BroadcastStatus
from tests.unit.fakes import Store
from tests.unit.harness import Harness
from tests.unit.test_broadcast_service import CLUSTER, person

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def agent(store: Store, chat_id: int = 42, cluster: str | None = CLUSTER) -> Harness:
    """A configured agent whose profile (onboarded, a parent in Löbau) names the cluster."""
    profile = Profile(id=store.next_id, channel="telegram", chat_id=chat_id, role="parent", plz="02708",
                      place="Löbau", cluster=cluster, onboarded=True, created_at=NOW, last_seen_at=NOW)
    store.next_id += 1
    assert profile.id is not None
    store.users[profile.id] = profile
    return Harness(chat_id=chat_id, store=store, agent=True)


def audience_store() -> Store:
    store = Store()
    for chat in range(3):
        person(store, 100 + chat, age_band="16_17")  # 3 young people 16–17
    person(store, 110, age_band="u16", given_by="parent")  # under 16, confirmed by a parent
    person(store, 111, age_band="u16")  # under 16 without a parent: never counted
    person(store, 120, role="parent", age_band=None)  # a parent
    return store


def reach(h: Harness, key: str) -> tuple[int, int, int]:
    values = h.reply(key).values["reach"]
    return values["total"], values["minors"], values["under_16"]


async def photo(h: Harness, file_id: str) -> list[str]:
    return await h._do(kind=EventKind.MEDIA, media_type="photo", file_id=file_id)


async def test_an_agent_composes_previews_tests_and_sends_now() -> None:
    store = audience_store()
    h = agent(store)
    assert "broadcasting.list" in await h.command("broadcast")
    await h.press(BROADCASTS.pack("new"))
    assert h.keys == ["broadcasting.ask_topic"]
    assert await h.press(BROADCASTS.pack("topic", "events")) == ["broadcasting.ask_audience"]
    assert reach(h, "broadcasting.ask_audience") == (5, 4, 1)  # 3 + 1 young people, 1 parent
    await h.press(BROADCASTS.pack("role", "teen"))
    assert reach(h, "broadcasting.ask_audience") == (4, 4, 1)
    await h.press(BROADCASTS.pack("age", "u16"))
    assert reach(h, "broadcasting.ask_audience") == (1, 1, 1)
    await h.press(BROADCASTS.pack("age", "u16"))  # tapped again: off
    await h.press(BROADCASTS.pack("role", "both"))
    assert await h.press(BROADCASTS.pack("next")) == ["broadcasting.ask_text"]
    assert h.reply("broadcasting.ask_text").values["form"] == "du"
    assert await h.text("Hallo {vorname}, Karrieretage am Samstag!") == ["broadcasting.ask_text"]
    assert h.reply("broadcasting.ask_text").values["form"] == "sie"  # parents are in it: Sie is asked for
    assert reach(h, "broadcasting.ask_text") == (5, 4, 1)
    assert await h.text("Guten Tag, Karrieretage am Samstag!") == ["broadcasting.ask_picture"]
    assert await photo(h, "AgACAgIAAxkBAAIBQ2") == ["broadcasting.ask_buttons"]
    await h.press(BROADCASTS.pack("add", "link"))
    await h.text("https://example.org/anmeldung Jetzt anmelden")
    assert h.reply("broadcasting.ask_buttons").values["chosen_buttons"] == [
        {"kind": "link", "label": "Jetzt anmelden", "url": "https://example.org/anmeldung"}]
    await h.press(BROADCASTS.pack("next"))
    assert h.keys == ["broadcasting.preview_head", "broadcast.message", "broadcasting.preview_head",
                      "broadcast.message", "broadcasting.preview_actions"]
    du, sie = [r for r in h.replies if r.key == "broadcast.message"]
    assert du.values["text"] == "Hallo Alex, Karrieretage am Samstag!" and sie.values["text"].startswith("Guten Tag")
    assert du.photo_file_id == "AgACAgIAAxkBAAIBQ2"
    assert [b.url for row in du.buttons for b in row][0] == "https://example.org/anmeldung"
    assert h.reply("broadcasting.preview_actions").values["problems"] == []
    await h.press(BROADCASTS.pack("test"))
    assert h.keys[0] == "broadcasting.test_sent"
    assert {m.recipient.chat_id for m in store.outbox.values()} == {42}  # the test goes to the agent only
    assert await h.press(BROADCASTS.pack("now")) == ["broadcasting.confirm"]
    assert await h.press(BROADCASTS.pack("go")) == ["broadcasting.scheduled"]
    [b] = store.broadcasts.values()
    assert b.status is BroadcastStatus.SCHEDULED and b.scheduled_at == h.clock.now()
    assert b.picture == "AgACAgIAAxkBAAIBQ2" and b.created_by == "telegram:42"
    await h.command("broadcast")
    assert h.reply("broadcasting.list").values["broadcasts"][0]["status"] == "scheduled"


async def test_schedule_by_typed_berlin_time_and_the_past_is_refused() -> None:
    store = audience_store()
    h = agent(store)
    await h.command("broadcast")
    await h.press(BROADCASTS.pack("new"))
    await h.press(BROADCASTS.pack("topic", "news"))
    await h.press(BROADCASTS.pack("role", "teen"))
    await h.press(BROADCASTS.pack("next"))
    assert await h.text("Neues aus dem Cluster!") == ["broadcasting.ask_picture"]  # no parents: no Sie text
    await h.press(BROADCASTS.pack("nopic"))
    await h.press(BROADCASTS.pack("next"))
    await h.press(BROADCASTS.pack("plan"))
    assert h.keys == ["broadcasting.ask_when"]
    assert await h.text("28.02.2027 09:00") == ["broadcasting.bad_time", "broadcasting.ask_when"]
    assert await h.text("13.03. 09:00") == ["broadcasting.confirm"]
    await h.press(BROADCASTS.pack("go"))
    [b] = store.broadcasts.values()
    assert b.scheduled_at == datetime(2027, 3, 13, 8, 0, tzinfo=UTC)


async def test_a_text_too_long_or_with_an_unknown_variable_is_asked_again() -> None:
    h = agent(audience_store())
    await h.command("broadcast")
    await h.press(BROADCASTS.pack("new"))
    await h.press(BROADCASTS.pack("topic", "events"))
    await h.press(BROADCASTS.pack("next"))
    assert await h.text("x" * 4097) == ["broadcasting.text_problem", "broadcasting.ask_text"]
    assert await h.text("Hallo {name}") == ["broadcasting.text_problem", "broadcasting.ask_text"]
    assert h.reply("broadcasting.text_problem").values["problems"][0]["reason"] == "unknown_variable"
    await h.text("x" * 1500)
    await h.text("Guten Tag")
    assert await photo(h, "AgACpic") == ["broadcasting.text_problem", "broadcasting.ask_picture"]  # caption ≤ 1024


async def test_the_event_radius_and_rsvp_filters_use_the_clusters_events() -> None:
    store = audience_store()
    h = agent(store)
    await h.command("broadcast")
    await h.press(BROADCASTS.pack("new"))
    await h.press(BROADCASTS.pack("topic", "events"))
    await h.press(BROADCASTS.pack("near", "event"))
    events = {e.slug: e for e in store.events}
    offered = [b.values["label"] for r in h.replies for row in r.buttons for b in row if b.key == "btn.raw"]
    assert offered and all(CLUSTER == next(e.cluster for e in events.values() if e.title in label)
                           for label in offered)
    await h.press(BROADCASTS.pack("pick", 0))
    assert h.keys == ["broadcasting.ask_audience"]
    assert h.reply("broadcasting.ask_audience").values["who"]["radius"] == 25
    await h.press(BROADCASTS.pack("rsvp", "yes"))
    await h.press(BROADCASTS.pack("pick", 0))
    assert reach(h, "broadcasting.ask_audience")[0] == 0  # nobody said "Erinnere mich" yet
    await h.press(BROADCASTS.pack("rsvp", "off"))
    await h.press(BROADCASTS.pack("near", "plz"))
    assert await h.text("02708") == ["broadcasting.ask_audience"]
    assert h.reply("broadcasting.ask_audience").values["who"]["place"] == "Löbau (02708)"


async def test_a_second_agent_approves_what_goes_to_many_minors() -> None:
    store = audience_store()
    anna = agent(store, 42)
    from flows.wiring import build_engine
    from tests.unit.fakes import FakePlaces, FakeUnitOfWork

    def with_threshold(h: Harness) -> Harness:
        h.engine = build_engine(lambda: FakeUnitOfWork(store), FakePlaces(), h.clock,
                                frozenset({("telegram", 42), ("telegram", 43), ("telegram", 44)}),
                                broadcast_approval_minors=2)
        return h
    anna, ben = with_threshold(anna), with_threshold(agent(store, 43))
    await anna.command("broadcast")
    await anna.press(BROADCASTS.pack("new"))
    await anna.press(BROADCASTS.pack("topic", "events"))
    await anna.press(BROADCASTS.pack("role", "teen"))
    await anna.press(BROADCASTS.pack("next"))
    await anna.text("Hey {vorname}!")
    await anna.press(BROADCASTS.pack("nopic"))
    await anna.press(BROADCASTS.pack("next"))
    await anna.press(BROADCASTS.pack("now"))
    assert anna.reply("broadcasting.confirm").values["approval"] is True
    await anna.press(BROADCASTS.pack("go"))
    assert anna.reply("broadcasting.scheduled").values["state"] == "awaiting_approval"
    [b] = store.broadcasts.values()
    assert b.id is not None
    await anna.command("broadcast")
    assert BROADCASTS.pack("approve", b.id) not in anna.button_data  # not for its author
    assert "broadcasting.refused" in await anna.forge(BROADCASTS.pack("approve", b.id))
    assert store.broadcasts[b.id].status is BroadcastStatus.AWAITING_APPROVAL
    await ben.command("broadcast")
    await ben.press(BROADCASTS.pack("approve", b.id))
    assert ben.keys == ["broadcasting.done_approve", "broadcasting.detail"]
    assert store.broadcasts[b.id].status is BroadcastStatus.SCHEDULED
    assert store.broadcasts[b.id].approved_by == "telegram:43"


async def test_running_broadcasts_can_be_paused_resumed_and_cancelled_from_the_list() -> None:
    store = audience_store()
    h = agent(store)
    await h.command("broadcast")
    await h.press(BROADCASTS.pack("new"))
    await h.press(BROADCASTS.pack("topic", "offers"))
    [b] = store.broadcasts.values()
    assert b.id is not None
    store.broadcasts[b.id].status = BroadcastStatus.RUNNING
    await h.command("broadcast")
    await h.press(BROADCASTS.pack("open", b.id))
    assert BROADCASTS.pack("edit", b.id) not in h.button_data  # started: no more changes
    await h.press(BROADCASTS.pack("pause", b.id))
    assert store.broadcasts[b.id].status is BroadcastStatus.PAUSED
    await h.press(BROADCASTS.pack("resume", b.id))
    await h.press(BROADCASTS.pack("cancel", b.id))
    assert h.keys == ["broadcasting.ask_cancel"]
    await h.press(BROADCASTS.pack("cancel_yes", b.id))
    assert store.broadcasts[b.id].status is BroadcastStatus.CANCELLED
    assert [a.action for a in store.broadcasts[b.id].history][-3:] == ["paused", "resumed", "cancelled"]
    assert {a.by for a in store.broadcasts[b.id].history} == {"telegram:42"}


async def test_others_cannot_use_broadcast_or_its_buttons() -> None:
    store = audience_store()
    anna = agent(store)
    await anna.command("broadcast")
    await anna.press(BROADCASTS.pack("new"))
    await anna.press(BROADCASTS.pack("topic", "events"))
    [b] = store.broadcasts.values()
    assert b.id is not None
    plain = Harness(chat_id=120, store=store)  # the parent of the audience, no agent
    assert "fallback.unknown_command" in await plain.command("broadcast")
    await plain.forge(BROADCASTS.pack("cancel_yes", b.id))
    assert "fallback.explain" in plain.keys or "broadcasting.refused" not in plain.keys
    foreign = agent(store, 77, cluster="tab-mint")
    await foreign.command("broadcast")
    assert foreign.reply("broadcasting.list").values["broadcasts"] == []
    await foreign.forge(BROADCASTS.pack("cancel_yes", b.id))
    assert foreign.reply("broadcasting.refused").values["reason"] == "not_found"
    await foreign.forge(BROADCASTS.pack("open", b.id))
    assert "broadcasting.detail" not in foreign.keys
    assert store.broadcasts[b.id].status is BroadcastStatus.DRAFT
    no_cluster = agent(store, 78, cluster=None)
    assert await no_cluster.command("broadcast") == ["broadcasting.no_cluster"]
