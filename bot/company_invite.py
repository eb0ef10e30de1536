"""`lotse company invite <slug>`: a single-use deep link that makes its opener a company contact."""
from __future__ import annotations

import argparse
import asyncio
import sys

from bot.settings import Settings


def print_company_invite(settings: Settings, args: argparse.Namespace) -> int:
    payload = asyncio.run(_invite(settings, args.slug))
    if payload is None:
        print(f'unknown company "{args.slug}" (see content/demo/companies.yaml for slugs), '
              "or the database is not migrated (lotse db upgrade)", file=sys.stderr)
        return 1
    print(f"https://t.me/{args.bot.lstrip('@')}?start={payload}")
    return 0


async def _invite(settings: Settings, slug: str) -> str | None:
    from bot.app import NotMigrated, ensure_migrated
    from flows.conversations.leads import create_invite
    from flows.core.clock import SystemClock
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    try:
        await ensure_migrated(settings.database_url)
    except NotMigrated:
        return None
    db = create_engine(settings.database_url)
    try:
        clock = SystemClock()
        async with SqlUnitOfWorkFactory(session_factory(db), clock)() as uow:
            payload = await create_invite(uow, slug, clock.now())
            await uow.commit()
        return payload
    finally:
        await db.dispose()
