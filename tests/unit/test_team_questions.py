""""Frag das Cluster-Team" (issue 13, point 5): the asker sees exactly what is sent and agrees, the cluster's
agents answer in the chat, the answer reaches the asker; forged and replayed buttons, other clusters'
agents, colleagues answering at once; the reminder after one working day."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from content import default_directory
from flows.delivery.outbox import OutboxMessage
from flows.delivery.team_questions import deliver_team_answer
from flows.domain.question import (
    KEEP_TEAM,
    TEAM_ANSWER_MAX,
    TEAM_CONSENT_PURPOSE,
    TEAM_CONSENT_VERSION,
    Question,
    TeamState,
)
from flows.jobs.team_questions import remind_team
from flows.wiring import build_engine
from prompts import default_catalog
from tests.unit.fakes import FakeUnitOfWork, SteppableClock, Store
from tests.unit.harness import Harness

FRIDAY = datetime(2027, 2, 5, 10, tzinfo=UTC)  # a Friday, 11:00 in Germany
QUESTION = "Darf ich im Praktikum bei euch auch mal aufs Dach?"
OWN_AGENT, COLLEAGUE, OTHER_AGENT = 900, 902, 901  # two agents of Die Zukunftsmacher, one of TAB_MINT
AGENTS = frozenset({("telegram", OWN_AGENT), ("telegram", COLLEAGUE), ("telegram", OTHER_AGENT)})
COCKPIT = "https://cockpit.example.org/"


def _configure(h: Harness, cockpit_url: str | None = None) -> Harness:
    """The bot as deployed: every agent's id configured (ADMIN_IDS), COCKPIT_URL maybe."""
    h.engine = build_engine(lambda: FakeUnitOfWork(h.store), default_directory(), h.clock, AGENTS,
                            cockpit_url=cockpit_url)
    return h


async def _young(store: Store, clock: SteppableClock, chat_id: int = 42) -> Harness:
    """A 17-year-old from Löbau: the cluster Die Zukunftsmacher."""
    h = _configure(Harness(store=store, chat_id=chat_id, places=default_directory(), clock=clock))
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:16_17")
    await h.text("Löbau")
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    await h.press("ob:school:pupil")
    await h.press("ob:class:10")
    assert h.profile.cluster == "zukunftsmacher"
    return h


async def _agent(store: Store, clock: SteppableClock, chat_id: int, plz: str, cockpit_url: str | None = None) -> Harness:
    """A cluster agent (by configured id) who chose their cluster through their home town."""
    agent = _configure(Harness(store=store, chat_id=chat_id, places=default_directory(), clock=clock), cockpit_url)
    await agent.command("start")
    await agent.press("ob:role:other")
    await agent.text(plz)
    await agent.press(next(d for d in agent.button_data if d.startswith("ob:place_c")))
    return agent


async def _question(h: Harness, text: str = QUESTION) -> int:
    """The question as the free-question flow stores it (scrubbed, with the asker's cluster and form)."""
    async with FakeUnitOfWork(h.store) as uow:
        question = await uow.questions.add(Question(
            user_id=h.user_id, text=text, cluster=h.profile.cluster, form="sie" if h.profile.formal else "du",
            locale=h.profile.locale, asked_at=h.clock.now()))
        await uow.commit()
    assert question.id is not None
    return question.id


def _outbox(store: Store, key: str) -> list[OutboxMessage]:
    return [m for m in store.outbox.values() if m.reply.key == key]


def _shown(h: Harness) -> str:
    """Everything the last replies carry (to check what was not revealed)."""
    return repr([r.values for r in h.replies])


async def _world() -> tuple[Store, SteppableClock, Harness, Harness, Harness, Harness]:
    store, clock = Store(), SteppableClock(FRIDAY)
    young = await _young(store, clock)
    own = await _agent(store, clock, OWN_AGENT, "02826", COCKPIT)  # Görlitz: Die Zukunftsmacher
    colleague = await _agent(store, clock, COLLEAGUE, "02826")  # the same cluster, no cockpit configured
    other = await _agent(store, clock, OTHER_AGENT, "06108")  # Halle: TAB_MINT
    assert (own.profile.cluster, other.profile.cluster) == ("zukunftsmacher", "tab-mint")
    return store, clock, young, own, colleague, other


async def _send(young: Harness, question_id: int) -> None:
    assert await young.forge(f"tq:ask:{question_id}") == ["team.consent"]
    assert await young.press(f"tq:send:{question_id}") == ["team.sent"]


