"""The agents' service for announcements: rights, limits, du/Sie, approval, schedule, life cycle, history."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest

from flows.core.model import ConsentRecord, Profile
from flows.delivery.broadcast_service import (
    Actor,
    BroadcastService,
    Refused,
    parse_local,
    problems,
    telegram_length,
)
from flows.domain.broadcast import (
    CONSENT_VERSION,
    AnnouncementButton,
    Audience,
    Broadcast,
    BroadcastStatus,
    ButtonKind,
    Recipient,
    RecipientStatus,
    Topic,
    consent_purpose,
)
from tests.unit.fakes import FakeUnitOfWork, Store

CLUSTER = "zukunftsmacher"
ANNA = Actor(by="telegram:501", agent=True, cluster=CLUSTER)
BEN = Actor(by="telegram:502", agent=True, cluster=CLUSTER)
OTHER_CLUSTER = Actor(by="telegram:601", agent=True, cluster="tab-mint")
NOT_AGENT = Actor(by="telegram:701", agent=False, cluster=CLUSTER)
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def person(store: Store, chat_id: int, role: str = "teen", age_band: str | None = "16_17",
           given_by: str = "self", topic: Topic = Topic.EVENTS) -> Profile:
    """Someone of the cluster in Löbau, opted in to `topic`."""
    profile = Profile(id=store.next_id, channel="telegram", chat_id=chat_id, role=role, age_band=age_band,
                      plz="02708", place="Löbau", cluster=CLUSTER, onboarded=True, created_at=NOW, last_seen_at=NOW)
    store.next_id += 1
    assert profile.id is not None
    store.users[profile.id] = profile
    store.consents.setdefault(profile.id, []).append(ConsentRecord(
        id=store.next_id, purpose=consent_purpose(topic), text_version=CONSENT_VERSION, given_by=given_by,
        given_at=NOW))
    store.next_id += 1
    return profile


T = TypeVar("T")


async def run(store: Store, action: Callable[[BroadcastService], Awaitable[T]],
                 now: datetime = NOW, approval_minors: int | None = None) -> T:
    async with FakeUnitOfWork(store) as uow:
        result = await action(BroadcastService(uow, now, approval_minors=approval_minors))
        await uow.commit()
    return result


async def draft(store: Store, du: str = "Hallo {vorname}, Messe am Samstag!", sie: str = "Guten Tag, Messe am Samstag!",
                audience: Audience | None = None, by: Actor = ANNA) -> int:
    async def make(s: BroadcastService) -> int:
        b = await s.create(by, Topic.EVENTS)
        assert b.id is not None
        await s.edit(by, b.id, text_du=du, text_sie=sie, audience=audience or Audience())
        return b.id
    return await run(store, make)


def stored(store: Store, broadcast_id: int) -> Broadcast:
    return store.broadcasts[broadcast_id]


# ---- rights ---------------------------------------------------------------------------------------
async def test_an_agent_of_another_cluster_sees_and_changes_nothing() -> None:
    store = Store()
    bid = await draft(store)
    for action in ("get", "edit", "schedule", "cancel", "pause", "approve", "progress"):
        with pytest.raises(Refused) as refused:
            async def act(s: BroadcastService, action: str = action) -> object:
                if action == "edit":
                    return await s.edit(OTHER_CLUSTER, bid, text_du="gekapert")
                return await getattr(s, action)(OTHER_CLUSTER, bid)
            await run(store, act)
        assert refused.value.reason == "not_found"  # the same answer as for an id that does not exist
    assert await run(store, lambda s: s.overview(OTHER_CLUSTER)) == []
    assert stored(store, bid).text_du == "Hallo {vorname}, Messe am Samstag!"
    assert stored(store, bid).status is BroadcastStatus.DRAFT


async def test_someone_who_is_no_agent_can_do_nothing_even_in_the_cluster() -> None:
    store = Store()
    bid = await draft(store)
    with pytest.raises(Refused, match="not_agent"):
        await run(store, lambda s: s.create(NOT_AGENT, Topic.EVENTS))
    with pytest.raises(Refused, match="not_found"):
        await run(store, lambda s: s.cancel(NOT_AGENT, bid))
    with pytest.raises(Refused, match="not_agent"):
        await run(store, lambda s: s.overview(NOT_AGENT))
    assert stored(store, bid).status is BroadcastStatus.DRAFT


async def test_an_agent_without_a_cluster_cannot_create() -> None:
    with pytest.raises(Refused, match="no_cluster"):
        await run(Store(), lambda s: s.create(Actor(by="telegram:9", agent=True, cluster=None), Topic.NEWS))


# ---- texts and limits -----------------------------------------------------------------------------
async def test_young_people_and_parents_need_both_texts_and_parents_alone_only_sie() -> None:
    store = Store()
    both = await draft(store, du="Hallo!", sie="")
    with pytest.raises(Refused) as refused:
        await run(store, lambda s: s.schedule(ANNA, both))
    assert [(p.reason, p.form) for p in refused.value.values["problems"]] == [("missing", "sie")]
    parents = await draft(store, du="", sie="Guten Tag!", audience=Audience(roles=["parent"]))
    assert (await run(store, lambda s: s.schedule(ANNA, parents))).status is BroadcastStatus.SCHEDULED
    teens = await draft(store, du="Hey!", sie="", audience=Audience(roles=["teen"]))
    assert (await run(store, lambda s: s.schedule(ANNA, teens))).status is BroadcastStatus.SCHEDULED


def test_limits_count_variables_at_their_longest_and_a_picture_means_1024() -> None:
    b = Broadcast(cluster=CLUSTER, topic=Topic.EVENTS, text_du="x" * 4096, text_sie="y" * 10, created_by="t",
                  created_at=NOW)
    assert problems(b) == []
    b.text_du = "x" * 4090 + "{vorname}"  # a 40-character name makes it longer than 4096
    assert [(p.reason, p.form, p.limit) for p in problems(b)] == [("too_long", "du", 4096)]
    b.text_du, b.picture = "x" * 1025, "AgACAgIAAxkBAAIB"
    assert [(p.reason, p.limit) for p in problems(b)] == [("too_long", 1024)]
    b.text_du = "x" * 1024
    assert problems(b) == []
    b.text_sie = "Guten Tag {name}"
    assert [(p.reason, p.name) for p in problems(b)] == [("unknown_variable", "name")]
    assert telegram_length("👋") == 2  # as Telegram counts (UTF-16)


async def test_a_text_over_the_limit_cannot_be_scheduled() -> None:
    store = Store()
    bid = await draft(store, du="ä" * 4097)
    with pytest.raises(Refused, match="texts"):
        await run(store, lambda s: s.schedule(ANNA, bid))
    assert stored(store, bid).status is BroadcastStatus.DRAFT


# ---- scheduling -----------------------------------------------------------------------------------
async def test_schedule_in_the_past_is_refused_and_berlin_time_becomes_utc() -> None:
    store = Store()
    bid = await draft(store)
    with pytest.raises(Refused, match="in_past"):
        await run(store, lambda s: s.schedule(ANNA, bid, NOW - timedelta(minutes=1)))
    at = parse_local("13.03. 09:00", NOW)
    assert at == datetime(2027, 3, 13, 8, 0, tzinfo=UTC)  # CET: UTC+1
    assert parse_local("13.07.2027 9:00", NOW) == datetime(2027, 7, 13, 7, 0, tzinfo=UTC)  # CEST: UTC+2
    assert parse_local("01.02. 10:00", NOW) == datetime(2028, 2, 1, 9, 0, tzinfo=UTC)  # passed: next year
    assert parse_local("28.03.2027 02:30", NOW) is None  # does not exist: the clocks go forward
    assert parse_local("31.02. 10:00", NOW) is None and parse_local("morgen", NOW) is None
    b = await run(store, lambda s: s.schedule(ANNA, bid, at))
    assert b.status is BroadcastStatus.SCHEDULED and b.scheduled_at == at
    now = await draft(store)
    assert (await run(store, lambda s: s.schedule(ANNA, now))).scheduled_at == NOW  # "jetzt senden"


async def test_edit_until_it_starts_makes_it_a_draft_again_and_cancel_until_done() -> None:
    store = Store()
    bid = await draft(store)
    await run(store, lambda s: s.schedule(ANNA, bid, NOW + timedelta(days=1)))
    b = await run(store, lambda s: s.edit(ANNA, bid, text_du="Neu!"))
    assert b.status is BroadcastStatus.DRAFT and b.scheduled_at is None  # to be scheduled (and approved) again
    await run(store, lambda s: s.schedule(ANNA, bid, NOW + timedelta(days=1)))
    stored(store, bid).status = BroadcastStatus.RUNNING  # the sending job started it
    with pytest.raises(Refused, match="not_editable"):
        await run(store, lambda s: s.edit(ANNA, bid, text_du="zu spät"))
    with pytest.raises(Refused, match="not_editable"):
        await run(store, lambda s: s.schedule(ANNA, bid))
    assert (await run(store, lambda s: s.cancel(ANNA, bid))).status is BroadcastStatus.CANCELLED
    with pytest.raises(Refused, match="not_cancellable"):
        await run(store, lambda s: s.cancel(ANNA, bid))


async def test_cancel_before_the_start_and_while_running_stops_what_is_not_sent() -> None:
    store = Store()
    first = await draft(store)
    await run(store, lambda s: s.schedule(ANNA, first, NOW + timedelta(hours=2)))
    assert (await run(store, lambda s: s.cancel(BEN, first))).status is BroadcastStatus.CANCELLED  # any agent of it
    second = await draft(store)
    stored(store, second).status = BroadcastStatus.RUNNING
    for user_id, status in ((1, RecipientStatus.SENT), (2, RecipientStatus.PLANNED), (3, RecipientStatus.QUEUED)):
        store.recipients[(second, user_id)] = Recipient(broadcast_id=second, user_id=user_id, channel="telegram",
                                                        chat_id=user_id, formal=False, minor=False, status=status)
    await run(store, lambda s: s.cancel(ANNA, second))
    assert [store.recipients[(second, u)].status for u in (1, 2, 3)] == [
        RecipientStatus.SENT, RecipientStatus.CANCELLED, RecipientStatus.CANCELLED]


async def test_pause_and_resume_only_while_running() -> None:
    store = Store()
    bid = await draft(store)
    with pytest.raises(Refused, match="not_running"):
        await run(store, lambda s: s.pause(ANNA, bid))
    with pytest.raises(Refused, match="not_paused"):
        await run(store, lambda s: s.resume(ANNA, bid))
    stored(store, bid).status = BroadcastStatus.RUNNING
    assert (await run(store, lambda s: s.pause(ANNA, bid))).status is BroadcastStatus.PAUSED
    with pytest.raises(Refused, match="not_running"):
        await run(store, lambda s: s.pause(ANNA, bid))
    assert (await run(store, lambda s: s.resume(BEN, bid))).status is BroadcastStatus.RUNNING
    stored(store, bid).status = BroadcastStatus.DONE
    with pytest.raises(Refused, match="not_running"):
        await run(store, lambda s: s.pause(ANNA, bid))


# ---- approval -------------------------------------------------------------------------------------
async def test_many_minors_need_a_second_different_agent_of_the_cluster() -> None:
    store = Store()
    for chat in range(3):
        person(store, 100 + chat, age_band="16_17")
    person(store, 200, age_band="u16", given_by="parent")
    person(store, 201, age_band="u16")  # under 16 without a parent's yes: not counted, never reached
    bid = await draft(store)
    count = await run(store, lambda s: s.count(stored(store, bid)))
    assert (count.total, count.minors, count.under_16) == (4, 4, 1)
    b = await run(store, lambda s: s.schedule(ANNA, bid, NOW + timedelta(hours=1)), approval_minors=3)
    assert b.status is BroadcastStatus.AWAITING_APPROVAL
    with pytest.raises(Refused, match="own_broadcast"):
        await run(store, lambda s: s.approve(ANNA, bid), approval_minors=3)
    with pytest.raises(Refused, match="not_found"):
        await run(store, lambda s: s.approve(OTHER_CLUSTER, bid), approval_minors=3)
    b = await run(store, lambda s: s.approve(BEN, bid), approval_minors=3)
    assert b.status is BroadcastStatus.SCHEDULED and b.approved_by == BEN.by
    with pytest.raises(Refused, match="not_waiting"):
        await run(store, lambda s: s.approve(BEN, bid), approval_minors=3)


async def test_who_changed_it_cannot_approve_it_and_a_change_needs_a_new_approval() -> None:
    store = Store()
    for chat in range(2):
        person(store, 100 + chat, age_band="16_17")
    bid = await draft(store)
    await run(store, lambda s: s.edit(BEN, bid, text_du="Ben war hier"))  # Ben co-wrote it
    await run(store, lambda s: s.schedule(ANNA, bid), approval_minors=1)
    with pytest.raises(Refused, match="own_broadcast"):
        await run(store, lambda s: s.approve(BEN, bid), approval_minors=1)
    carla = Actor(by="telegram:503", agent=True, cluster=CLUSTER)
    await run(store, lambda s: s.approve(carla, bid), approval_minors=1)
    b = await run(store, lambda s: s.edit(ANNA, bid, text_du="nach der Freigabe geändert"), approval_minors=1)
    assert b.status is BroadcastStatus.DRAFT and b.approved_by is None


async def test_without_a_threshold_no_approval_is_needed() -> None:
    store = Store()
    for chat in range(5):
        person(store, 100 + chat, age_band="u16", given_by="parent")
    bid = await draft(store)
    assert (await run(store, lambda s: s.schedule(ANNA, bid))).status is BroadcastStatus.SCHEDULED
    bid2 = await draft(store)
    b = await run(store, lambda s: s.schedule(ANNA, bid2), approval_minors=5)  # 5 is not over 5
    assert b.status is BroadcastStatus.SCHEDULED


# ---- history, buttons, test send, overview --------------------------------------------------------
async def test_every_action_is_recorded_with_who_and_when() -> None:
    store = Store()
    bid = await draft(store)
    later = NOW + timedelta(minutes=5)
    await run(store, lambda s: s.schedule(ANNA, bid, NOW + timedelta(hours=1)), now=later)
    await run(store, lambda s: s.cancel(Actor.cli(), bid), now=later + timedelta(minutes=1))
    history = [(a.action, a.by, a.at) for a in stored(store, bid).history]
    assert history == [("created", ANNA.by, NOW), ("edited", ANNA.by, NOW), ("scheduled", ANNA.by, later),
                       ("cancelled", "cli", later + timedelta(minutes=1))]


async def test_buttons_must_lead_to_the_clusters_own_things_and_links_to_https() -> None:
    store = Store()
    bid = await draft(store)
    foreign = next(e for e in store.events if e.cluster != CLUSTER and e.ends > NOW)
    own = next(e for e in store.events if e.cluster == CLUSTER and e.ends > NOW and not e.cancelled)
    for bad in (AnnouncementButton(kind=ButtonKind.EVENT, ref=foreign.slug),
                AnnouncementButton(kind=ButtonKind.LINK, ref="http://example.org"),
                AnnouncementButton(kind=ButtonKind.LINK, ref="javascript:alert(1)"),
                AnnouncementButton(kind=ButtonKind.PROFESSION, ref="gibtsnicht")):
        def with_button(s: BroadcastService, bad: AnnouncementButton = bad) -> Awaitable[Broadcast]:
            return s.edit(ANNA, bid, buttons=[bad])
        with pytest.raises(Refused):
            await run(store, with_button)
    good = [AnnouncementButton(kind=ButtonKind.EVENT, ref=own.slug),
            AnnouncementButton(kind=ButtonKind.LINK, ref="https://example.org/a?b=1", label="Anmelden")]
    assert (await run(store, lambda s: s.edit(ANNA, bid, buttons=good))).buttons == good


async def test_a_test_send_goes_to_the_agent_only_in_each_form_marked_as_test() -> None:
    from flows.core.context import reply

    store = Store()
    agent = person(store, 501, role="parent", age_band=None)
    bid = await draft(store)
    sent = await run(store, lambda s: s.test_send(ANNA, bid, agent, reply("broadcasting.test_note", id=bid)))
    assert sent == 2
    messages = sorted(store.outbox.values(), key=lambda m: m.due_at)
    assert [m.recipient.chat_id for m in messages] == [501, 501, 501]
    assert [m.reply.key for m in messages] == ["broadcasting.test_note", "broadcast.message", "broadcast.message"]
    assert [m.formal for m in messages[1:]] == [False, True]
    assert messages[1].reply.values["text"] == "Hallo Alex, Messe am Samstag!"
    assert messages[2].reply.values["text"] == "Guten Tag, Messe am Samstag!"
    assert all(not m.idempotency_key.startswith("broadcast:") for m in messages)  # no recipient's key
    assert store.recipients == {}
    await run(store, lambda s: s.test_send(ANNA, bid, agent, reply("broadcasting.test_note", id=bid)))
    assert len(store.outbox) == 6  # a second test is sent again
    assert [a.action for a in stored(store, bid).history][-2:] == ["test_sent", "test_sent"]


async def test_overview_shows_progress_with_an_eta_at_30_per_second() -> None:
    store = Store()
    bid = await draft(store)
    b = stored(store, bid)
    b.status, b.started_at = BroadcastStatus.RUNNING, NOW
    for user_id in range(1, 5001):
        store.recipients[(bid, user_id)] = Recipient(
            broadcast_id=bid, user_id=user_id, channel="telegram", chat_id=user_id, formal=False, minor=False,
            status=RecipientStatus.SENT if user_id <= 2140 else RecipientStatus.PLANNED)
    [progress] = await run(store, lambda s: s.overview(ANNA), now=NOW + timedelta(seconds=100))
    assert (progress.results.sent, progress.results.total) == (2140, 5000)
    assert progress.eta_seconds == round(2860 / 21.4)  # slower than 30/s so far: the observed rate
    [fast] = await run(store, lambda s: s.overview(ANNA), now=NOW + timedelta(seconds=10))
    assert fast.eta_seconds == round(2860 / 30)  # never faster than the limit
    assert [p.broadcast.id for p in await run(store, lambda s: s.overview(Actor.cli(), CLUSTER))] == [bid]
    assert await run(store, lambda s: s.overview(Actor.cli(), "tab-mint")) == []

