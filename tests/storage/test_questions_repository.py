"""storage/questions.py on a migrated SQLite database: free questions for the model and the cluster team
(flows/domain/question.py), and a team answer delivered through the real outbox."""
from __future__ import annotations

from datetime import datetime, timedelta

from content import DEMO_DIR, default_directory, load_pack
from flows.core.model import Profile
from flows.delivery.team_questions import deliver_team_answer, send_to_team
from flows.domain.question import ModelState, Question, TeamState
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock


async def _user(uow_factory: SqlUnitOfWorkFactory, chat_id: int, now: datetime, cluster: str | None = None) -> int:
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=chat_id, created_at=now, cluster=cluster,
                                            role="other" if cluster else None))
        await uow.commit()
    assert user.id is not None
    return user.id


async def _add(uow_factory: SqlUnitOfWorkFactory, question: Question) -> int:
    async with uow_factory() as uow:
        await uow.questions.add(question)
        await uow.commit()
    assert question.id is not None
    return question.id


def _q(user_id: int, at: datetime, text: str = "Was verdient ein Dachdecker?", **fields: object) -> Question:
    return Question(user_id=user_id, text=text, asked_at=at, **fields)  # type: ignore[arg-type]


async def test_add_get_save_round_trip(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    user = await _user(uow_factory, 1, now)
    question = _q(user, now, "Wie lang dauert die Ausbildung <Pflege> & so?", cluster="zukunftsmacher",
                  audience="parents", form="sie", locale="en", model=ModelState.PENDING)
    question_id = await _add(uow_factory, question)
    async with uow_factory() as uow:
        stored = await uow.questions.get(question_id)
        assert stored == question  # every field, datetimes aware UTC
        assert await uow.questions.get(question_id + 1) is None
        stored.team, stored.team_asked_at, stored.consent_id = TeamState.ANSWERED, now, 7
        stored.answer, stored.answered_by, stored.answered_at = "Drei Jahre.", "telegram:900", now + timedelta(hours=1)
        stored.model, stored.reminded_at, stored.faq_slug = ModelState.DONE, now, "pflege-dauer"
        await uow.questions.save(stored)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.questions.get(question_id) == stored


async def test_claim_pending_leases_each_question_to_one_worker(uow_factory: SqlUnitOfWorkFactory,
                                                               clock: SteppableClock) -> None:
    now = clock.now()
    user = await _user(uow_factory, 1, now)
    first = await _add(uow_factory, _q(user, now, model=ModelState.PENDING))
    second = await _add(uow_factory, _q(user, now, model=ModelState.PENDING))
    await _add(uow_factory, _q(user, now, model=ModelState.NONE))
    await _add(uow_factory, _q(user, now, model=ModelState.DONE))
    async with uow_factory() as uow:
        claimed = await uow.questions.claim_pending(now, 60, limit=1)
        assert [q.id for q in claimed] == [first]
        assert claimed[0].model_lease_until == now + timedelta(seconds=60)
        await uow.commit()
    async with uow_factory() as uow:
        assert [q.id for q in await uow.questions.claim_pending(now + timedelta(seconds=30), 60, 10)] == [second]
        await uow.commit()
    async with uow_factory() as uow:  # within both leases: nothing for a second worker
        assert await uow.questions.claim_pending(now + timedelta(seconds=59), 60, 10) == []
    async with uow_factory() as uow:  # the first worker died: after its lease another takes it over
        taken = await uow.questions.claim_pending(now + timedelta(seconds=60), 60, 10)
        assert [q.id for q in taken] == [first]
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.questions.get(first)
        assert stored is not None and stored.model_lease_until == now + timedelta(seconds=120)


async def test_model_asked_since_counts_the_persons_model_questions(uow_factory: SqlUnitOfWorkFactory,
                                                                    clock: SteppableClock) -> None:
    now = clock.now()
    user, other = await _user(uow_factory, 1, now), await _user(uow_factory, 2, now)
    await _add(uow_factory, _q(user, now - timedelta(hours=2), model=ModelState.DONE))  # before the hour
    await _add(uow_factory, _q(user, now - timedelta(minutes=30), model=ModelState.DONE))
    await _add(uow_factory, _q(user, now, model=ModelState.PENDING))
    await _add(uow_factory, _q(user, now, model=ModelState.NONE))  # offline answer: not counted
    await _add(uow_factory, _q(other, now, model=ModelState.PENDING))
    async with uow_factory() as uow:
        assert await uow.questions.model_asked_since(user, now - timedelta(hours=1)) == 2
        assert await uow.questions.model_asked_since(other, now - timedelta(hours=1)) == 1
        assert await uow.questions.model_asked_since(user, now + timedelta(seconds=1)) == 0


async def test_for_team_lists_open_then_answered_and_only_the_clusters(uow_factory: SqlUnitOfWorkFactory,
                                                                       clock: SteppableClock) -> None:
    now = clock.now()
    user = await _user(uow_factory, 1, now)
    cluster = "zukunftsmacher"
    open_late = await _add(uow_factory, _q(user, now, cluster=cluster, team=TeamState.OPEN,
                                           team_asked_at=now + timedelta(hours=2)))
    open_early = await _add(uow_factory, _q(user, now, cluster=cluster, team=TeamState.OPEN,
                                            team_asked_at=now + timedelta(hours=1)))
    answered_old = await _add(uow_factory, _q(user, now, cluster=cluster, team=TeamState.ANSWERED,
                                              team_asked_at=now, answer="a", answered_at=now + timedelta(hours=3)))
    answered_new = await _add(uow_factory, _q(user, now, cluster=cluster, team=TeamState.ANSWERED,
                                              team_asked_at=now, answer="b", answered_at=now + timedelta(hours=5)))
    await _add(uow_factory, _q(user, now, cluster=cluster))  # never sent to the team
    other = await _add(uow_factory, _q(user, now, cluster="tab-mint", team=TeamState.OPEN, team_asked_at=now))
    async with uow_factory() as uow:
        assert [q.id for q in await uow.questions.for_team(cluster)] == [open_early, open_late, answered_new,
                                                                          answered_old]
        assert [q.id for q in await uow.questions.for_team(cluster, limit=1)] == [open_early]
        assert [q.id for q in await uow.questions.for_team("tab-mint")] == [other]
        assert await uow.questions.for_team("lausitz-cares") == []


async def test_open_asked_before_skips_answered_reminded_and_recent(uow_factory: SqlUnitOfWorkFactory,
                                                                    clock: SteppableClock) -> None:
    now = clock.now()
    user = await _user(uow_factory, 1, now)
    due = await _add(uow_factory, _q(user, now, cluster="c", team=TeamState.OPEN, team_asked_at=now - timedelta(days=2)))
    exactly = await _add(uow_factory, _q(user, now, cluster="c", team=TeamState.OPEN,
                                         team_asked_at=now - timedelta(days=1)))
    await _add(uow_factory, _q(user, now, cluster="c", team=TeamState.OPEN, team_asked_at=now - timedelta(hours=2)))
    await _add(uow_factory, _q(user, now, cluster="c", team=TeamState.OPEN, team_asked_at=now - timedelta(days=3),
                               reminded_at=now - timedelta(days=2)))
    await _add(uow_factory, _q(user, now, cluster="c", team=TeamState.ANSWERED, team_asked_at=now - timedelta(days=3)))
    await _add(uow_factory, _q(user, now - timedelta(days=3), cluster="c"))  # never sent
    async with uow_factory() as uow:
        assert [q.id for q in await uow.questions.open_asked_before(now - timedelta(days=1))] == [due, exactly]


async def test_purge_deletes_old_questions_but_keeps_a_pending_one(uow_factory: SqlUnitOfWorkFactory,
                                                                   clock: SteppableClock) -> None:
    now = clock.now()
    user = await _user(uow_factory, 1, now)
    old = now - timedelta(days=30)
    unsent_old = await _add(uow_factory, _q(user, old, model=ModelState.DONE))
    pending_old = await _add(uow_factory, _q(user, old, model=ModelState.PENDING))
    unsent_new = await _add(uow_factory, _q(user, now))
    team_old = await _add(uow_factory, _q(user, old, cluster="c", team=TeamState.ANSWERED, team_asked_at=old))
    team_new = await _add(uow_factory, _q(user, old, cluster="c", team=TeamState.OPEN,
                                          team_asked_at=now - timedelta(days=1)))
    async with uow_factory() as uow:
        assert await uow.questions.purge(unsent_before=now - timedelta(days=7),
                                         team_before=now - timedelta(days=10)) == 2
        await uow.commit()
    async with uow_factory() as uow:
        kept = [i for i in (unsent_old, pending_old, unsent_new, team_old, team_new)
                if await uow.questions.get(i) is not None]
    assert kept == [pending_old, unsent_new, team_new]


async def test_deleting_the_person_deletes_their_questions(uow_factory: SqlUnitOfWorkFactory,
                                                           clock: SteppableClock) -> None:
    now = clock.now()
    user, other = await _user(uow_factory, 1, now), await _user(uow_factory, 2, now)
    mine = await _add(uow_factory, _q(user, now, cluster="c", team=TeamState.ANSWERED, team_asked_at=now,
                                      answer="Antwort"))
    theirs = await _add(uow_factory, _q(other, now))
    async with uow_factory() as uow:
        await uow.users.delete(user)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.questions.get(mine) is None
        assert await uow.questions.get(theirs) is not None


async def test_a_team_answer_is_delivered_once_through_the_outbox(uow_factory: SqlUnitOfWorkFactory,
                                                                  clock: SteppableClock) -> None:
    await sync_pack(uow_factory, load_pack(DEMO_DIR, default_directory()), clock)
    now = clock.now()
    asker = await _user(uow_factory, 1, now)
    await _user(uow_factory, 900, now, cluster="zukunftsmacher")
    await _user(uow_factory, 901, now, cluster="tab-mint")
    agents = frozenset({("telegram", 900), ("telegram", 901)})
    question_id = await _add(uow_factory, _q(asker, now, cluster="zukunftsmacher", team=TeamState.OPEN,
                                             team_asked_at=now))
    async with uow_factory() as uow:
        question = await uow.questions.get(question_id)
        assert question is not None
        assert [p.chat_id for p in await send_to_team(uow, question, agents, now)] == [900]
        assert [p.chat_id for p in await send_to_team(uow, question, agents, now)] == [900]  # replayed: same key
        await uow.commit()
    async with uow_factory() as uow:
        notice = await uow.outbox.get(f"team-question:{question_id}:telegram:900")
        assert notice is not None and notice.reply.values["question"] == "Was verdient ein Dachdecker?"
        assert await uow.outbox.get(f"team-question:{question_id}:telegram:901") is None
        question = await uow.questions.get(question_id)
        assert question is not None
        assert await deliver_team_answer(uow, question, "Im 1. Jahr 724 €.", "telegram:900", now)
        assert not await deliver_team_answer(uow, question, "Doppelt", "cockpit:900", now)  # same transaction
        await uow.commit()
    async with uow_factory() as uow:
        question = await uow.questions.get(question_id)
        assert question is not None
        assert (question.team, question.answer, question.answered_by) == (TeamState.ANSWERED, "Im 1. Jahr 724 €.",
                                                                          "telegram:900")
        assert not await deliver_team_answer(uow, question, "Später", "cockpit:900", now)  # a colleague, later
        message = await uow.outbox.get(f"team-answer:{question_id}")
        assert message is not None and message.recipient.chat_id == 1
        assert message.reply.values["cluster"] == "Die Zukunftsmacher"
        assert message.reply.values["answer"] == "Im 1. Jahr 724 €."
