"""The dispatcher with the in-memory outbox and a scripted channel: what happens to each message."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flows.core.model import Profile, Reply, UserRef
from flows.delivery.dispatcher import DispatchPolicy, DispatchReport, OutboxDispatcher
from flows.delivery.limiter import RateLimiter
from flows.delivery.outbox import OutboxMessage, OutboxStatus, SendResult, is_minor
from flows.delivery.quiet_hours import QuietHours
from tests.unit.fakes import FakeUnitOfWork, SteppableClock, Store
from tests.unit.harness import Harness
from tests.unit.virtual_time import VirtualTime

MORNING = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


@dataclass
class Call:
    at: float  # virtual monotonic time
    chat: int
    n: int
    locale: str
    formal: bool


class ScriptedSender:
    """Answers ok unless told otherwise per chat; every send takes 5 ms of virtual time."""

    channel = "telegram"

    def __init__(self, time: VirtualTime) -> None:
        self.time = time
        self.calls: list[Call] = []
        self.script: dict[int, list[SendResult | Exception]] = {}

    def answer(self, chat: int, *results: SendResult | Exception) -> None:
        self.script.setdefault(chat, []).extend(results)

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        self.calls.append(Call(self.time.now, recipient.chat_id, reply.values["n"], locale, formal))
        await self.time.sleep(0.005)
        script = self.script.get(recipient.chat_id)
        result = script.pop(0) if script else SendResult.ok()
        if isinstance(result, Exception):
            raise result
        return result

    def numbers(self, chat: int) -> list[int]:
        return [c.n for c in self.calls if c.chat == chat]


class World:
    def __init__(self, start: datetime = MORNING, chat_id: int | None = None, **policy: float) -> None:
        self.store = Store()
        self.clock = SteppableClock(start)
        self.time = VirtualTime()
        self.sender = ScriptedSender(self.time)
        limiter = RateLimiter(30, 1, monotonic=self.time.monotonic, sleep=self.time.sleep)
        self.dispatcher = OutboxDispatcher(lambda: FakeUnitOfWork(self.store), self.sender, limiter, self.clock,
                                           QuietHours.parse(), DispatchPolicy(**policy), chat_id=chat_id)  # type: ignore[arg-type]

    async def enqueue(self, chat: int, n: int, *, due: datetime | None = None, key: str | None = None,
                      minor: bool = False, channel: str = "telegram", expires: datetime | None = None) -> bool:
        message = OutboxMessage(recipient=UserRef(channel=channel, chat_id=chat),
                                reply=Reply(key="test.reminder", values={"n": n}), minor=minor,
                                due_at=due or self.clock.now(), expires_at=expires,
                                idempotency_key=key or f"test:{channel}:{chat}:{n}")
        async with FakeUnitOfWork(self.store) as uow:
            created = await uow.outbox.enqueue(message)
            await uow.commit()
        return created

    async def tick(self) -> DispatchReport:
        return await self.time.run(self.dispatcher.tick())

    def row(self, chat: int, n: int, channel: str = "telegram") -> OutboxMessage:
        return next(m for m in self.store.outbox.values()
                    if m.idempotency_key == f"test:{channel}:{chat}:{n}")


async def test_due_messages_go_out_once_and_later_ones_wait() -> None:
    world = World()
    await world.enqueue(1, 1)
    await world.enqueue(2, 2, due=MORNING + timedelta(hours=1))
    report = await world.tick()
    assert report.sent == 1 and world.sender.numbers(1) == [1] and world.sender.numbers(2) == []
    assert world.row(1, 1).status is OutboxStatus.SENT and world.row(2, 2).status is OutboxStatus.PENDING
    await world.tick()
    assert len(world.sender.calls) == 1  # sent is sent
    world.clock.advance(hours=1)
    await world.tick()
    assert world.sender.numbers(2) == [2]


async def test_the_same_idempotency_key_gives_one_message() -> None:
    world = World()
    assert await world.enqueue(1, 1, key="reminder:7d:user42:impuls-cottbus") is True
    assert await world.enqueue(1, 2, key="reminder:7d:user42:impuls-cottbus") is False  # planned again
    await world.tick()
    await world.tick()
    assert world.sender.numbers(1) == [1]
    assert len(world.store.outbox) == 1


async def test_one_chat_in_order_other_chats_in_parallel() -> None:
    world = World()
    for n in (1, 2, 3):
        await world.enqueue(1, n, due=MORNING - timedelta(minutes=10 - n))
    for chat in range(2, 6):
        await world.enqueue(chat, 10 + chat)
    report = await world.tick()
    assert report.sent == 7
    first = [c for c in world.sender.calls if c.chat == 1]
    assert [c.n for c in first] == [1, 2, 3]
    assert all(b.at - a.at >= 1.0 for a, b in zip(first, first[1:]))  # 1 per second per chat
    others = [c.at for c in world.sender.calls if c.chat != 1]
    assert max(others) == min(c.at for c in world.sender.calls)  # did not wait behind chat 1


async def test_retry_after_waits_and_is_not_a_failure() -> None:
    world = World()
    world.sender.answer(5, SendResult.wait(3))
    await world.enqueue(5, 1)
    await world.enqueue(6, 2)
    report = await world.tick()
    tries = [c for c in world.sender.calls if c.chat == 5]
    assert len(tries) == 2 and tries[1].at - tries[0].at >= 3.0  # nothing before retry_after ended
    assert world.sender.numbers(6) == [2] and world.sender.calls[1].at < tries[1].at  # others went on
    assert report.sent == 2 and report.flood_waits == 1 and report.failed == report.retried == 0
    assert world.row(5, 1).status is OutboxStatus.SENT and world.row(5, 1).attempts == 1


async def test_blocked_user_is_marked_inactive_and_their_messages_dropped() -> None:
    world = World()
    async with FakeUnitOfWork(world.store) as uow:
        await uow.users.save(Profile(channel="telegram", chat_id=9, created_at=MORNING))
        await uow.commit()
    world.sender.answer(9, SendResult.blocked())
    for n in (1, 2, 3):
        await world.enqueue(9, n)
    await world.enqueue(9, 4, due=MORNING + timedelta(days=1))
    await world.enqueue(10, 5)
    report = await world.tick()
    assert world.sender.numbers(9) == [1]  # not retried, the others not tried
    assert {world.row(9, n).status for n in (1, 2, 3, 4)} == {OutboxStatus.DROPPED}
    assert world.store.users[1].active is False
    assert world.sender.numbers(10) == [5] and report.dropped == 3  # the future one was pending, not claimed
    world.clock.advance(days=2)
    await world.tick()
    assert world.sender.numbers(9) == [1]


async def test_transient_errors_back_off_then_fail() -> None:
    world = World()
    world.sender.answer(3, *[SendResult.transient("502 Bad Gateway")] * 10)
    await world.enqueue(3, 1)
    waits = []
    for _ in range(8):
        await world.tick()
        row = world.row(3, 1)
        if row.status is OutboxStatus.PENDING:
            waits.append(row.due_at - world.clock.now())
            world.clock.current = row.due_at
    assert len(world.sender.calls) == 5  # the attempt limit
    assert waits == [timedelta(seconds=s) for s in (15, 30, 60, 120)]  # exponential backoff
    row = world.row(3, 1)
    assert row.status is OutboxStatus.FAILED and row.last_error == "502 Bad Gateway"


async def test_a_sender_that_raises_is_a_transient_error() -> None:
    world = World()
    world.sender.answer(3, ConnectionResetError("peer"))
    await world.enqueue(3, 1)
    report = await world.tick()
    assert report.retried == 1 and world.row(3, 1).status is OutboxStatus.PENDING


async def test_permanent_error_fails_at_once() -> None:
    world = World()
    world.sender.answer(4, SendResult.permanent("Bad Request: chat not found"))
    await world.enqueue(4, 1)
    report = await world.tick()
    world.clock.advance(hours=1)
    await world.tick()
    assert report.failed == 1 and len(world.sender.calls) == 1
    assert world.row(4, 1).status is OutboxStatus.FAILED


async def test_quiet_hours_defer_never_drop() -> None:
    evening = datetime(2027, 3, 1, 20, 30, tzinfo=UTC)  # 21:30 in Berlin
    world = World(start=evening)
    await world.enqueue(1, 1, minor=True)
    await world.enqueue(2, 2, minor=False)
    report = await world.tick()
    assert world.sender.numbers(2) == [2] and world.sender.numbers(1) == []
    row = world.row(1, 1)
    assert report.deferred == 1 and row.status is OutboxStatus.PENDING and row.attempts == 0
    assert row.due_at == datetime(2027, 3, 2, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    world.clock.current = datetime(2027, 3, 2, 6, 0, tzinfo=UTC)
    await world.tick()
    assert world.sender.numbers(1) == [1]


async def test_expired_messages_are_dropped_not_sent() -> None:
    world = World()
    await world.enqueue(1, 1, due=MORNING - timedelta(hours=3), expires=MORNING - timedelta(hours=1))
    report = await world.tick()
    assert world.sender.calls == [] and report.dropped == 1
    assert world.row(1, 1).status is OutboxStatus.DROPPED


async def test_a_crashed_claim_comes_back_after_its_lease() -> None:
    world = World(lease_seconds=60)
    await world.enqueue(1, 1)
    async with FakeUnitOfWork(world.store) as uow:  # another dispatcher claims it and dies
        assert len(await uow.outbox.claim_due(MORNING, 10, 60, "telegram")) == 1
        await uow.commit()
    await world.tick()
    assert world.sender.calls == []  # its lease still runs
    world.clock.advance(seconds=61)
    await world.tick()
    assert world.sender.numbers(1) == [1]
    assert world.row(1, 1).status is OutboxStatus.SENT and world.row(1, 1).attempts == 2


async def test_a_queue_longer_than_the_lease_is_given_back_not_sent_twice() -> None:
    world = World(lease_seconds=6)  # 4 s of sending per claim at 1 message/s to one chat
    for n in range(1, 11):
        await world.enqueue(1, n, due=MORNING - timedelta(seconds=20 - n))
    reports = [await world.tick() for _ in range(4)]
    assert world.sender.numbers(1) == list(range(1, 11))  # all, in order, once
    assert reports[0].sent < 10 and reports[0].released == 10 - reports[0].sent
    assert all(world.row(1, n).attempts == 1 for n in range(1, 11))  # giving back is not an attempt


async def test_a_dispatcher_takes_only_its_channel_and_chat() -> None:
    world = World(chat_id=1)
    await world.enqueue(1, 1)
    await world.enqueue(2, 2)
    await world.enqueue(1, 3, channel="console")
    await world.tick()
    assert world.sender.numbers(1) == [1]
    assert world.row(2, 2).status is OutboxStatus.PENDING
    assert world.row(1, 3, channel="console").status is OutboxStatus.PENDING


async def test_messages_speak_the_users_language_and_form() -> None:
    world = World()
    parent = Profile(channel="telegram", chat_id=8, role="parent", locale="en")
    message = OutboxMessage.to(parent, Reply(key="test.reminder", values={"n": 1}), MORNING, "k:8")
    async with FakeUnitOfWork(world.store) as uow:
        await uow.outbox.enqueue(message)
        await uow.commit()
    await world.tick()
    assert (world.sender.calls[0].locale, world.sender.calls[0].formal) == ("en", True)
    assert not message.minor
    assert is_minor(Profile(channel="telegram", chat_id=1, role="teen", age_band="16_17"))
    assert is_minor(Profile(channel="telegram", chat_id=1))  # unknown: treated as a minor
    assert not is_minor(Profile(channel="telegram", chat_id=1, role="teen", age_band="18plus"))


async def test_a_rolled_back_flow_enqueues_nothing() -> None:
    world = World()
    async with FakeUnitOfWork(world.store) as uow:
        await uow.outbox.enqueue(OutboxMessage(recipient=UserRef(channel="telegram", chat_id=1),
                                               reply=Reply(key="test.reminder", values={"n": 1}),
                                               due_at=MORNING, idempotency_key="k"))
        # no commit: the flow failed
    await world.tick()
    assert world.store.outbox == {} and world.sender.calls == []


async def test_a_user_who_blocked_the_bot_and_writes_again_is_active_again() -> None:
    user = Harness(chat_id=9)
    await user.command("start")
    async with FakeUnitOfWork(user.store) as uow:  # a 403 from an earlier reminder
        await uow.users.mark_inactive("telegram", 9)
        await uow.commit()
    assert user.profile.active is False
    await user.command("menu")  # unblocked the bot and wrote again
    assert user.profile.active is True