async def test_the_question_goes_to_the_clusters_agents_and_their_answer_to_the_asker() -> None:
    store, clock, young, own, colleague, other = await _world()
    question_id = await _question(young)

    assert await young.forge(f"tq:ask:{question_id}") == ["team.consent"]
    consent = young.reply("team.consent")
    assert consent.values == {"question": QUESTION, "cluster": "Die Zukunftsmacher", "form": "du", "locale": "de",
                              "days": KEEP_TEAM.days}
    assert young.button_data == [f"tq:send:{question_id}", f"tq:no:{question_id}"]
    assert store.questions[question_id].team is TeamState.NONE and not store.consents.get(young.user_id)

    clock.advance(minutes=2)
    assert await young.press(f"tq:send:{question_id}") == ["team.sent"]
    assert young.reply("team.sent").values["cluster"] == "Die Zukunftsmacher"
    stored = store.questions[question_id]
    [record] = store.consents[young.user_id]
    assert (record.purpose, record.text_version, record.given_by, record.recipients) == (
        TEAM_CONSENT_PURPOSE, TEAM_CONSENT_VERSION, "self", ["cluster:zukunftsmacher"])
    assert (stored.team, stored.team_asked_at, stored.consent_id) == (TeamState.OPEN, clock.now(), record.id)

    notices = _outbox(store, "team.agent_question")
    assert sorted(m.recipient.chat_id for m in notices) == [OWN_AGENT, COLLEAGUE]  # never the other cluster's
    notice = next(m for m in notices if m.recipient.chat_id == OWN_AGENT)
    assert set(notice.reply.values) == {"id", "question", "form", "locale", "asked_at"}  # nothing else of the asker
    assert notice.reply.values["question"] == QUESTION and "42" not in repr(notice.reply.values)
    [[answer_button]] = notice.reply.buttons
    assert answer_button.data == f"tq:answer:{question_id}"

    assert await own.forge(answer_button.data) == ["team.agent_write"]
    assert own.reply("team.agent_write").values["question"] == QUESTION
    clock.advance(hours=1)
    assert await own.text("  Ja, mit Sicherung <b>und</b> Helm & nur mit Meister:in.  ") == ["team.agent_answered"]
    assert f"tq:faq:{question_id}" in own.button_data
    answered = store.questions[question_id]
    assert (answered.team, answered.answered_by, answered.answered_at) == (
        TeamState.ANSWERED, f"telegram:{OWN_AGENT}", clock.now())
    assert answered.answer == "Ja, mit Sicherung <b>und</b> Helm & nur mit Meister:in."

    [to_asker] = _outbox(store, "team.answer")
    assert to_asker.idempotency_key == f"team-answer:{question_id}"
    assert (to_asker.recipient.chat_id, to_asker.minor, to_asker.formal) == (42, True, False)  # quiet hours apply
    assert to_asker.reply.values == {"cluster": "Die Zukunftsmacher", "question": QUESTION, "answer": answered.answer}
    html = default_catalog().render(to_asker.reply.key, to_asker.reply.values, to_asker.locale, to_asker.formal)
    assert "Antwort vom Cluster-Team Die Zukunftsmacher" in html
    assert "&lt;b&gt;und&lt;/b&gt; Helm &amp; nur" in html and "<b>und</b>" not in html  # the agent's text is escaped

    assert await own.press(f"tq:faq:{question_id}") == ["team.agent_faq"]
    assert own.reply("team.agent_faq").values["url"] == f"https://cockpit.example.org/fragen/{question_id}"
    assert await colleague.forge(f"tq:faq:{question_id}") == ["team.agent_faq_no_cockpit"]  # no COCKPIT_URL
    assert await young.forge(f"tq:ask:{question_id}") == ["team.already_answered"]  # the asker can read it again


async def test_the_button_under_the_bots_answer_leads_to_the_consent_screen() -> None:
    store, _, young, *_ = await _world()
    await young.text("Wie ist denn so die Stimmung unter den Azubis?")  # nothing in the knowledge answers it
    ask = next(d for d in young.button_data if d.startswith("tq:ask:"))
    assert await young.press(ask) == ["team.consent"]
    assert young.reply("team.consent").values["question"] == "Wie ist denn so die Stimmung unter den Azubis?"
    assert await young.press(ask.replace("ask", "send")) == ["team.sent"]
    assert len(_outbox(store, "team.agent_question")) == 2


async def test_no_sends_nothing_and_stores_no_consent() -> None:
    store, _, young, *_ = await _world()
    question_id = await _question(young)
    await young.forge(f"tq:ask:{question_id}")
    assert await young.press(f"tq:no:{question_id}") == ["team.not_sent"]
    assert store.questions[question_id].team is TeamState.NONE
    assert not store.consents.get(young.user_id) and not store.outbox


