"""What the parts of the leads flow share: its name, link prefixes, tokens and small look-ups."""
from __future__ import annotations

import secrets
from typing import Any

from flows.core.context import StepContext
from flows.core.model import Profile
from flows.core.ports import UnitOfWork
from flows.domain.content import CompanyInfo

NAME = "leads"
PARENT_PREFIX, INVITE_PREFIX = "pc-", "ci-"  # deep links: a parent's confirmation, a contact's invitation


def new_token() -> str:
    return secrets.token_hex(16)  # hex: fits Telegram's start parameter alphabet, no "_" to confuse parsing


def link_payload(prefix: str, token: str) -> str:
    return prefix + token


async def company_names(ctx: StepContext, slugs: list[str]) -> dict[str, str]:
    return {c.slug: c.name for c in await ctx.uow.content.companies() if c.slug in slugs}


async def profile_of(uow: UnitOfWork, user_id: int) -> Profile | None:
    return await uow.users.by_id(user_id)


def recipient_items(companies: list[tuple[CompanyInfo, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Who gets a lead and what it is about (`interest_fields`), for the consent screens of the young
    person and the parent: the company's name and town with kind, title and profession of its lead."""
    return [{"company": company.name, "place": company.place, **interest} for company, interest in companies]
