"""The cockpit's funnel read: every user of one cluster with the steps they reached (flows/domain/funnel.py
says which data makes which step). Three queries whatever the number of users: the users, their
finished quiz attempts, their leads (with whether the lead's consent record is a hand-over consent).

Company contacts (role "company") are not young people and are left out."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from flows.domain.funnel import LeadFacts, UserJourney
from flows.domain.lead import CONSENT_PURPOSE
from storage.tables import ConsentRow, UserRow
from storage.tables_leads import LeadRow
from storage.tables_quiz import QuizAttemptRow

NOT_COUNTED_ROLES = ("company",)


def _cohort(statement: Select[Any], cluster: str, since: datetime | None) -> Select[Any]:
    """`statement` limited to the users of `cluster` created since `since` (statement joins users)."""
    conditions = [UserRow.cluster == cluster, or_(UserRow.role.is_(None), UserRow.role.not_in(NOT_COUNTED_ROLES))]
    if since is not None:
        conditions.append(UserRow.created_at >= since)
    return statement.where(*conditions)


async def journeys(session: AsyncSession, cluster: str, since: datetime | None = None) -> list[UserJourney]:
    """The users of `cluster` (users.cluster) created at or after `since`, with their reached steps,
    oldest first."""
    connection = await session.connection()  # Core rows, no ORM bookkeeping: 50,000 users stay quick
    users = (await connection.execute(_cohort(
        select(UserRow.id, UserRow.created_at, UserRow.source, UserRow.onboarded, UserRow.offers_viewed_at.is_not(None)),
        cluster, since).order_by(UserRow.created_at, UserRow.id))).tuples().all()
    if not users:
        return []
    quiz_done = set((await connection.execute(_cohort(
        select(QuizAttemptRow.user_id).distinct().join(UserRow, UserRow.id == QuizAttemptRow.user_id)
        .where(QuizAttemptRow.finished_at.is_not(None)), cluster, since))).scalars().all())
    consent = ConsentRow.__table__.alias("lead_consent")
    leads: dict[int, list[LeadFacts]] = defaultdict(list)
    rows = (await connection.execute(_cohort(
        select(LeadRow.user_id, LeadRow.status, LeadRow.history, LeadRow.delivered_at.is_not(None),
               consent.c.id.is_not(None))
        .join(UserRow, UserRow.id == LeadRow.user_id)
        .outerjoin(consent, and_(consent.c.id == LeadRow.consent_id, consent.c.purpose == CONSENT_PURPOSE,
                                 consent.c.user_id == LeadRow.user_id)), cluster, since))).tuples().all()
    for user_id, status, history, arrived, consented in rows:
        leads[user_id].append(LeadFacts.of(status, history or (), consented=bool(consented), arrived=bool(arrived)))
    return [UserJourney.of(user_id, created_at, source, onboarded=bool(onboarded), quiz_done=user_id in quiz_done,
                           offers_viewed=bool(viewed), leads=leads.get(user_id, ()))
            for user_id, created_at, source, onboarded, viewed in users]
