"""Quiz questions from the content pack and users' attempts on real SQLite."""
from __future__ import annotations

from datetime import timedelta

from content import DEMO_DIR, default_directory, load_pack
from flows.core.model import Profile, QuizAttempt
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())


async def test_quiz_items_keep_the_pack_order_and_professions_have_profiles(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        items = await uow.content.quiz_items()
        professions = await uow.content.professions()
        nursing = await uow.content.profession("pflegefachfrau-pflegefachmann")
    assert [i.slug for i in items] == [q.slug for q in PACK.quiz]
    assert items[0].text["de"] and items[0].options[0].label["en"]
    assert len(professions) == len(PACK.professions) and all(len(p.riasec) == 6 for p in professions)
    assert nursing is not None and nursing.pay_basis == "tarif" and nursing.parent["how_to_support"]


async def test_attempts_resume_finish_and_disappear_with_the_user(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=9, created_at=clock.now()))
        assert user.id is not None
        attempt = await uow.quiz.save(user.id, QuizAttempt(started_at=clock.now(), answers={"a": 1}))
        await uow.commit()
    async with uow_factory() as uow:
        current = await uow.quiz.current(user.id)
        assert current is not None and current.answers == {"a": 1} and current.started_at == clock.now()
        done = current.model_copy(update={"finished_at": clock.now() + timedelta(minutes=3),
                                          "scores": {"R": 0.5}, "top": ["maurer-in"]})
        await uow.quiz.save(user.id, done)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.quiz.current(user.id) is None
        finished = await uow.quiz.latest_finished(user.id)
        assert finished is not None and finished.id == attempt.id and finished.top == ["maurer-in"]
        await uow.users.delete(user.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.quiz.list_for_user(user.id) == []


async def test_interest_profiles_match_the_professions(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        profiles = await uow.content.interest_profiles()
    assert profiles == {p.slug: dict(p.riasec) for p in PACK.professions}
