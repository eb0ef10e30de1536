"""Status links for companies without a linked Telegram contact: their lead e-mail (and webhook)
carries one t.me deep link per report ("Kontakt aufgenommen", "Gespräch vereinbart", "Kein
passender Platz"). Opening one in Telegram records that status, as the buttons of a contact do.

Payload: `ls-<token>-<code>`; the token is random, stored with the lead and the same in the first
e-mail and every reminder; it says nothing about the young person."""
from __future__ import annotations

import secrets

from flows.core.ports import UnitOfWork
from flows.domain.lead import LeadStatus

REPORT_PREFIX = "ls-"
CODES = {"c": LeadStatus.CONTACTED, "i": LeadStatus.INTERVIEW, "n": LeadStatus.NO_PLACE}


async def report_links(uow: UnitOfWork, lead_id: int) -> dict[str, str]:
    """status -> deep-link payload, for the company's message values."""
    token = await uow.leads.report_token(lead_id, secrets.token_hex(16))
    return {status.value: f"{REPORT_PREFIX}{token}-{code}" for code, status in CODES.items()}


def parse(payload: str) -> tuple[str, LeadStatus] | None:
    """(token, status) of a report payload without its prefix; None if malformed."""
    token, _, code = payload.rpartition("-")
    status = CODES.get(code)
    return (token, status) if status is not None and token.isalnum() and len(token) <= 40 else None
