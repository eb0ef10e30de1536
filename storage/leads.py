"""Leads, parents' confirmation links, company contacts and invitations."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.domain.lead import CompanyInvite, Lead, LeadStatus, ParentDecision, ParentRequest
from storage.tables import CompanyRow, UserRow
from storage.tables_leads import CompanyContactRow, CompanyInviteRow, LeadRow, ParentRequestRow


@dataclass(frozen=True)
class LinkedContact:
    """A company's contact as the cockpit lists it (`id` is the link's row, for the remove button)."""

    id: int
    channel: str
    chat_id: int
    linked_at: datetime | None
    last_seen_at: datetime | None  # None: no profile (any more)
    active: bool  # False: left the bot (blocked it or asked to be erased)


def _lead(row: LeadRow) -> Lead:
    return Lead(id=row.id, user_id=row.user_id, company=row.company, target=row.target,
                status=LeadStatus(row.status), shared=dict(row.shared), consent_id=row.consent_id,
                created_at=row.created_at, delivered_at=row.delivered_at, status_at=row.status_at,
                history=list(row.history))


class SqlLeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _insert(self) -> Any:
        return postgresql.insert if self._session.get_bind().dialect.name == "postgresql" else sqlite.insert

    async def add_once(self, lead: Lead) -> tuple[Lead, bool]:
        """The lead for (user, company, target): created now (True) or the one that exists (False)."""
        values = lead.model_dump(exclude={"id"}, mode="python")
        values["status"] = lead.status.value
        statement = self._insert()(LeadRow).values(**values).on_conflict_do_nothing().returning(LeadRow.id)
        created = (await self._session.execute(statement)).first()
        row = (await self._session.execute(select(LeadRow).where(
            LeadRow.user_id == lead.user_id, LeadRow.company == lead.company, LeadRow.target == lead.target))).scalars().one()
        return _lead(row), created is not None

    async def get(self, lead_id: int) -> Lead | None:
        row = await self._session.get(LeadRow, lead_id)
        return _lead(row) if row else None

    async def for_user(self, user_id: int) -> list[Lead]:
        rows = await self._session.execute(select(LeadRow).where(LeadRow.user_id == user_id).order_by(LeadRow.id))
        return [_lead(r) for r in rows.scalars().all()]

    async def for_companies(self, slugs: list[str]) -> list[Lead]:
        rows = await self._session.execute(select(LeadRow).where(LeadRow.company.in_(slugs)).order_by(LeadRow.id))
        return [_lead(r) for r in rows.scalars().all()]

    async def delivered_before(self, before: datetime) -> list[Lead]:
        rows = await self._session.execute(select(LeadRow).where(
            LeadRow.status == LeadStatus.DELIVERED.value, LeadRow.delivered_at <= before).order_by(LeadRow.id))
        return [_lead(r) for r in rows.scalars().all()]

    async def set_status(self, lead_id: int, status: LeadStatus, at: datetime, consent_id: int | None = None) -> None:
        row = await self._session.get(LeadRow, lead_id)
        assert row is not None
        values: dict[str, Any] = {"status": status.value, "status_at": at,
                                  "history": [*row.history, {"status": status.value, "at": at.isoformat()}]}
        if consent_id is not None:
            values["consent_id"] = consent_id
        await self._session.execute(update(LeadRow).where(LeadRow.id == lead_id).values(**values))
        await self._session.refresh(row)

    async def mark_arrived(self, lead_id: int, at: datetime) -> None:
        await self._session.execute(update(LeadRow).where(LeadRow.id == lead_id, LeadRow.delivered_at.is_(None))
                                    .values(delivered_at=at))

    async def report_token(self, lead_id: int, new_token: str) -> str:
        """The lead's status-link token: `new_token` unless it has one already (e-mail and reminder
        must carry the same links)."""
        await self._session.execute(update(LeadRow).where(LeadRow.id == lead_id, LeadRow.report_token.is_(None))
                                    .values(report_token=new_token))
        token = (await self._session.execute(select(LeadRow.report_token).where(LeadRow.id == lead_id))).scalar_one()
        assert isinstance(token, str)
        return token

    async def by_report_token(self, token: str) -> Lead | None:
        row = (await self._session.execute(select(LeadRow).where(LeadRow.report_token == token))).scalars().first()
        return _lead(row) if row else None

    # ---- parents -------------------------------------------------------------------------
    async def add_parent_request(self, request: ParentRequest) -> None:
        self._session.add(ParentRequestRow(**request.model_dump()))
        await self._session.flush()

    async def parent_request(self, token: str) -> ParentRequest | None:
        row = await self._session.get(ParentRequestRow, token)
        return ParentRequest.model_validate(row, from_attributes=True) if row else None

    async def parent_requests_for(self, user_id: int) -> list[ParentRequest]:
        rows = await self._session.execute(select(ParentRequestRow).where(ParentRequestRow.user_id == user_id)
                                           .order_by(ParentRequestRow.created_at))
        return [ParentRequest.model_validate(row, from_attributes=True) for row in rows.scalars().all()]

    async def decide(self, token: str, decision: ParentDecision, at: datetime) -> bool:
        """Single use: only the first decision counts, recorded with who made it in one statement."""
        result = await self._session.execute(update(ParentRequestRow).where(
            ParentRequestRow.token == token, ParentRequestRow.decided_at.is_(None))
            .values(decision=decision.decision, decided_at=at, relation=decision.relation,
                    decided_by_channel=decision.channel, decided_by_chat_id=decision.chat_id))
        return bool(result.rowcount)

    async def record_consent(self, token: str, consent_id: int) -> None:
        await self._session.execute(update(ParentRequestRow).where(ParentRequestRow.token == token)
                                    .values(consent_id=consent_id))

    # ---- companies -----------------------------------------------------------------------
    async def add_contact(self, company: str, channel: str, chat_id: int, at: datetime) -> bool:
        statement = self._insert()(CompanyContactRow).values(company=company, channel=channel, chat_id=chat_id,
                                                            created_at=at).on_conflict_do_nothing()
        return bool((await self._session.execute(statement)).rowcount)

    async def contacts(self, company: str) -> list[tuple[str, int]]:
        rows = await self._session.execute(select(CompanyContactRow.channel, CompanyContactRow.chat_id)
                                           .where(CompanyContactRow.company == company).order_by(CompanyContactRow.id))
        return [(c, int(i)) for c, i in rows.tuples().all()]

    async def remove_contact(self, company: str, channel: str, chat_id: int) -> bool:
        result = await self._session.execute(delete(CompanyContactRow).where(
            CompanyContactRow.company == company, CompanyContactRow.channel == channel,
            CompanyContactRow.chat_id == chat_id))
        return bool(result.rowcount)

    async def companies_of(self, channel: str, chat_id: int) -> list[str]:
        rows = await self._session.execute(select(CompanyContactRow.company).where(
            CompanyContactRow.channel == channel, CompanyContactRow.chat_id == chat_id))
        return list(rows.scalars().all())

    async def add_invite(self, invite: CompanyInvite) -> None:
        self._session.add(CompanyInviteRow(**invite.model_dump()))
        await self._session.flush()

    async def use_invite(self, token: str, at: datetime) -> str | None:
        """The company of a valid, unused invitation (now used), else None."""
        row = await self._session.get(CompanyInviteRow, token)
        if row is None or row.used_at is not None or row.expires_at <= at:
            return None
        result = await self._session.execute(update(CompanyInviteRow).where(
            CompanyInviteRow.token == token, CompanyInviteRow.used_at.is_(None)).values(used_at=at))
        return row.company if result.rowcount else None

    async def company_exists(self, slug: str) -> bool:
        found = await self._session.execute(select(CompanyRow.id).where(CompanyRow.slug == slug,
                                                                        col(CompanyRow.archived).is_(False)))
        return found.first() is not None

    # ---- the cockpit's reads and invitation housekeeping (SQL only, not in the UnitOfWork protocol) ----
    async def linked_contacts(self, company: str) -> list[LinkedContact]:
        """The company's contacts, first linked first, with when they were linked and last seen."""
        rows = await self._session.execute(
            select(CompanyContactRow.id, CompanyContactRow.channel, CompanyContactRow.chat_id,
                   CompanyContactRow.created_at, UserRow.last_seen_at, UserRow.active)
            .outerjoin(UserRow, (UserRow.channel == CompanyContactRow.channel)
                       & (UserRow.chat_id == CompanyContactRow.chat_id))
            .where(CompanyContactRow.company == company).order_by(CompanyContactRow.id))
        return [LinkedContact(id=int(i or 0), channel=ch, chat_id=int(chat), linked_at=linked, last_seen_at=seen,
                              active=bool(active) if active is not None else False)
                for i, ch, chat, linked, seen, active in rows.tuples().all()]

    async def contact_counts(self, companies: list[str]) -> dict[str, int]:
        rows = await self._session.execute(
            select(CompanyContactRow.company, func.count()).where(CompanyContactRow.company.in_(companies))
            .group_by(CompanyContactRow.company))
        return {company: int(n) for company, n in rows.tuples().all()}

    async def invite(self, token: str) -> CompanyInvite | None:
        row = await self._session.get(CompanyInviteRow, token)
        return CompanyInvite.model_validate(row, from_attributes=True) if row is not None else None

    async def open_invites(self, company: str, now: datetime) -> list[CompanyInvite]:
        """Invitations nobody has used yet that are still valid, newest first."""
        rows = await self._session.execute(select(CompanyInviteRow).where(
            CompanyInviteRow.company == company, col(CompanyInviteRow.used_at).is_(None),
            CompanyInviteRow.expires_at > now).order_by(col(CompanyInviteRow.created_at).desc()))
        return [CompanyInvite.model_validate(r, from_attributes=True) for r in rows.scalars().all()]

    async def withdraw_invite(self, company: str, token: str, at: datetime) -> bool:
        """An open invitation ends now (its link says "invalid" from then on); False if it was not open."""
        result = await self._session.execute(update(CompanyInviteRow).where(
            CompanyInviteRow.token == token, CompanyInviteRow.company == company,
            col(CompanyInviteRow.used_at).is_(None), CompanyInviteRow.expires_at > at).values(expires_at=at))
        return bool(result.rowcount)