async def test_a_forged_id_of_another_persons_question_reveals_nothing() -> None:
    store, clock, young, *_ = await _world()
    question_id = await _question(young, "Meine Tochter Lisa ist schwanger, geht Pflege trotzdem?")
    stranger = await _young(store, clock, chat_id=43)
    for action in ("ask", "send", "no"):
        assert await stranger.forge(f"tq:{action}:{question_id}") == ["team.gone"]
        assert "Lisa" not in _shown(stranger)
    assert await stranger.forge("tq:ask:abc") == ["team.gone"]
    assert await stranger.forge(f"tq:send:{question_id + 1000}") == ["team.gone"]
    assert store.questions[question_id].team is TeamState.NONE
    assert not store.consents.get(stranger.user_id) and not store.outbox


async def test_a_replayed_send_notifies_the_agents_once() -> None:
    store, _, young, *_ = await _world()
    question_id = await _question(young)
    await _send(young, question_id)
    assert await young.forge(f"tq:send:{question_id}") == ["team.already_sent"]
    assert await young.forge(f"tq:ask:{question_id}") == ["team.already_sent"]
    assert await young.forge(f"tq:no:{question_id}") == ["team.already_sent"]  # "no" cannot unsend it silently
    assert len(_outbox(store, "team.agent_question")) == 2  # one per agent of the cluster, once
    assert len(store.consents[young.user_id]) == 1


async def test_without_a_cluster_the_asker_learns_how_to_choose_one() -> None:
    store, clock = Store(), SteppableClock(FRIDAY)
    parent = _configure(Harness(store=store, chat_id=77, clock=clock, places=default_directory()))
    await parent.command("start")
    await parent.press("ob:role:parent")
    await parent.press("ob:place:skip")
    assert parent.profile.cluster is None
    question_id = await _question(parent)
    assert await parent.forge(f"tq:ask:{question_id}") == ["team.no_cluster"]
    assert await parent.forge(f"tq:send:{question_id}") == ["team.no_cluster"]
    assert store.questions[question_id].team is TeamState.NONE and not store.outbox


async def test_a_question_asked_before_the_cluster_was_chosen_goes_to_the_cluster_chosen_since() -> None:
    store, _, young, *_ = await _world()
    question_id = await _question(young)
    store.questions[question_id].cluster = None
    await _send(young, question_id)
    assert store.questions[question_id].cluster == "zukunftsmacher"
    assert store.consents[young.user_id][0].recipients == ["cluster:zukunftsmacher"]


async def test_other_clusters_agents_and_non_agents_neither_see_nor_answer() -> None:
    store, _, young, own, _, other = await _world()
    question_id = await _question(young)
    await _send(young, question_id)
    assert await other.forge(f"tq:answer:{question_id}") == ["team.agent_other_cluster"]
    assert QUESTION not in _shown(other)
    assert other.profile.id is not None and store.states[other.profile.id].flow != "team"
    assert await other.forge(f"tq:faq:{question_id}") == ["team.agent_other_cluster"]
    stranger = await _young(store, young.clock, chat_id=43)  # not an agent
    assert await stranger.forge(f"tq:answer:{question_id}") == ["team.gone"]
    assert QUESTION not in _shown(stranger)
    await stranger.text("Ich antworte einfach mal")
    assert await young.forge(f"tq:answer:{question_id}") == ["team.gone"]  # the asker is no agent either
    assert store.questions[question_id].team is TeamState.OPEN and not _outbox(store, "team.answer")
    not_sent_yet = await _question(young, "Noch nicht gesendet")
    assert await own.forge(f"tq:answer:{not_sent_yet}") == ["team.agent_gone"]  # the asker did not agree (yet)
    assert "Noch nicht gesendet" not in _shown(own)


async def test_two_agents_answering_the_second_is_told() -> None:
    store, _, young, own, colleague, _ = await _world()
    question_id = await _question(young)
    await _send(young, question_id)
    assert await own.forge(f"tq:answer:{question_id}") == ["team.agent_write"]
    assert await colleague.forge(f"tq:answer:{question_id}") == ["team.agent_write"]
    assert await own.text("Ja, mit Sicherung.") == ["team.agent_answered"]
    assert await colleague.text("Nein, auf keinen Fall.") == ["team.agent_already_answered"]
    assert colleague.reply("team.agent_already_answered").values["answer"] == "Ja, mit Sicherung."
    assert await colleague.forge(f"tq:answer:{question_id}") == ["team.agent_already_answered"]
    [to_asker] = _outbox(store, "team.answer")
    assert to_asker.reply.values["answer"] == "Ja, mit Sicherung."
    assert store.questions[question_id].answered_by == f"telegram:{OWN_AGENT}"


