"""A lead counts as delivered when its company really got it: the first of its new-lead messages
(Telegram to a contact, e-mail, webhook) that went out. Until then the young person and the agents
see it as on its way, never as arrived."""
from __future__ import annotations

from datetime import datetime

from flows.core.ports import UnitOfWork
from flows.delivery.outbox import OutboxMessage, SendKind, SendResult

NEW_LEAD_MESSAGE = "leads.company_new"  # the Reply key of a company's new-lead message


async def record_arrival(uow: UnitOfWork, message: OutboxMessage, at: datetime) -> None:
    """Called in the transaction that marks `message` sent."""
    if message.reply.key != NEW_LEAD_MESSAGE:
        return
    lead_id = message.reply.values.get("lead_id")
    if isinstance(lead_id, int):
        await uow.leads.mark_arrived(lead_id, at)


class LeadArrival:
    """The dispatcher's hook (flows/delivery/dispatcher.py SendHook) for a company's new-lead message."""

    def applies(self, message: OutboxMessage) -> bool:
        return message.reply.key == NEW_LEAD_MESSAGE

    def at_most_once(self, message: OutboxMessage) -> bool:
        return False  # a lead must reach its company: a timeout is tried again

    async def before_send(self, uow: UnitOfWork, message: OutboxMessage, now: datetime) -> str | None:
        return None

    async def after_send(self, uow: UnitOfWork, message: OutboxMessage, result: SendResult, at: datetime) -> None:
        if result.kind is SendKind.OK:
            await record_arrival(uow, message, at)
