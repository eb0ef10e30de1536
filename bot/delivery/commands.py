"""`lotse company secret <slug>`: the company's webhook secret, to hand to its developers."""
from __future__ import annotations

import argparse
import asyncio
import sys

from bot.delivery.signing import company_secret
from bot.settings import Settings

EXIT_UNKNOWN = 1
EXIT_USAGE = 2


def print_company_secret(settings: Settings, args: argparse.Namespace) -> int:
    if settings.webhook_signing_key is None:
        print("configuration error: WEBHOOK_SIGNING_KEY is required for lotse company secret "
              "(e.g. the output of: openssl rand -hex 32)", file=sys.stderr)
        return EXIT_USAGE
    slug: str = args.slug
    problem = asyncio.run(_check_company(settings, slug))  # a typo must not yield a useless secret
    if problem is not None:
        code, message = problem
        print(message, file=sys.stderr)
        return code
    print(company_secret(settings.webhook_signing_key.get_secret_value(), slug))
    return 0


async def _check_company(settings: Settings, slug: str) -> tuple[int, str] | None:
    from bot.app import NotMigrated, ensure_migrated
    from flows.core.clock import SystemClock
    from storage.company_delivery import SqlCompanyDirectory
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    try:
        await ensure_migrated(settings.database_url)
    except NotMigrated as error:
        return EXIT_USAGE, str(error)
    db = create_engine(settings.database_url)
    try:
        directory = SqlCompanyDirectory(SqlUnitOfWorkFactory(session_factory(db), SystemClock()))
        if await directory.id_of(slug) is None:
            return EXIT_UNKNOWN, f"unknown company {slug!r} (is the content pack loaded? lotse content load)"
    finally:
        await db.dispose()
    return None
