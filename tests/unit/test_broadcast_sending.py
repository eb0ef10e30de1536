"""Sending announcements: start, feed, checks right before each send, results after it (in memory,
on virtual time and a SteppableClock)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flows.core.model import ConsentRecord, Profile, Reply, UserRef
from flows.core.payloads import ANNOUNCEMENTS
from flows.delivery import broadcast_sending as sending
from flows.delivery.dispatcher import DispatchPolicy, DispatchReport, OutboxDispatcher
from flows.delivery.limiter import RateLimiter
from flows.delivery.outbox import OutboxStatus, SendResult
from flows.delivery.quiet_hours import QuietHours
from flows.domain.broadcast import (
    CONSENT_VERSION,
    AnnouncementButton,
    Broadcast,
    BroadcastStatus,
    ButtonKind,
    Recipient,
    RecipientStatus,
    Topic,
    consent_purpose,
)
from flows.jobs.broadcasts import BroadcastPolicy, broadcast_tick
from tests.unit.fakes import FakeUnitOfWork, SteppableClock, Store
from tests.unit.virtual_time import VirtualTime

MORNING = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
CLUSTER = "zukunftsmacher"


class Sender:
    """Answers ok unless told otherwise per chat; each send takes 5 ms of virtual time."""

    channel = "telegram"

    def __init__(self, time: VirtualTime) -> None:
        self.time = time
        self.sent: list[tuple[int, Reply, bool]] = []  # chat, reply, formal
        self.script: dict[int, list[SendResult]] = {}

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        await self.time.sleep(0.005)
        script = self.script.get(recipient.chat_id)
        result = script.pop(0) if script else SendResult.ok()
        if result.kind.value in ("ok", "unknown"):  # an unknown one may well have arrived
            self.sent.append((recipient.chat_id, reply, formal))
        return result

    def chats(self) -> list[int]:
        return [chat for chat, _, _ in self.sent]


class World:
    def __init__(self, start: datetime = MORNING, weekly_cap: int = 2, batch: int = 200) -> None:
        self.store = Store()
        self.clock = SteppableClock(start)
        self.time = VirtualTime()
        self.sender = Sender(self.time)
        self.policy = BroadcastPolicy(weekly_cap=weekly_cap, batch=batch)
        limiter = RateLimiter(30, 1, monotonic=self.time.monotonic, sleep=self.time.sleep)
        self.dispatcher = OutboxDispatcher(self.uow, self.sender, limiter, self.clock, QuietHours.parse(),
                                           DispatchPolicy(), hooks=[sending.BroadcastChecks(weekly_cap)])

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)

    def person(self, role: str = "teen", age_band: str | None = "16_17", opted_in: bool = True,
               topic: Topic = Topic.EVENTS, given_by: str = "self", cluster: str = CLUSTER) -> int:
        user_id = self.store.next_id
        self.store.next_id += 1
        self.store.users[user_id] = Profile(id=user_id, channel="telegram", chat_id=1000 + user_id, role=role,
                                            age_band=age_band, cluster=cluster, onboarded=True)
        if opted_in:
            self.opt_in(user_id, topic, given_by)
        return user_id

    def opt_in(self, user_id: int, topic: Topic = Topic.EVENTS, given_by: str = "self") -> None:
        self.store.consents.setdefault(user_id, []).append(ConsentRecord(
            id=self.store.next_id, purpose=consent_purpose(topic), text_version=CONSENT_VERSION,
            given_by=given_by, given_at=self.clock.now()))
        self.store.next_id += 1

    def opt_out(self, user_id: int) -> None:
        for consent in self.store.consents[user_id]:
            consent.withdrawn_at = self.clock.now()

    def broadcast(self, topic: Topic = Topic.EVENTS, at: datetime | None = None, **more: object) -> int:
        broadcast_id = self.store.next_id
        self.store.next_id += 1
        self.store.broadcasts[broadcast_id] = Broadcast(
            id=broadcast_id, cluster=CLUSTER, topic=topic, text_du="Hallo {vorname}, komm vorbei!",
            text_sie="Guten Tag, kommen Sie vorbei!", status=BroadcastStatus.SCHEDULED,
            scheduled_at=at or self.clock.now(), created_by="telegram:1", created_at=self.clock.now(),
            **more)  # type: ignore[arg-type]
        return broadcast_id

    def status(self, broadcast_id: int) -> BroadcastStatus:
        return self.store.broadcasts[broadcast_id].status

    def recipient(self, broadcast_id: int, user_id: int) -> RecipientStatus:
        return self.store.recipients[(broadcast_id, user_id)].status

    def set_status(self, broadcast_id: int, status: BroadcastStatus) -> None:
        self.store.broadcasts[broadcast_id].status = status

    async def tick(self) -> None:
        await broadcast_tick(self.uow, self.clock.now(), self.policy)

    async def dispatch(self) -> DispatchReport:
        return await self.time.run(self.dispatcher.tick())

    async def round(self) -> DispatchReport:
        await self.tick()
        return await self.dispatch()

    def outbox(self, broadcast_id: int) -> list[str]:
        return [m.idempotency_key for m in self.store.outbox.values()
                if m.idempotency_key.startswith(f"broadcast:{broadcast_id}:") and m.status is OutboxStatus.PENDING]


def recipient(formal: bool = False, first_name: str | None = "Lea", km: int | None = 23) -> Recipient:
    return Recipient(broadcast_id=7, user_id=3, channel="telegram", chat_id=33, formal=formal, minor=not formal,
                     first_name=first_name, km=km)


def broadcast(**more: object) -> Broadcast:
    fields: dict[str, object] = {"text_du": "Hallo {vorname}, nur {km} entfernt!",
                                 "text_sie": "Guten Tag {vorname}, nur {km} entfernt.", **more}
    return Broadcast(id=7, cluster=CLUSTER, topic=Topic.EVENTS, created_by="telegram:1", created_at=MORNING,
                     **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- the message

def test_the_message_speaks_to_each_person() -> None:
    du = sending.announcement_reply(broadcast(), recipient())
    assert du.key == "broadcast.message" and du.values["text"] == "Hallo Lea, nur 23 km entfernt!"
    sie = sending.announcement_reply(broadcast(), recipient(formal=True, first_name=None, km=None))
    assert sie.values["text"] == "Guten Tag, nur entfernt."
    assert sending.personal_text("{vorname}, schau mal!", None, None) == "Schau mal!"
    assert sending.personal_text("Hi {vorname}!\n{vorname}: los", "", None) == "Hi!\nLos"


def test_buttons_then_stop_and_a_picture_as_caption() -> None:
    buttons = [AnnouncementButton(kind=ButtonKind.EVENT, ref="impuls"),
               AnnouncementButton(kind=ButtonKind.LINK, ref="https://example.org/a?b=1", label="Anmeldung"),
               AnnouncementButton(kind=ButtonKind.OFFER, ref="maurer-cottbus")]
    reply = sending.announcement_reply(broadcast(buttons=buttons, picture="AgACAgIAAxk"), recipient())
    rows = [row[0] for row in reply.buttons]
    assert [b.key for b in rows] == ["btn.broadcast.event", "btn.broadcast.link", "btn.broadcast.offer",
                                     "btn.broadcast.stop"]
    assert rows[0].data == ANNOUNCEMENTS.pack("go", 7, 0) and rows[2].data == ANNOUNCEMENTS.pack("go", 7, 2)
    assert rows[1].url == "https://example.org/a?b=1" and rows[1].data == "" and rows[1].values["label"] == "Anmeldung"
    assert rows[3].data == ANNOUNCEMENTS.pack("stop", "events")
    assert reply.photo_file_id == "AgACAgIAAxk"


def test_the_agents_text_is_escaped() -> None:
    from prompts import default_catalog
    reply = sending.announcement_reply(broadcast(text_du="<b>Messe</b> & mehr"), recipient())
    assert default_catalog().render(reply.key, reply.values) == "&lt;b&gt;Messe&lt;/b&gt; &amp; mehr"


# ---------------------------------------------------------------------------------------- start and feed

async def test_start_resolves_the_audience_once_and_only_for_the_opted_in() -> None:
    world = World()
    yes, no = world.person(), world.person(opted_in=False)
    other_topic = world.person(topic=Topic.NEWS)
    b = world.broadcast()
    async with world.uow() as uow:
        assert await sending.start(uow, world.store.broadcasts[b], world.clock.now()) == 1
        await uow.commit()
    assert world.status(b) is BroadcastStatus.RUNNING
    assert [a.action for a in world.store.broadcasts[b].history] == ["started"]
    assert (b, yes) in world.store.recipients and (b, no) not in world.store.recipients
    assert (b, other_topic) not in world.store.recipients
    late = world.person()  # opted in after the start: not part of this announcement
    async with world.uow() as uow:
        assert await sending.start(uow, world.store.broadcasts[b], world.clock.now()) is None  # running already
        await uow.commit()
    assert (b, late) not in world.store.recipients and len(world.store.broadcasts[b].history) == 1


async def test_not_before_its_time() -> None:
    world = World()
    world.person()
    b = world.broadcast(at=MORNING + timedelta(hours=1))
    await world.tick()
    assert world.status(b) is BroadcastStatus.SCHEDULED and not world.store.recipients
    world.clock.advance(hours=1)
    await world.tick()
    assert world.status(b) is BroadcastStatus.RUNNING


async def test_the_outbox_is_fed_in_batches_and_the_broadcast_ends_done() -> None:
    world = World(batch=3)
    people = [world.person() for _ in range(7)]
    b = world.broadcast()
    await world.tick()
    assert len(world.outbox(b)) == 3
    assert sum(r.status is RecipientStatus.QUEUED for r in world.store.recipients.values()) == 3
    await world.tick()  # nothing sent yet: no more
    assert len(world.outbox(b)) == 3
    for _ in range(4):
        await world.round()
    assert sorted(world.sender.chats()) == sorted(1000 + p for p in people)  # each once
    assert all(world.recipient(b, p) is RecipientStatus.SENT for p in people)
    await world.tick()
    assert world.status(b) is BroadcastStatus.DONE and world.store.broadcasts[b].finished_at == MORNING
    results = world.store.recipients
    assert all(r.status_at == MORNING for r in results.values())
    async with world.uow() as uow:
        summary = await uow.broadcasts.results(b)
    assert summary.sent == 7 and summary.remaining == 0


async def test_du_for_young_people_and_sie_for_parents() -> None:
    world = World()
    teen, parent = world.person(), world.person(role="parent", age_band=None)
    world.broadcast()
    await world.round()
    by_chat = {chat: (reply.values["text"], formal) for chat, reply, formal in world.sender.sent}
    assert by_chat[1000 + teen] == ("Hallo, komm vorbei!", False)
    assert by_chat[1000 + parent] == ("Guten Tag, kommen Sie vorbei!", True)


async def test_the_weekly_cap() -> None:
    world = World(weekly_cap=2)
    p = world.person()
    first, second, third = world.broadcast(), world.broadcast(), world.broadcast()
    for _ in range(3):
        await world.round()
    statuses = [world.recipient(b, p) for b in (first, second, third)]
    assert statuses.count(RecipientStatus.SENT) == 2 and statuses.count(RecipientStatus.CAPPED) == 1
    assert len(world.sender.sent) == 2
    world.clock.advance(days=7, seconds=1)  # a week later there is room again
    fourth = world.broadcast()
    await world.round()
    assert world.recipient(fourth, p) is RecipientStatus.SENT


async def test_the_cap_is_checked_again_right_before_the_send() -> None:
    world = World(weekly_cap=1)
    p = world.person()
    first, second = world.broadcast(), world.broadcast()
    await world.tick()  # both queued: at feed time the person had none this week
    assert world.recipient(first, p) is world.recipient(second, p) is RecipientStatus.QUEUED
    report = await world.dispatch()
    assert len(world.sender.sent) == 1 and report.dropped == 1
    assert {world.recipient(first, p), world.recipient(second, p)} == {RecipientStatus.SENT, RecipientStatus.CAPPED}


async def test_an_opt_out_between_resolution_and_send_drops_the_message() -> None:
    world = World()
    stays, leaves = world.person(), world.person()
    b = world.broadcast()
    await world.tick()
    world.opt_out(leaves)
    await world.dispatch()
    assert world.sender.chats() == [1000 + stays]
    assert world.recipient(b, leaves) is RecipientStatus.OPTED_OUT
    key = sending.outbox_key(b, leaves)
    assert next(m for m in world.store.outbox.values() if m.idempotency_key == key).status is OutboxStatus.DROPPED
    await world.tick()
    assert world.status(b) is BroadcastStatus.DONE


async def test_under_16_only_with_a_parents_consent() -> None:
    world = World()
    own = world.person(age_band="u16")  # said yes themselves: not enough
    confirmed = world.person(age_band="u16", given_by="parent")
    b = world.broadcast()
    await world.round()
    assert world.sender.chats() == [1000 + confirmed] and (b, own) not in world.store.recipients


async def test_blocked_becomes_blocked_and_the_person_inactive() -> None:
    world = World()
    p = world.person()
    b = world.broadcast()
    world.sender.script[1000 + p] = [SendResult.blocked()]
    await world.round()
    assert world.recipient(b, p) is RecipientStatus.BLOCKED and not world.store.users[p].active
    await world.tick()
    assert world.status(b) is BroadcastStatus.DONE


async def test_an_inactive_person_is_not_sent_to() -> None:
    world = World()
    p = world.person()
    b = world.broadcast()
    await world.tick()
    world.store.users[p].active = False  # blocked the bot meanwhile (my_chat_member)
    await world.dispatch()
    assert world.sender.sent == [] and world.recipient(b, p) is RecipientStatus.BLOCKED


async def test_a_timeout_is_unknown_and_never_sent_again() -> None:
    world = World()
    p, q = world.person(), world.person()
    b = world.broadcast()
    world.sender.script[1000 + p] = [SendResult.unknown("timeout")]
    world.sender.script[1000 + q] = [SendResult.permanent("chat not found")]
    report = await world.round()
    assert report.unknown == 1 and report.failed == 1
    assert world.recipient(b, p) is RecipientStatus.UNKNOWN and world.recipient(b, q) is RecipientStatus.FAILED
    for _ in range(3):
        world.clock.advance(minutes=30)
        await world.round()
    assert world.sender.chats().count(1000 + p) == 1
    assert world.status(b) is BroadcastStatus.DONE


async def test_a_timeout_of_other_messages_is_still_retried() -> None:
    from flows.delivery.outbox import OutboxMessage
    world = World()
    world.sender.script[5] = [SendResult.unknown("timeout")]
    async with world.uow() as uow:
        await uow.outbox.enqueue(OutboxMessage(recipient=UserRef(channel="telegram", chat_id=5),
                                               reply=Reply(key="test.reminder"), due_at=MORNING,
                                               idempotency_key="reminder:5"))
        await uow.commit()
    report = await world.dispatch()
    assert report.retried == 1 and report.unknown == 0
    world.clock.advance(minutes=5)
    await world.dispatch()
    assert world.sender.chats() == [5, 5]


async def test_minors_wait_for_the_morning_and_the_adults_behind_them_do_not() -> None:
    evening = datetime(2027, 3, 1, 20, 30, tzinfo=UTC)  # 21:30 in Berlin: quiet for minors, not adults
    world = World(start=evening, batch=2)
    minors = [world.person(age_band="16_17") for _ in range(3)]
    adult = world.person(role="parent", age_band=None)
    b = world.broadcast()
    for _ in range(4):
        await world.round()
    # The minors wait in the outbox for the morning; their held-back messages take no room, so the
    # parent behind them in the list gets it this evening.
    assert sorted(world.sender.chats()) == [1000 + adult]
    assert all(world.recipient(b, m) is not RecipientStatus.SENT for m in minors)
    assert world.status(b) is BroadcastStatus.RUNNING
    world.clock.current = datetime(2027, 3, 2, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    for _ in range(4):
        await world.round()
    assert sorted(world.sender.chats()) == sorted(1000 + p for p in [*minors, adult])
    await world.tick()
    assert world.status(b) is BroadcastStatus.DONE


async def test_pause_withdraws_what_waits_and_resume_sends_it_once() -> None:
    world = World(batch=2)
    people = [world.person() for _ in range(4)]
    b = world.broadcast()
    await world.tick()
    assert len(world.outbox(b)) == 2
    world.set_status(b, BroadcastStatus.PAUSED)  # the agents' service
    async with world.uow() as uow:
        assert await sending.pause_pending(uow, world.store.broadcasts[b], world.clock.now()) == 2
        await uow.commit()
    assert world.outbox(b) == [] and all(world.recipient(b, p) is RecipientStatus.PLANNED for p in people)
    await world.round()
    assert world.sender.sent == []
    world.set_status(b, BroadcastStatus.RUNNING)  # resumed
    for _ in range(3):
        await world.round()
    assert sorted(world.sender.chats()) == sorted(1000 + p for p in people)  # the cancelled keys came back, once
    await world.tick()
    assert world.status(b) is BroadcastStatus.DONE


async def test_a_pause_the_feeder_has_not_seen_stops_the_send_too() -> None:
    world = World()
    p = world.person()
    b = world.broadcast()
    await world.tick()
    world.set_status(b, BroadcastStatus.PAUSED)  # queued message still pending in the outbox
    await world.dispatch()
    assert world.sender.sent == [] and world.recipient(b, p) is RecipientStatus.PLANNED
    world.set_status(b, BroadcastStatus.RUNNING)
    await world.round()
    assert world.sender.chats() == [1000 + p]


async def test_cancel_stops_the_rest() -> None:
    world = World(batch=2)
    people = [world.person() for _ in range(5)]
    b = world.broadcast()
    await world.round()
    assert len(world.sender.sent) == 2
    await world.tick()  # two more queued
    world.set_status(b, BroadcastStatus.CANCELLED)
    async with world.uow() as uow:
        assert await sending.cancel_pending(uow, world.store.broadcasts[b], world.clock.now()) == 3
        await uow.commit()
    for _ in range(2):
        await world.round()
    assert len(world.sender.sent) == 2 and world.outbox(b) == []
    statuses = [world.recipient(b, p) for p in people]
    assert statuses.count(RecipientStatus.SENT) == 2 and statuses.count(RecipientStatus.CANCELLED) == 3
    assert world.status(b) is BroadcastStatus.CANCELLED


async def test_a_message_dropped_elsewhere_is_settled_by_the_feeder() -> None:
    world = World()
    p = world.person()
    b = world.broadcast()
    await world.tick()
    async with world.uow() as uow:  # the person blocked the bot: pending messages to them dropped
        await uow.outbox.drop_pending_for("telegram", 1000 + p, "blocked")
        await uow.commit()
    await world.tick()
    assert world.recipient(b, p) is RecipientStatus.QUEUED  # not at once: it may be on its way
    world.clock.advance(minutes=3)
    await world.tick()
    assert world.recipient(b, p) is RecipientStatus.BLOCKED
    await world.tick()
    assert world.status(b) is BroadcastStatus.DONE


def test_keys() -> None:
    assert sending.parse_key(sending.outbox_key(12, 345)) == (12, 345)
    assert sending.parse_key("reminder:1:2") is None and sending.parse_key("broadcast:x:2") is None


async def test_more_minors_at_the_start_than_approved_for_waits_for_a_second_agent() -> None:
    """Scheduled when it reached few minors; by its start more opted in: over BROADCAST_APPROVAL_MINORS
    without an approval it does not go out, it waits for one; once approved it starts."""
    world = World()
    world.policy = BroadcastPolicy(weekly_cap=2, batch=200, approval_minors=1)
    minors = [world.person(age_band="16_17") for _ in range(2)]
    b = world.broadcast()
    await world.tick()
    assert world.status(b) is BroadcastStatus.AWAITING_APPROVAL
    assert world.store.recipients == {} and world.sender.sent == []
    assert world.store.broadcasts[b].history[-1].action == "needs_approval"
    stored = world.store.broadcasts[b]
    stored.status, stored.approved_by = BroadcastStatus.SCHEDULED, "telegram:77"  # the second agent's "Freigeben"
    await world.round()
    await world.round()
    assert sorted(world.sender.chats()) == sorted(1000 + m for m in minors)
