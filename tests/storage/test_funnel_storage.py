"""The cockpit's funnel read on real SQLite: exact steps per user, one cluster only, in three queries."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from flows.core.model import ConsentRecord, Profile, QuizAttempt
from flows.core.ports import UnitOfWork
from flows.domain.funnel import FunnelStep, by_source, funnel
from flows.domain.lead import CONSENT_PURPOSE, CONSENT_VERSION, Lead, LeadStatus
from storage.funnel import journeys
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

HOME, OTHER = "lausitz", "mitteldeutschland"


class World:
    """Builds users with quiz attempts, leads and consents through the repositories the bot uses."""

    def __init__(self, uow: UnitOfWork, now: datetime) -> None:
        self.uow, self.now, self.chat_ids = uow, now, iter(range(1000, 100000))

    async def user(self, cluster: str | None = HOME, *, created: timedelta = timedelta(0), source: str | None = None,
                   onboarded: bool = True, viewed: bool = False, quiz: bool = False, role: str | None = "teen",
                   age_band: str = "16_17") -> int:
        profile = await self.uow.users.save(Profile(
            channel="telegram", chat_id=next(self.chat_ids), role=role, age_band=age_band, cluster=cluster,
            source=source, onboarded=onboarded, offers_viewed_at=self.now if viewed else None,
            created_at=self.now - created))
        assert profile.id is not None
        if quiz:
            await self.uow.quiz.save(profile.id, QuizAttempt(started_at=self.now, finished_at=self.now,
                                                             scores={"R": 1.0}, top=["maurer-in"]))
        return profile.id

    async def lead(self, user_id: int, company: str, *moves: LeadStatus, parent: bool = False,
                   consent: bool = True, arrived: bool = False) -> int:
        """A hand-over as the bot makes it: created waiting for a parent or delivered (with a consent
        record), then moved through `moves` (each appended to the history)."""
        first = LeadStatus.WAITING_PARENT if parent else LeadStatus.DELIVERED
        lead, _ = await self.uow.leads.add_once(Lead(user_id=user_id, company=company, target=f"vacancy:{company}-1",
                                                     status=first, created_at=self.now, status_at=self.now))
        assert lead.id is not None
        if consent:
            record = await self.uow.consents.add(user_id, ConsentRecord(
                purpose=CONSENT_PURPOSE, text_version=CONSENT_VERSION, given_by="parent" if parent else "self",
                recipients=[company], given_at=self.now))
            await self.uow.leads.set_status(lead.id, LeadStatus.DELIVERED, self.now, consent_id=record.id)
            if arrived:
                await self.uow.leads.mark_arrived(lead.id, self.now)
        for step, status in enumerate(moves, start=1):
            await self.uow.leads.set_status(lead.id, status, self.now + timedelta(days=step))
        return lead.id


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_every_step_from_users_quiz_leads_and_consents(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, db: AsyncEngine) -> None:
    now = clock.now()
    async with uow_factory() as uow:
        world = World(uow, now)
        ids: dict[str, int] = {}
        ids["new"] = await world.user(onboarded=False, role=None, source="plakat")
        ids["onboarded"] = await world.user(source="plakat")
        unfinished = ids["onboarded"]
        await uow.quiz.save(unfinished, QuizAttempt(started_at=now))  # a quiz begun is not a quiz done
        ids["quiz"] = await world.user(quiz=True, source="plakat")
        ids["viewed"] = await world.user(viewed=True)  # skipped the quiz
        ids["waiting"] = await world.user(viewed=True, age_band="u16")
        await world.lead(ids["waiting"], "baeckerei", parent=True, consent=False)  # the parent has not answered
        ids["declined"] = await world.user(quiz=True, viewed=True, age_band="u16")
        lead = await world.lead(ids["declined"], "baeckerei", parent=True, consent=False)
        await uow.leads.set_status(lead, LeadStatus.DECLINED, now)
        ids["on_its_way"] = await world.user(quiz=True, viewed=True, source="messe")
        await world.lead(ids["on_its_way"], "baeckerei")  # consented, handed to the outbox, not arrived
        ids["parent_ok"] = await world.user(viewed=True, age_band="u16", source="messe")
        await world.lead(ids["parent_ok"], "baeckerei", parent=True, arrived=True)  # a parent confirmed
        ids["withdrawn"] = await world.user(viewed=True, source="messe")
        await world.lead(ids["withdrawn"], "baeckerei", LeadStatus.WITHDRAWN, arrived=True)  # consent given, then taken back
        ids["hired"] = await world.user(quiz=True, viewed=True, source="messe")
        await world.lead(ids["hired"], "baeckerei", LeadStatus.CONTACTED, LeadStatus.INTERVIEW, LeadStatus.HIRED,
                         LeadStatus.NO_PLACE, arrived=True)  # hired once, then no place after all
        ids["two_leads"] = await world.user(quiz=True, viewed=True)
        await world.lead(ids["two_leads"], "baeckerei", LeadStatus.INTERVIEW, LeadStatus.WITHDRAWN, arrived=True)
        await world.lead(ids["two_leads"], "tischlerei", LeadStatus.CONTACTED)  # reported: it got there
        # Not counted: a company contact in the cluster, the users of another cluster and of none.
        await world.user(role="company")
        for cluster in (OTHER, None):
            other = await world.user(cluster, quiz=True, viewed=True, source="plakat")
            await world.lead(other, "baeckerei", LeadStatus.CONTACTED, LeadStatus.INTERVIEW, LeadStatus.HIRED,
                             arrived=True)
            await world.user(cluster, onboarded=False)
        await uow.commit()

    async with uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        with statements(db) as seen:
            found = await journeys(uow.session, HOME)
        assert len([s for s in seen if s.startswith("SELECT")]) == 3  # users, quiz, leads: not a query per user
    by_user = {j.user_id: j for j in found}
    assert set(by_user) == set(ids.values())  # another cluster's users and company contacts never count
    furthest = {name: by_user[user_id].furthest for name, user_id in ids.items()}
    assert furthest == {
        "new": FunnelStep.NEW, "onboarded": FunnelStep.ONBOARDED, "quiz": FunnelStep.QUIZ_DONE,
        "viewed": FunnelStep.OFFERS_VIEWED, "waiting": FunnelStep.INTERESTED, "declined": FunnelStep.INTERESTED,
        "on_its_way": FunnelStep.CONSENT, "parent_ok": FunnelStep.DELIVERED, "withdrawn": FunnelStep.DELIVERED,
        "hired": FunnelStep.HIRED, "two_leads": FunnelStep.INTERVIEW}
    assert FunnelStep.QUIZ_DONE not in by_user[ids["viewed"]].reached  # what they did themselves
    assert by_user[ids["hired"]].source == "messe" and by_user[ids["two_leads"]].source is None
    assert all(j.created_at == now for j in found)

    result = funnel(found)
    assert list(result.counts) == [11, 10, 9, 8, 7, 5, 4, 2, 2, 1]
    assert result.did(FunnelStep.QUIZ_DONE) == 5
    sources = dict(by_source(found))
    assert list(sources) == ["messe", "plakat", None]
    assert list(sources["messe"].counts) == [4, 4, 4, 4, 4, 4, 3, 1, 1, 1]
    assert list(sources["plakat"].counts) == [3, 2, 1, 0, 0, 0, 0, 0, 0, 0]
    assert sources[None].total == 4

    async with uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        assert [j.user_id for j in await journeys(uow.session, OTHER)] != []
        assert await journeys(uow.session, "nowhere") == []


async def test_since_keeps_the_cohort_and_its_leads_and_quiz(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, db: AsyncEngine) -> None:
    now = clock.now()
    async with uow_factory() as uow:
        world = World(uow, now)
        old = await world.user(created=timedelta(days=40), quiz=True, viewed=True)
        await world.lead(old, "baeckerei", LeadStatus.CONTACTED, arrived=True)
        recent = await world.user(created=timedelta(days=3), quiz=True)
        await world.lead(recent, "baeckerei", arrived=True)
        today = await world.user()
        await uow.commit()
    async with uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        since = now - timedelta(days=30)
        found = await journeys(uow.session, HOME, since)
        assert [j.user_id for j in found] == [recent, today]  # oldest first
        assert [j.furthest for j in found] == [FunnelStep.DELIVERED, FunnelStep.ONBOARDED]
        assert found[0].created_at == now - timedelta(days=3)
        assert len(await journeys(uow.session, HOME, now - timedelta(days=3))) == 2  # at `since` counts
        assert len(await journeys(uow.session, HOME)) == 3


async def test_offers_viewed_at_is_stored_with_the_profile(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    async with uow_factory() as uow:
        profile = await uow.users.save(Profile(channel="telegram", chat_id=7, created_at=clock.now()))
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.users.get("telegram", 7)
        assert loaded is not None and loaded.offers_viewed_at is None
        loaded.offers_viewed_at = clock.now() + timedelta(minutes=5)
        await uow.users.save(loaded)
        await uow.commit()
    async with uow_factory() as uow:
        assert profile.id is not None
        again = await uow.users.by_id(profile.id)
        assert again is not None and again.offers_viewed_at == clock.now() + timedelta(minutes=5)