async def test_a_too_long_or_empty_answer_is_refused_and_nothing_is_lost() -> None:
    store, _, young, own, *_ = await _world()
    question_id = await _question(young)
    await _send(young, question_id)
    await own.forge(f"tq:answer:{question_id}")
    assert await own.text("x" * (TEAM_ANSWER_MAX + 1)) == ["team.agent_answer_invalid"]
    assert own.reply("team.agent_answer_invalid").values == {"limit": TEAM_ANSWER_MAX, "length": TEAM_ANSWER_MAX + 1}
    assert await own.text("   ") == ["team.agent_answer_invalid"]
    assert store.questions[question_id].team is TeamState.OPEN and not _outbox(store, "team.answer")
    assert await own.text("x" * TEAM_ANSWER_MAX) == ["team.agent_answered"]  # still waiting for the answer
    assert store.questions[question_id].answer == "x" * TEAM_ANSWER_MAX


async def test_cancel_leaves_the_answer_unwritten() -> None:
    store, _, young, own, *_ = await _world()
    question_id = await _question(young)
    await _send(young, question_id)
    await own.forge(f"tq:answer:{question_id}")
    assert "menu.cancelled" in await own.command("abbrechen")
    await own.text("Das war nicht als Antwort gemeint")
    assert store.questions[question_id].team is TeamState.OPEN and not _outbox(store, "team.answer")


async def test_a_question_deleted_with_its_asker_is_gone_for_the_agent() -> None:
    store, _, young, own, *_ = await _world()
    question_id = await _question(young)
    await _send(young, question_id)
    await own.forge(f"tq:answer:{question_id}")
    await young.command("loeschen")
    await young.press("pv:delete:yes")
    assert question_id not in store.questions
    assert await own.text("Zu spät") == ["team.agent_gone"]
    assert not _outbox(store, "team.answer")


async def test_deliver_team_answer_checks_the_text_and_the_state() -> None:
    store, clock, young, *_ = await _world()
    question_id = await _question(young)
    async with FakeUnitOfWork(store) as uow:
        question = await uow.questions.get(question_id)
        assert question is not None
        for bad in ("", "  \n ", "x" * (TEAM_ANSWER_MAX + 1)):
            with pytest.raises(ValueError):
                await deliver_team_answer(uow, question, bad, "cockpit:900", clock.now())
        assert not await deliver_team_answer(uow, question, "Antwort", "cockpit:900", clock.now())  # never sent
    await _send(young, question_id)
    async with FakeUnitOfWork(store) as uow:
        question = await uow.questions.get(question_id)
        assert question is not None
        assert await deliver_team_answer(uow, question, " Antwort ", "cockpit:900", clock.now())
        assert not await deliver_team_answer(uow, question, "Noch eine", "cockpit:902", clock.now())
        await uow.commit()
    stored = store.questions[question_id]
    assert (stored.answer, stored.answered_by, question.team) == ("Antwort", "cockpit:900", TeamState.ANSWERED)
    assert len(_outbox(store, "team.answer")) == 1


async def test_agents_are_reminded_after_one_working_day_once() -> None:
    store, clock, young, *_ = await _world()
    question_id = await _question(young)
    answered_id = await _question(young, "Und wann ist die nächste Messe?")
    await _send(young, question_id)
    await _send(young, answered_id)
    async with FakeUnitOfWork(store) as uow:
        answered = await uow.questions.get(answered_id)
        assert answered is not None
        await deliver_team_answer(uow, answered, "Am 13. März.", "cockpit:900", clock.now())
        await uow.commit()

    def factory() -> FakeUnitOfWork:
        return FakeUnitOfWork(store)

    asked = clock.now()
    for later in (timedelta(hours=23), timedelta(days=1), timedelta(days=2, hours=23, minutes=59)):  # to Monday
        assert await remind_team(factory, asked + later, AGENTS) == 0, later  # Saturday, Sunday are no working days
    monday = asked + timedelta(days=3)
    assert await remind_team(factory, monday, AGENTS) == 1
    assert await remind_team(factory, monday + timedelta(days=1), AGENTS) == 0  # not twice
    reminders = _outbox(store, "team.agent_reminder")
    assert sorted(m.recipient.chat_id for m in reminders) == [OWN_AGENT, COLLEAGUE]
    assert all(m.reply.values["id"] == question_id and m.reply.buttons[0][0].data == f"tq:answer:{question_id}"
               for m in reminders)
    assert store.questions[question_id].reminded_at == monday
    assert store.questions[answered_id].reminded_at is None
