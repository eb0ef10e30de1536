"""Keep only what a purpose needs: purge old processed updates, finished outbox messages, free questions
no longer needed (flows/domain/question.py: KEEP_UNSENT, KEEP_TEAM), long-inactive profiles, and imported
offers long archived that nobody refers to."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flows.core.ports import Clock, UnitOfWorkFactory
from flows.domain.question import KEEP_TEAM, KEEP_UNSENT

PROCESSED_UPDATES_KEPT = timedelta(days=2)  # Telegram redelivers for 24 hours at most
INACTIVE_PROFILE_KEPT = timedelta(days=365)  # promised in privacy.info
OUTBOX_KEPT = timedelta(days=30)
IMPORTED_ARCHIVE_KEPT = timedelta(days=90)  # an imported offer no longer listed, that nobody saved or asked about  # sent/failed/dropped messages: long enough to answer "did it go out?"
BATCH = 500


@dataclass
class PurgeReport:
    updates: int = 0
    users: int = 0
    outbox: int = 0
    questions: int = 0
    offers: int = 0


async def purge(uow_factory: UnitOfWorkFactory, clock: Clock) -> PurgeReport:
    report = PurgeReport()
    now = clock.now()
    async with uow_factory() as uow:
        report.updates = await uow.updates.purge_before(now - PROCESSED_UPDATES_KEPT)
        report.outbox = await uow.outbox.purge_finished_before(now - OUTBOX_KEPT)
        report.questions = await uow.questions.purge(now - KEEP_UNSENT, now - KEEP_TEAM)
        report.offers = await uow.vacancies.purge_imported(now - IMPORTED_ARCHIVE_KEPT)
        for user_id in await uow.users.ids_last_seen_before(now - INACTIVE_PROFILE_KEPT, BATCH):
            await uow.users.delete(user_id)
            report.users += 1
        await uow.commit()
    return report
