"""A commit that stores a message due now wakes its channel's dispatcher: no waiting for the tick."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.scheduler import wake_on_commit
from flows.core.model import Reply, UserRef
from flows.delivery.dispatcher import OutboxDispatcher
from flows.delivery.limiter import RateLimiter
from flows.delivery.outbox import OutboxMessage, OutboxStatus, SendResult
from flows.delivery.quiet_hours import QuietHours
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock


def lead_message(clock: SteppableClock, n: int, *, channel: str = "telegram", later: bool = False) -> OutboxMessage:
    due = clock.now() + (timedelta(days=2) if later else timedelta())
    return OutboxMessage(recipient=UserRef(channel=channel, chat_id=500 + n), due_at=due,
                         reply=Reply(key="test.reminder", values={"n": n}), idempotency_key=f"wake:{channel}:{n}")


async def store(uow_factory: SqlUnitOfWorkFactory, *messages: OutboxMessage, commit: bool = True) -> None:
    async with uow_factory() as uow:
        for message in messages:
            await uow.outbox.enqueue(message)
        if commit:
            await uow.commit()


async def test_listeners_hear_of_channels_with_messages_due_now_after_the_commit(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    heard: list[frozenset[str]] = []
    uow_factory.on_outbox_commit(heard.append)
    await store(uow_factory, lead_message(clock, 1), lead_message(clock, 2, channel="email"))
    assert heard == [frozenset({"telegram", "email"})]

    await store(uow_factory, lead_message(clock, 3, later=True))  # a reminder in two days: the tick finds it
    await store(uow_factory, lead_message(clock, 4), commit=False)  # the flow failed: nothing to send
    await store(uow_factory, lead_message(clock, 1))  # a pressed-again button: the message exists already
    assert heard == [frozenset({"telegram", "email"})]


class GatedSender:
    """Holds the first send until the test opens the gate; records what it sent."""

    channel = "telegram"

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.sent: list[int] = []

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        self.started.set()
        await self.gate.wait()
        self.sent.append(reply.values["n"])
        return SendResult.ok()


async def test_a_lead_stored_during_a_running_tick_goes_out_right_after_it(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    sender = GatedSender()
    dispatcher = OutboxDispatcher(uow_factory, sender, RateLimiter(1000, 1000), clock, QuietHours.parse())
    uow_factory.on_outbox_commit(wake_on_commit([dispatcher]))
    try:
        await store(uow_factory, lead_message(clock, 1))  # wakes the dispatcher: the send starts
        await asyncio.wait_for(sender.started.wait(), 5)
        await store(uow_factory, lead_message(clock, 2))  # after the running tick's last claim
        await store(uow_factory, lead_message(clock, 3, channel="email"))  # another channel's dispatcher
        sender.gate.set()
        for _ in range(100):  # bounded: 5 s; no scheduler tick runs in this test
            if len(sender.sent) == 2:
                break
            await asyncio.sleep(0.05)
        assert sender.sent == [1, 2]
        async with uow_factory() as uow:
            email = await uow.outbox.get("wake:email:3")
        assert email is not None and email.status is OutboxStatus.PENDING
    finally:
        await dispatcher.close()


async def test_a_tick_woken_inside_a_unit_of_work_waits_for_the_writer_instead_of_failing(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    sender = GatedSender()
    sender.gate.set()
    dispatcher = OutboxDispatcher(uow_factory, sender, RateLimiter(1000, 1000), clock, QuietHours.parse())
    await store(uow_factory, lead_message(clock, 1))
    try:
        async with uow_factory():  # as a commit's wake-up does: the tick starts while the writer is busy
            dispatcher.kick()
            await asyncio.sleep(0.05)
        for _ in range(100):  # bounded: 5 s
            if sender.sent:
                break
            await asyncio.sleep(0.05)
        assert sender.sent == [1]  # not "nested unit of work", and not left for the next tick
    finally:
        await dispatcher.close()
