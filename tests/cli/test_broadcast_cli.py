"""`lotse broadcast list|cancel`: the operator sees every cluster's announcements and cancels one."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from flows.core.clock import SystemClock
from flows.domain.broadcast import Broadcast, BroadcastStatus, Topic
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.cli.conftest import Lotse


async def _add(db: str, cluster: str, text: str, status: BroadcastStatus) -> int:
    engine = create_engine(db)
    try:
        now = datetime.now(UTC)
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            draft = Broadcast(cluster=cluster, topic=Topic.EVENTS, text_du=text, text_sie="Guten Tag", status=status,
                              scheduled_at=now + timedelta(days=1), created_by="telegram:42", created_at=now)
            draft.record("created", "telegram:42", now)
            added = await uow.broadcasts.add(draft)
            await uow.commit()
        assert added.id is not None
        return added.id
    finally:
        await engine.dispose()


async def _get(db: str, broadcast_id: int) -> Broadcast | None:
    engine = create_engine(db)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine), SystemClock())() as uow:
            return await uow.broadcasts.get(broadcast_id)
    finally:
        await engine.dispose()


def test_list_and_cancel(lotse: Lotse) -> None:
    assert lotse("db", "upgrade").returncode == 0
    assert lotse("content", "load").returncode == 0
    db = lotse.database_url
    assert "no announcements" in lotse("broadcast", "list").stdout
    ours = asyncio.run(_add(db, "zukunftsmacher", "Karrieretage am Samstag", BroadcastStatus.SCHEDULED))
    theirs = asyncio.run(_add(db, "tab-mint", "MINT-Tag in Halle", BroadcastStatus.DRAFT))
    listed = lotse("broadcast", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Karrieretage am Samstag" in listed.stdout and "MINT-Tag in Halle" in listed.stdout
    only = lotse("broadcast", "list", "--cluster", "zukunftsmacher").stdout
    assert "Karrieretage" in only and "MINT-Tag" not in only and "geplant" in only
    done = lotse("broadcast", "cancel", str(ours))
    assert done.returncode == 0, done.stderr
    assert f"announcement {ours} cancelled" in done.stdout
    cancelled = asyncio.run(_get(db, ours))
    assert cancelled is not None and cancelled.status is BroadcastStatus.CANCELLED
    assert (cancelled.history[-1].action, cancelled.history[-1].by) == ("cancelled", "cli")
    again = lotse("broadcast", "cancel", str(ours))
    assert again.returncode == 1 and "cannot be cancelled" in again.stderr
    missing = lotse("broadcast", "cancel", "999")
    assert missing.returncode == 1 and "no such announcement" in missing.stderr
    assert "abgebrochen" in lotse("broadcast", "list", "--cluster", "zukunftsmacher").stdout
    still = asyncio.run(_get(db, theirs))
    assert still is not None and still.status is BroadcastStatus.DRAFT
