"""Lead notifications to companies by e-mail and webhook: the outbox channels, their recipients and
the port through which a sender finds a company's addresses.

A company notification is an OutboxMessage to UserRef(channel=EMAIL or WEBHOOK, chat_id=<the
company's row id>). Its Reply key names the message ("leads.company_new") and its values are a
flat JSON-able dict that carries `lead_id`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from flows.core.model import Reply, UserRef
from flows.core.ports import UnitOfWork
from flows.delivery.outbox import OutboxMessage
from flows.domain.content import CompanyInfo

EMAIL = "email"
WEBHOOK = "webhook"


@dataclass(frozen=True)
class CompanyDelivery:
    """Where a company takes its leads (business contact points from the content pack)."""

    slug: str
    name: str
    email: str | None = None
    webhook_url: str | None = None

    @property
    def channels(self) -> list[str]:
        """The e-mail/webhook channels this company can be reached on."""
        return [c for c, address in ((EMAIL, self.email), (WEBHOOK, self.webhook_url)) if address]


def company_message(channel: str, company_id: int, reply: Reply, due_at: datetime, idempotency_key: str,
                    locale: str = "de") -> OutboxMessage:
    """A notification to a company: formal, and not held back by minors' quiet hours."""
    return OutboxMessage(recipient=UserRef(channel=channel, chat_id=company_id), reply=reply, locale=locale,
                         formal=True, minor=False, due_at=due_at, idempotency_key=idempotency_key)


async def notify_company(uow: UnitOfWork, company: CompanyInfo, message: Reply, now: datetime, key: str) -> None:
    """One message per way the company takes its leads: every linked contact, its e-mail, its webhook.
    `key` is the idempotency key with a `{target}` placeholder for the recipient."""
    targets = [UserRef(channel=channel, chat_id=chat) for channel, chat in await uow.leads.contacts(company.slug)]
    targets += [UserRef(channel=channel, chat_id=company.id)
                for channel, address in ((EMAIL, company.email), (WEBHOOK, company.webhook_url)) if address]
    for target in targets:
        await uow.outbox.enqueue(company_message(target.channel, target.chat_id, message, now,
                                                key.format(target=f"{target.channel}:{target.chat_id}")))


def delivery_id(reply: Reply) -> str:
    """The same id for every send of one notification, so the receiver can recognise a repeat:
    "lead-42-leads.company_new"; without a lead id, a digest of key and values."""
    lead_id = reply.values.get("lead_id")
    if isinstance(lead_id, int) and not isinstance(lead_id, bool):
        return f"lead-{lead_id}-{reply.key}"
    canonical = json.dumps([reply.key, reply.values], sort_keys=True, default=str, separators=(",", ":"))
    return f"msg-{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:32]}"


__all__ = ["EMAIL", "WEBHOOK", "CompanyDelivery", "company_message", "delivery_id", "notify_company"]
