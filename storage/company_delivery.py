"""flows.delivery.company_delivery.CompanyDirectory on the `companies` table (the pack entry lies in `data`)."""
from __future__ import annotations

from sqlalchemy import select

from flows.delivery.company_delivery import CompanyDelivery
from storage.tables import CompanyRow
from storage.uow import SqlUnitOfWorkFactory


class SqlCompanyDirectory:
    def __init__(self, uow_factory: SqlUnitOfWorkFactory) -> None:
        # Through the unit of work, not a bare session: with SQLite every transaction takes the
        # write lock, and the factory lets this process's transactions take turns for it.
        self._uow_factory = uow_factory

    async def delivery(self, company_id: int) -> CompanyDelivery | None:
        query = select(CompanyRow.slug, CompanyRow.name, CompanyRow.data).where(CompanyRow.id == company_id)
        async with self._uow_factory() as uow:
            row = (await uow.session.execute(query)).first()
        if row is None:
            return None
        slug, name, data = row
        return CompanyDelivery(slug=slug, name=name, email=data.get("email") or None,
                               webhook_url=data.get("webhook_url") or None)

    async def id_of(self, slug: str) -> int | None:
        """The row id of a company slug (for the operator's CLI)."""
        async with self._uow_factory() as uow:
            return (await uow.session.execute(select(CompanyRow.id).where(CompanyRow.slug == slug))).scalar()
