"""`lotse offers import ba [--region CLUSTER] [--dry-run]`: offers from the Arbeitsagentur's job search now,
with a progress bar on the terminal (imports/ba.py does the work; the daily job is bot/offer_import_job.py)."""
from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from imports.ba import ImportReport

EXIT_FAILED = 1
EXIT_USAGE = 2


def offers_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import NotMigrated
    from bot.offer_import_job import ImportRunning
    from imports.ba import UnknownRegion

    try:
        report = asyncio.run(_import(settings, args.region, args.dry_run))
    except NotMigrated as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    except UnknownRegion as error:
        print(f"--region {error}: no such cluster in the content (see clusters.yaml)", file=sys.stderr)
        return EXIT_USAGE
    except ImportRunning as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILED
    _print(report)
    return EXIT_FAILED if report.stopped else 0


async def _import(settings: Settings, region: str | None, dry_run: bool) -> ImportReport:
    from tqdm import tqdm

    from bot.app import ensure_migrated
    from bot.ba_client import BaJobBoard
    from bot.offer_import_job import exclusively
    from content import default_directory
    from flows.core.clock import SystemClock
    from imports.ba import Progress, import_ba
    from storage.db import create_engine, session_factory
    from storage.offer_imports import OfferImportStore
    from storage.uow import SqlUnitOfWorkFactory

    await ensure_migrated(settings.database_url)
    db = create_engine(settings.database_url)
    bar = tqdm(total=0, unit=" Suchen", file=sys.stderr, dynamic_ncols=True, disable=not sys.stderr.isatty())
    told = -1  # not a terminal (cron, a pipe): a line every tenth of the searches instead of a bar

    def show(progress: Progress) -> None:
        nonlocal told
        if bar.disable:
            tenth = progress.search * 10 // max(1, progress.searches)
            if tenth != told:
                told = tenth
                print(f"Suche {progress.search}/{progress.searches} · {progress.label} · Seite {progress.page} · "
                      f"{progress.offers} Angebote", file=sys.stderr, flush=True)
            return
        if bar.total != progress.searches:
            bar.reset(total=progress.searches)
        bar.n = progress.search - 1
        bar.set_description_str(f"{progress.label} · Seite {progress.page}"[:70])
        bar.set_postfix_str(f"{progress.offers} Angebote")

    try:
        clock = SystemClock()
        sessions = session_factory(db)
        store = OfferImportStore(SqlUnitOfWorkFactory(sessions, clock))
        async with BaJobBoard(str(settings.ba_api_url), pace_seconds=settings.ba_import_pace_seconds) as board:
            async with exclusively(sessions, clock, dry_run):
                report = await import_ba(store, board, clock, default_directory(), scope=region, dry_run=dry_run,
                                         progress=show)
        bar.n = bar.total or 0
        bar.refresh()
    finally:
        bar.close()
        await db.dispose()
    return report


def _print(report: ImportReport) -> None:
    what = "dry run, nothing written" if report.dry_run else "written"
    print(f"{report.searches} searches ({report.complete} read to their end{', resumed' if report.resumed else ''}), "
          f"{report.pages} pages, {report.listings} listings ({what})")
    if report.dry_run:
        print(f"offers: {report.created} would be imported")
    else:
        print(f"offers: {report.created} new, {report.updated} changed, {report.unchanged} unchanged, "
              f"{report.archived} archived (no longer listed); {report.alerted} saved searches told")
    for why, count in sorted(report.problems.items()):
        print(f"  left out: {count} × {why}")
    if report.stopped:
        print(f"stopped: {report.stopped} – nothing archived; check BA_API_URL", file=sys.stderr)
