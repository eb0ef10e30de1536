"""Retention: processed updates after two days, profiles after a year without contact."""
from __future__ import annotations

from datetime import timedelta

from flows.core.model import Profile, Reply
from flows.domain.question import ModelState, Question, TeamState
from flows.jobs.retention import purge
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock


async def test_purge_removes_only_what_is_past_its_time(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    async with uow_factory() as uow:
        await uow.users.save(Profile(channel="telegram", chat_id=1, created_at=now,
                                     last_seen_at=now - timedelta(days=400)))
        await uow.users.save(Profile(channel="telegram", chat_id=2, created_at=now,
                                     last_seen_at=now - timedelta(days=30)))
        await uow.updates.add("telegram", 1, [Reply(key="menu.main")], "de")
        await uow.commit()
    clock.advance(days=3)
    async with uow_factory() as uow:
        await uow.updates.add("telegram", 2, [], "de")
        await uow.commit()
    report = await purge(uow_factory, clock)
    assert (report.updates, report.users) == (1, 1)
    async with uow_factory() as uow:
        assert await uow.users.get("telegram", 1) is None
        assert await uow.users.get("telegram", 2) is not None
        assert await uow.updates.get("telegram", 1) is None
        assert await uow.updates.get("telegram", 2) is not None


async def test_free_questions_are_kept_a_week_unless_sent_to_the_team_then_half_a_year(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    async with uow_factory() as uow:
        asker = await uow.users.save(Profile(channel="telegram", chat_id=3, created_at=now, last_seen_at=now))
        assert asker.id is not None
        ids = {}
        for name, team, model in (("unsent", TeamState.NONE, ModelState.DONE),
                                  ("pending", TeamState.NONE, ModelState.PENDING),
                                  ("team", TeamState.OPEN, ModelState.NONE)):
            question = await uow.questions.add(Question(user_id=asker.id, text=f"Frage {name}", asked_at=now,
                                                        model=model, team=team,
                                                        team_asked_at=now if team is TeamState.OPEN else None))
            ids[name] = question.id
        await uow.commit()
    clock.advance(days=8)
    assert (await purge(uow_factory, clock)).questions == 1
    async with uow_factory() as uow:
        assert await uow.questions.get(ids["unsent"] or 0) is None
        assert await uow.questions.get(ids["pending"] or 0) is not None  # its answer is still on the way
        assert await uow.questions.get(ids["team"] or 0) is not None
    clock.advance(days=180)
    await purge(uow_factory, clock)
    async with uow_factory() as uow:
        assert await uow.questions.get(ids["team"] or 0) is None
