"""Issue 13, point 5: the cockpit's "Fragen" page – the cluster team's questions (open ones first, with
their age), answering one (the answer reaches the asker through the outbox; a colleague's answer
meanwhile wins and nothing is lost), and an answer turned into a FAQ entry of the cluster that the
bot's search finds at once. Nothing of another cluster's questions; forms without the CSRF token refused."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from content import DEMO_DIR, default_directory, load_pack
from flows.core.model import Profile
from flows.domain.question import TEAM_ANSWER_MAX, Question, TeamState
from storage import search
from storage.cockpit import AuditEntry
from storage.content_sync import sync_pack
from storage.tables import FaqRow, OutboxRow
from tests.cockpit.conftest import CLUSTER, OTHER_AGENT, OTHER_CLUSTER, SECOND_AGENT, Browser, CockpitUnderTest
from tests.cockpit.test_offers_pages import form_fields

ASKER, OTHER_ASKER = 4711, 4712  # chat ids of people who asked (never shown in the cockpit)
PRAKTIKUM = "Darf ich mein Schülerpraktikum im Betrieb von meinem Onkel in Zittau machen?"
ANSWER = "Ja, das geht, wenn deine Schule zustimmt. Frag am besten deine Klassenlehrerin nach dem Formular."


async def _asker(cockpit: CockpitUnderTest, chat_id: int, cluster: str) -> int:
    now = cockpit.clock.now()
    async with cockpit.app.uow_factory() as uow:
        profile = await uow.users.get("telegram", chat_id) or await uow.users.save(Profile(channel="telegram", chat_id=chat_id, role="teen", cluster=cluster,
                                               onboarded=True, created_at=now, last_seen_at=now))
        await uow.commit()
    assert profile.id is not None
    return profile.id


async def _question(cockpit: CockpitUnderTest, text: str, *, cluster: str = CLUSTER, user: int | None = None,
                    team: TeamState = TeamState.OPEN, days_ago: float = 0, form: str = "du",
                    reminded: bool = False, answer: str | None = None) -> int:
    user_id = user if user is not None else await _asker(cockpit, ASKER, cluster)
    now = cockpit.clock.now()
    asked = now - timedelta(days=days_ago)
    question = Question(user_id=user_id, text=text, cluster=cluster, form=form,  # type: ignore[arg-type]
                        audience="parents" if form == "sie" else "teens", asked_at=asked, team=team,
                        team_asked_at=asked if team != TeamState.NONE else None,
                        reminded_at=asked + timedelta(days=1) if reminded else None)
    if team == TeamState.ANSWERED:
        question.answer, question.answered_by, question.answered_at = answer or ANSWER, "telegram:901", now
    async with cockpit.app.uow_factory() as uow:
        await uow.questions.add(question)
        await uow.commit()
    assert question.id is not None
    return question.id


async def _stored(cockpit: CockpitUnderTest, question_id: int) -> Question:
    async with cockpit.app.uow_factory() as uow:
        question = await uow.questions.get(question_id)
    assert question is not None
    return question


async def _answers_sent(cockpit: CockpitUnderTest) -> list[int]:
    async with cockpit.app.uow_factory() as uow:
        rows = (await uow.session.execute(select(col(OutboxRow.chat_id), col(OutboxRow.reply)))).tuples().all()
    return sorted(chat_id for chat_id, reply in rows if reply.get("key") == "team.answer")


async def _audit(cockpit: CockpitUnderTest, action: str, cluster: str = CLUSTER) -> list[AuditEntry]:
    async with cockpit.app.uow_factory() as uow:
        return [e for e in await uow.cockpit.audit(cluster, limit=100) if e.action == action]


async def _faqs(cockpit: CockpitUnderTest) -> list[tuple[str, str, dict[str, Any]]]:
    """The FAQ entries the audit log says were made in the cockpit."""
    made = [a.subject.removeprefix("faq:") for a in await _audit(cockpit, "faq.create")]
    async with cockpit.app.uow_factory() as uow:
        rows = await uow.session.execute(select(col(FaqRow.slug), col(FaqRow.audience), col(FaqRow.data))
                                         .where(col(FaqRow.slug).in_(made)))
        return [(slug, audience, data) for slug, audience, data in rows.tuples().all()]


async def _faq_count(cockpit: CockpitUnderTest) -> int:
    async with cockpit.app.uow_factory() as uow:
        return len((await uow.session.execute(select(col(FaqRow.id)))).all())


async def test_the_list_shows_open_questions_first_with_their_age_and_nothing_of_other_clusters(
        cockpit: CockpitUnderTest) -> None:
    asker = await _asker(cockpit, ASKER, CLUSTER)
    answered = await _question(cockpit, "Was verdient man als Dachdecker im ersten Jahr?", user=asker,
                               team=TeamState.ANSWERED, answer="Im ersten Jahr mindestens 724 Euro brutto.")
    recent = await _question(cockpit, "Gibt es in Weißwasser eine Berufsschule?", user=asker, days_ago=0.2)
    oldest = await _question(cockpit, "Wie lange dauert die Pflegeausbildung?", user=asker, days_ago=2.5,
                             reminded=True, form="sie")
    await _question(cockpit, "Eine Frage, die niemand ans Team geschickt hat", user=asker, team=TeamState.NONE)
    other = await _asker(cockpit, OTHER_ASKER, OTHER_CLUSTER)
    await _question(cockpit, "Eine Frage an TAB_MINT", cluster=OTHER_CLUSTER, user=other)

    browser = await cockpit.signed_in()
    response = await browser.get("/fragen")
    html = await response.text()
    assert response.status == 200
    assert '<a href="/fragen"' in html and "Fragen" in html  # in the nav
    open_part, answered_part = html.split('id="answered-heading"')
    assert open_part.index(f"/fragen/{oldest}") < open_part.index(f"/fragen/{recent}")  # oldest first
    assert "seit 2 Tagen" in open_part and "seit 4 Stunden" in open_part
    assert "verschickt" in open_part  # the oldest was reminded
    assert f"/fragen/{answered}" in answered_part and "mindestens 724 Euro" in answered_part
    assert f"/fragen/{answered}" not in open_part
    assert "niemand ans Team" not in html and "TAB_MINT" not in html.split("<main")[1]
    assert str(ASKER) not in html and f">{asker}<" not in html  # nothing of the askers


async def test_another_clusters_agent_gets_not_found_for_the_question_and_its_forms(
        cockpit: CockpitUnderTest) -> None:
    open_id = await _question(cockpit, PRAKTIKUM)
    answered_id = await _question(cockpit, "Was ist ein Cluster?", team=TeamState.ANSWERED)
    unsent = await _question(cockpit, "Nicht ans Team geschickt", team=TeamState.NONE)
    stranger = await cockpit.signed_in(OTHER_AGENT)

    assert PRAKTIKUM not in await (await stranger.get("/fragen")).text()
    for path in (f"/fragen/{open_id}", f"/fragen/{answered_id}", "/fragen/999999", "/fragen/abc"):
        assert (await stranger.get(path)).status == 404, path
    assert (await stranger.post(f"/fragen/{open_id}", {"answer": "Von woanders"})).status == 404
    faq = {"question": "Was ist ein Cluster?", "answer_du": "x", "answer_sie": "x", "audience": "both",
           "sources.title": "Quelle", "sources.url": "https://www.bmwk.de"}
    assert (await stranger.post(f"/fragen/{answered_id}/faq", faq)).status == 404
    assert (await stranger.post(f"/fragen/{answered_id}/faq", {**faq, "answer_du": "x" * 800})).status == 404
    assert (await _stored(cockpit, open_id)).team == TeamState.OPEN
    assert (await _stored(cockpit, answered_id)).faq_slug is None
    assert await _answers_sent(cockpit) == []
    # a question nobody sent to the team is not the team's, not even its own cluster's
    assert (await (await cockpit.signed_in()).get(f"/fragen/{unsent}")).status == 404


async def test_an_answer_reaches_the_asker_through_the_outbox_and_is_recorded(cockpit: CockpitUnderTest) -> None:
    question_id = await _question(cockpit, PRAKTIKUM)
    browser = await cockpit.signed_in()
    page = await (await browser.get(f"/fragen/{question_id}")).text()
    assert 'id="answer-form"' in page and PRAKTIKUM in page and 'id="faq-form"' not in page
    cockpit.clock.advance(hours=1, minutes=5)
    assert "wartet seit 1 Stunde." in await (await browser.get(f"/fragen/{question_id}")).text()

    response = await browser.post(f"/fragen/{question_id}", {"answer": f"  {ANSWER}  "})
    assert response.status == 303 and response.headers["Location"] == f"/fragen/{question_id}?hinweis=answer_sent"
    assert await _answers_sent(cockpit) == [ASKER]
    stored = await _stored(cockpit, question_id)
    assert (stored.team, stored.answer, stored.answered_by) == (TeamState.ANSWERED, ANSWER, "telegram:900")
    [entry] = await _audit(cockpit, "question_answered")
    assert (entry.actor, entry.subject) == ("telegram:900", f"question:{question_id}")
    page = await (await browser.get(f"/fragen/{question_id}?hinweis=answer_sent")).text()
    assert 'id="question-notice"' in page and ANSWER in page and "Beantwortet von Ihnen" in page
    assert 'id="answer-form"' not in page and 'id="faq-form"' in page


async def test_an_answer_without_the_csrf_token_is_refused(cockpit: CockpitUnderTest) -> None:
    question_id = await _question(cockpit, PRAKTIKUM)
    browser = await cockpit.signed_in()
    await browser.get(f"/fragen/{question_id}")
    assert (await browser.post(f"/fragen/{question_id}", {"answer": ANSWER}, csrf=False)).status == 403
    assert (await browser.post(f"/fragen/{question_id}", [("answer", ANSWER), ("csrf", "forged")],
                               csrf=False)).status == 403
    assert (await _stored(cockpit, question_id)).team == TeamState.OPEN and await _answers_sent(cockpit) == []


async def test_a_colleague_answering_meanwhile_wins_and_the_typed_answer_is_kept(cockpit: CockpitUnderTest) -> None:
    question_id = await _question(cockpit, PRAKTIKUM)
    mine, colleague = await cockpit.signed_in(), await cockpit.signed_in(SECOND_AGENT)
    await mine.get(f"/fragen/{question_id}")
    await colleague.get(f"/fragen/{question_id}")
    assert (await colleague.post(f"/fragen/{question_id}", {"answer": ANSWER})).status == 303

    late = "Meine ausführliche Antwort, an der ich lange geschrieben habe."
    response = await mine.post(f"/fragen/{question_id}", {"answer": late})
    html = await response.text()
    assert response.status == 409
    assert 'id="raced"' in html and late in html and ANSWER in html
    assert await _answers_sent(cockpit) == [ASKER]  # one answer only
    stored = await _stored(cockpit, question_id)
    assert (stored.answer, stored.answered_by) == (ANSWER, "telegram:901")
    assert len(await _audit(cockpit, "question_answered")) == 1


async def test_an_empty_or_too_long_answer_is_a_field_error_and_the_text_is_kept(cockpit: CockpitUnderTest) -> None:
    question_id = await _question(cockpit, PRAKTIKUM)
    browser = await cockpit.signed_in()
    await browser.get(f"/fragen/{question_id}")
    empty = await browser.post(f"/fragen/{question_id}", {"answer": "   "})
    assert empty.status == 422 and 'id="answer-error"' in await empty.text()
    long = "Sehr lang. " * (TEAM_ANSWER_MAX // 10)
    response = await browser.post(f"/fragen/{question_id}", {"answer": long})
    html = await response.text()
    assert response.status == 422 and 'id="answer-error"' in html and f"jetzt {len(long.strip())}" in html
    assert long.strip() in html  # kept, to shorten
    assert (await _stored(cockpit, question_id)).team == TeamState.OPEN and await _answers_sent(cockpit) == []


async def _answered_and_open(cockpit: CockpitUnderTest, browser: Browser) -> tuple[int, str]:
    question_id = await _question(cockpit, PRAKTIKUM)
    await browser.get(f"/fragen/{question_id}")
    assert (await browser.post(f"/fragen/{question_id}", {"answer": ANSWER})).status == 303
    return question_id, await (await browser.get(f"/fragen/{question_id}")).text()


async def test_an_answer_becomes_a_faq_entry_the_bots_search_finds_at_once(cockpit: CockpitUnderTest) -> None:
    before = await _faq_count(cockpit)
    browser = await cockpit.signed_in()
    question_id, html = await _answered_and_open(cockpit, browser)
    prefilled = dict(form_fields(html, "faq-form"))
    assert prefilled["question"] == PRAKTIKUM and prefilled["answer_du"] == prefilled["answer_sie"] == ANSWER
    assert prefilled["audience"] == "teens"  # asked with "du"
    assert prefilled["sources.url"] == ""  # the demo clusters have no website of their own
    fields = form_fields(html, "faq-form", answer_sie=ANSWER.replace("deine", "Ihre").replace("Frag", "Fragen Sie"),
                         variants="Praktikum beim Onkel?\nKann ich beim Verwandten ein Praktikum machen?",
                         **{"sources.title": "Schülerbetriebspraktikum (Sächsisches Kultusministerium)",
                            "sources.url": "https://www.schule.sachsen.de/schuelerbetriebspraktikum"})
    response = await browser.post(f"/fragen/{question_id}/faq", fields)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == f"/fragen/{question_id}?hinweis=faq_created"

    slug = (await _stored(cockpit, question_id)).faq_slug
    assert slug is not None
    [(made, audience, data)] = await _faqs(cockpit)
    assert made == slug and audience == "teens" and data["clusters"] == [CLUSTER]
    assert data["variants"] == ["Praktikum beim Onkel?", "Kann ich beim Verwandten ein Praktikum machen?"]
    async with cockpit.app.uow_factory() as uow:
        hits = await search.search(uow.session, "Praktikum bei meinem Onkel", cluster=CLUSTER)
        elsewhere = await search.search(uow.session, "Praktikum bei meinem Onkel", cluster=OTHER_CLUSTER)
        known = await uow.knowledge.search("Schülerpraktikum beim Onkel", cluster=CLUSTER)
    assert hits and hits[0].id == f"faq:{slug}"
    assert known and known[0].id == f"faq:{slug}"
    assert f"faq:{slug}" not in [h.id for h in elsewhere]  # only the cluster's own users get it
    [entry] = await _audit(cockpit, "faq.create")
    assert (entry.actor, entry.subject, entry.detail["question"]) == ("telegram:900", f"faq:{slug}", question_id)

    page = await (await browser.get(f"/fragen/{question_id}?hinweis=faq_created")).text()
    assert 'id="faq-made"' in page and slug in page and 'id="faq-form"' not in page
    assert slug in await (await browser.get("/fragen")).text()

    again = await browser.post(f"/fragen/{question_id}/faq", fields)  # the same form sent twice
    assert again.status == 303 and again.headers["Location"] == f"/fragen/{question_id}?hinweis=faq_exists"
    assert await _faq_count(cockpit) == before + 1 and len(await _audit(cockpit, "faq.create")) == 1

    report = await sync_pack(cockpit.app.uow_factory, load_pack(DEMO_DIR, default_directory()), cockpit.clock)
    assert report.kept["faq"] == [slug]  # the next content load keeps the cockpit's entry
    async with cockpit.app.uow_factory() as uow:
        assert (await uow.knowledge.search("Schülerpraktikum beim Onkel", cluster=CLUSTER))[0].id == f"faq:{slug}"


async def test_faq_form_errors_are_shown_at_their_fields_with_the_input_kept(cockpit: CockpitUnderTest) -> None:
    before = await _faq_count(cockpit)
    browser = await cockpit.signed_in()
    question_id, html = await _answered_and_open(cockpit, browser)
    typed_du = "Meine angepasste Antwort für Jugendliche."
    response = await browser.post(f"/fragen/{question_id}/faq", form_fields(
        html, "faq-form", answer_du=typed_du, answer_sie="", **{"sources.title": "Kultusministerium",
                                                                  "sources.url": "http://www.schule.sachsen.de"}))
    page = await response.text()
    assert response.status == 422
    assert 'id="answer_sie-error"' in page and 'id="sources-url-error"' in page
    assert typed_du in page and "Kultusministerium" in page and "http://www.schule.sachsen.de" in page

    too_long = "x" * 701
    response = await browser.post(f"/fragen/{question_id}/faq", form_fields(
        html, "faq-form", answer_du=too_long, **{"sources.title": "Quelle", "sources.url": "https://www.bmbf.de"}))
    page = await response.text()
    assert response.status == 422 and 'id="answer_du-error"' in page and "jetzt 701" in page and too_long in page

    no_source = await browser.post(f"/fragen/{question_id}/faq", form_fields(html, "faq-form"))
    assert no_source.status == 422 and 'id="sources-url-error"' in await no_source.text()
    assert await _faq_count(cockpit) == before and (await _stored(cockpit, question_id)).faq_slug is None
    assert await _audit(cockpit, "faq.create") == []


async def test_an_open_question_cannot_become_a_faq_entry(cockpit: CockpitUnderTest) -> None:
    before = await _faq_count(cockpit)
    question_id = await _question(cockpit, PRAKTIKUM)
    browser = await cockpit.signed_in()
    await browser.get(f"/fragen/{question_id}")
    response = await browser.post(f"/fragen/{question_id}/faq", {
        "question": PRAKTIKUM, "answer_du": "Vielleicht.", "answer_sie": "Vielleicht.", "audience": "teens",
        "sources.title": "Quelle", "sources.url": "https://www.bmbf.de"})
    assert response.status == 303 and response.headers["Location"].endswith("hinweis=not_answered")
    assert await _faq_count(cockpit) == before
