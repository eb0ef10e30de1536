"""Tracked links of a cluster (posters, fair stands, schools, events) and how many users came through each.
Works inside the caller's session: nothing here commits."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from flows.domain.deeplink import PART_RE
from flows.domain.tracked_link import (
    LinkKind,
    TrackedLink,
    source_from_label,
    validate_label,
    validate_target,
)
from storage.tables import UserRow
from storage.tables_cockpit import TrackedLinkRow

ACTOR_MAX = 64  # tracked_links.created_by


def _link(row: TrackedLinkRow) -> TrackedLink:
    assert row.id is not None and row.created_at is not None
    return TrackedLink(id=row.id, cluster=row.cluster, source=row.source, kind=LinkKind(row.kind), label=row.label,
                       target=row.target, created_by=row.created_by, created_at=row.created_at,
                       archived_at=row.archived_at)


class SqlTrackedLinks:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _insert(self) -> Any:
        return postgresql.insert if self._session.get_bind().dialect.name == "postgresql" else sqlite.insert

    async def _taken(self, cluster: str) -> set[str]:
        """Sources the cluster used so far: its links (archived too) and those its users came with (links
        made elsewhere, e.g. `lotse link`), so a new link starts counting at zero."""
        links = await self._session.execute(select(TrackedLinkRow.source).where(TrackedLinkRow.cluster == cluster))
        users = await self._session.execute(select(UserRow.source).distinct().where(
            UserRow.cluster == cluster, UserRow.source.is_not(None)))
        return {s for s in links.scalars().all()} | {s for s in users.scalars().all() if s}

    async def add(self, cluster: str, label: str, kind: LinkKind | str, created_by: str, at: datetime,
                  target: str | None = None) -> TrackedLink:
        """A new link with a free source made from its label. Raises ValueError (a reason code) for a
        bad cluster, label, kind, target or actor."""
        if not PART_RE.match(cluster):
            raise ValueError("cluster")
        text = validate_label(label)
        link_kind = LinkKind(kind)  # ValueError for an unknown kind
        link_target = validate_target(target)
        if not created_by or len(created_by) > ACTOR_MAX:
            raise ValueError("created_by")
        taken = await self._taken(cluster)
        while True:  # another agent may take the same source meanwhile: then the next one
            source = source_from_label(text, taken, cluster)
            statement = self._insert()(TrackedLinkRow).values(
                cluster=cluster, source=source, kind=link_kind.value, label=text, target=link_target,
                created_by=created_by, created_at=at).on_conflict_do_nothing().returning(TrackedLinkRow.id)
            link_id = (await self._session.execute(statement)).scalar()
            if link_id is not None:
                return TrackedLink(id=link_id, cluster=cluster, source=source, kind=link_kind, label=text,
                                   target=link_target, created_by=created_by, created_at=at)
            taken.add(source)

    async def for_cluster(self, cluster: str, include_archived: bool = False) -> list[TrackedLink]:
        """The cluster's links, newest first."""
        query = select(TrackedLinkRow).where(TrackedLinkRow.cluster == cluster)
        if not include_archived:
            query = query.where(TrackedLinkRow.archived_at.is_(None))
        rows = await self._session.execute(query.order_by(TrackedLinkRow.created_at.desc(), TrackedLinkRow.id.desc()))
        return [_link(row) for row in rows.scalars().all()]

    async def get(self, cluster: str, link_id: int) -> TrackedLink | None:
        """The link, if it is one of this cluster's (another cluster's link is None)."""
        row = (await self._session.execute(select(TrackedLinkRow).where(
            TrackedLinkRow.id == link_id, TrackedLinkRow.cluster == cluster))).scalars().first()
        return _link(row) if row else None

    async def archive(self, cluster: str, link_id: int, at: datetime) -> bool:
        """Archived now (True); False if it is not this cluster's or was archived already. The link keeps
        working (printed posters stay up): archiving only takes it off the list."""
        result = await self._session.execute(update(TrackedLinkRow).where(
            TrackedLinkRow.id == link_id, TrackedLinkRow.cluster == cluster, TrackedLinkRow.archived_at.is_(None),
        ).values(archived_at=at))
        return bool(getattr(result, "rowcount", 0) == 1)

    async def counts_by_source(self, cluster: str) -> dict[str, int]:
        """Users of the cluster by the source they first came with (users without one are left out)."""
        rows = await self._session.execute(
            select(UserRow.source, func.count()).where(UserRow.cluster == cluster, UserRow.source.is_not(None))
            .group_by(UserRow.source))
        return {source: count for source, count in rows.all() if source}
