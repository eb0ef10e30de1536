"""Questions to the cluster team (issue 13, point 5): what young people and parents asked the team with
"Frag das Cluster-Team" – open ones first with their age, answered ones with the answer – one
question with an answer form, and an answered question turned into a FAQ entry of the cluster.

The team sees the question and nothing else of the person (flows/domain/question.py): no name, no
chat, no user id. An answer goes to the person through the outbox (flows/delivery/team_questions.py),
exactly as an answer given in Telegram; of two agents answering at once, the first one's counts and
the second keeps what was typed. A FAQ entry is checked by the content pack's loader like every
cockpit edit and is in the bot's search at once (storage/content_edits.py `create_faq`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlmodel import col

from cockpit import forms
from cockpit.web import Agent, agent_of, cockpit_of, not_found, page, see_other
from content.schema import FAQ_ANSWER_MAX, FAQ_QUESTION_MAX
from flows.delivery.team_questions import deliver_team_answer
from flows.domain.question import TEAM_ANSWER_MAX, Question, TeamState
from storage.content_edits import AUDIT_TEXT_MAX, ContentEditor, EditRejected, FaqExists, NotAnswered, NotFound
from storage.questions import SqlQuestionRepository
from storage.tables import ClusterRow, FaqRow

BASE = "/fragen"
AUDIENCES = ("teens", "parents", "both")
FAQ_TEXTS = {"question": FAQ_QUESTION_MAX, "answer_du": FAQ_ANSWER_MAX, "answer_sie": FAQ_ANSWER_MAX}
VARIANTS_MAX = 10  # question variants taken from the form (the pack sets no limit; more is a mistake)
SOURCE_TITLE_MAX = 200
SOURCE_URL_MAX = 500


def editor(request: web.Request) -> ContentEditor:
    cockpit = cockpit_of(request)
    return ContentEditor(cockpit.app.uow_factory, cockpit.app.clock, cockpit.places)


def _id(request: web.Request) -> int | None:
    raw = request.match_info["id"]
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None


def visible(question: Question | None, agent: Agent) -> bool:
    """The agent's cluster's question, sent to the team (a question nobody asked to send is not theirs)."""
    return question is not None and question.cluster == agent.cluster and question.team != TeamState.NONE


def age(since: datetime | None, now: datetime) -> tuple[int, str]:
    """How long a question waits, as the page says it: (n, "minutes" | "hours" | "days")."""
    if since is None:
        return 0, "minutes"
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return seconds // 60, "minutes"
    if seconds < 86400:
        return seconds // 3600, "hours"
    return seconds // 86400, "days"


def suggested_audience(question: Question) -> str:
    """Who the FAQ entry is mainly for: the asker's audience, else their form of address."""
    return question.audience or ("parents" if question.form == "sie" else "teens")


async def _faq_states(request: web.Request, slugs: list[str]) -> dict[str, bool]:
    """FAQ slug -> live (False: archived, e.g. by a content load); missing slugs are gone."""
    if not slugs:
        return {}
    async with cockpit_of(request).reads() as session:
        rows = await session.execute(select(col(FaqRow.slug), col(FaqRow.archived)).where(col(FaqRow.slug).in_(slugs)))
        return {slug: not archived for slug, archived in rows.tuples().all()}


async def overview(request: web.Request) -> web.Response:
    agent, cockpit = agent_of(request), cockpit_of(request)
    async with cockpit.reads() as session:
        questions = await SqlQuestionRepository(session).for_team(agent.cluster)
    now = cockpit.app.clock.now()
    open_ = [q for q in questions if q.team == TeamState.OPEN]
    answered = [q for q in questions if q.team == TeamState.ANSWERED]
    faqs = await _faq_states(request, [q.faq_slug for q in answered if q.faq_slug])
    return page(request, "questions.html", {"open": open_, "answered": answered, "faqs": faqs, "now": now,
                                            "age": lambda q: age(q.team_asked_at, now)})


async def _website(request: web.Request, cluster: str) -> str:
    async with cockpit_of(request).reads() as session:
        data = (await session.execute(select(col(ClusterRow.data)).where(col(ClusterRow.slug) == cluster))).scalars().first()
    website = (data or {}).get("website")
    return website if isinstance(website, str) and website.startswith("https://") else ""


async def _faq_values(request: web.Request, question: Question) -> dict[str, Any]:
    """The FAQ form as first shown: the question, the team's answer in both forms of address (the agent
    adapts du/Sie), the audience from the asker, the cluster's own website as the source if it has one."""
    agent = agent_of(request)
    website = await _website(request, agent.cluster)
    answer = question.answer or ""
    return {"question": question.text[:FAQ_QUESTION_MAX], "variants": "", "answer_du": answer,
            "answer_sie": answer, "audience": suggested_audience(question),
            "sources.title": agent.cluster_name if website else "", "sources.url": website}


async def detail(request: web.Request, *, typed_answer: str = "", answer_error: str = "", raced: bool = False,
                 faq_typed: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
                 lengths: dict[str, tuple[int, int]] | None = None, status: int = 200) -> web.Response:
    """One question. `raced`: a colleague answered while this agent typed (`typed_answer` is kept)."""
    agent, cockpit = agent_of(request), cockpit_of(request)
    question_id = _id(request)
    if question_id is None:
        return not_found(request)
    async with cockpit.reads() as session:
        question = await SqlQuestionRepository(session).get(question_id)
    if question is None or not visible(question, agent):
        return not_found(request)
    now = cockpit.app.clock.now()
    faq_live = (await _faq_states(request, [question.faq_slug])).get(question.faq_slug) if question.faq_slug \
        else None
    faq_values = faq_typed if faq_typed is not None else \
        (await _faq_values(request, question) if question.team == TeamState.ANSWERED else {})
    return page(request, "question.html", {
        "question": question, "age": age(question.team_asked_at, now), "typed_answer": typed_answer,
        "answer_error": answer_error, "raced": raced, "answer_max": TEAM_ANSWER_MAX, "faq_live": faq_live,
        "values": faq_values, "errors": errors or {}, "lengths": lengths or {}, "audiences": AUDIENCES,
        "limits": FAQ_TEXTS, "own": question.answered_by == agent.by}, status=status)


async def show(request: web.Request) -> web.Response:
    return await detail(request)


async def answer(request: web.Request) -> web.StreamResponse:
    """The team's answer to the person, through the outbox; recorded in the audit log."""
    agent, cockpit = agent_of(request), cockpit_of(request)
    question_id = _id(request)
    if question_id is None:
        return not_found(request)
    form = await request.post()
    text = forms.text(form, "answer", TEAM_ANSWER_MAX * 4)  # longer than allowed: said so, and kept
    if not text or len(text) > TEAM_ANSWER_MAX:
        return await detail(request, typed_answer=text, answer_error="too_long" if text else "required",
                            status=422)
    now = cockpit.app.clock.now()
    async with cockpit.app.uow_factory() as uow:
        question = await uow.questions.get(question_id)
        if question is None or not visible(question, agent):
            return not_found(request)
        try:
            delivered = await deliver_team_answer(uow, question, text, agent.by, now)
        except ValueError:  # the service's own length rules (checked above already)
            return await detail(request, typed_answer=text, answer_error="invalid", status=422)
        if delivered:
            await uow.cockpit.record(now, agent.by, agent.cluster, "question_answered", f"question:{question_id}",
                                     {"answer": text if len(text) <= AUDIT_TEXT_MAX
                                      else text[:AUDIT_TEXT_MAX - 1] + "…"})
            await uow.commit()
    if not delivered:  # answered meanwhile (by a colleague, in Telegram or here): nothing sent twice
        return await detail(request, typed_answer=text, raced=True, status=409)
    raise see_other(f"{BASE}/{question_id}", "answer_sent")


def _faq_fields(form: forms.Form) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the pack entry's fields as typed, the form's values to show again)."""
    typed: dict[str, Any] = {name: forms.text(form, name, limit * 4) for name, limit in FAQ_TEXTS.items()}
    typed["variants"] = forms.text(form, "variants", (FAQ_QUESTION_MAX + 1) * VARIANTS_MAX * 2)
    typed["audience"] = forms.text(form, "audience", 16)
    typed["sources.title"] = forms.text(form, "sources.title", SOURCE_TITLE_MAX * 2)
    typed["sources.url"] = forms.text(form, "sources.url", SOURCE_URL_MAX)
    fields: dict[str, Any] = {name: typed[name] for name in (*FAQ_TEXTS, "audience")}
    fields["variants"] = [line.strip() for line in typed["variants"].splitlines() if line.strip()]
    fields["sources"] = [{"title": typed["sources.title"], "url": typed["sources.url"]}]
    return fields, typed


def _too_long(fields: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Field -> (limit, length) of texts over the pack's limits: said with numbers, before the loader."""
    lengths = {name: (limit, len(fields[name])) for name, limit in FAQ_TEXTS.items() if len(fields[name]) > limit}
    longest = max((len(v) for v in fields["variants"]), default=0)
    if longest > FAQ_QUESTION_MAX:
        lengths["variants"] = (FAQ_QUESTION_MAX, longest)
    elif len(fields["variants"]) > VARIANTS_MAX:
        lengths["variants"] = (VARIANTS_MAX, len(fields["variants"]))  # lines, not characters (the page says)
    if len(fields["sources"][0]["title"]) > SOURCE_TITLE_MAX:
        lengths["sources.title"] = (SOURCE_TITLE_MAX, len(fields["sources"][0]["title"]))
    return lengths


def _messages(request: web.Request, rejected: EditRejected) -> dict[str, list[str]]:
    """Field -> the reasons in words; "sources" (none given) is shown at the source's address."""
    catalog = cockpit_of(request).app.catalog
    out: dict[str, list[str]] = {}
    for field, codes in rejected.by_field.items():
        where = "sources.url" if field == "sources" else field if field in (
            *FAQ_TEXTS, "variants", "audience", "sources.title", "sources.url") else ""
        out.setdefault(where, []).extend(catalog.render(f"content_edit.error.{code}", formal=True) for code in codes)
    return out


async def make_faq(request: web.Request) -> web.StreamResponse:
    """The answered question as a FAQ entry of the cluster; a second submit changes nothing."""
    agent = agent_of(request)
    question_id = _id(request)
    if question_id is None:
        return not_found(request)
    fields, typed = _faq_fields(await request.post())
    lengths = _too_long(fields)
    try:
        if lengths:  # only if the question may be seen here at all: create_faq checks that first
            async with cockpit_of(request).reads() as session:
                question = await SqlQuestionRepository(session).get(question_id)
            if not visible(question, agent):
                raise NotFound(f"question:{question_id}")
            return await detail(request, faq_typed=typed, lengths=lengths, status=422)
        await editor(request).create_faq(agent.by, agent.cluster, question_id, fields)
    except NotFound:
        return not_found(request)
    except NotAnswered:
        raise see_other(f"{BASE}/{question_id}", "not_answered") from None
    except FaqExists:
        raise see_other(f"{BASE}/{question_id}", "faq_exists") from None
    except EditRejected as rejected:
        return await detail(request, faq_typed=typed, errors=_messages(request, rejected), status=422)
    raise see_other(f"{BASE}/{question_id}", "faq_created")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(BASE, overview)
    router.add_get(BASE + "/{id}", show)
    router.add_post(BASE + "/{id}", answer)
    router.add_post(BASE + "/{id}/faq", make_faq)
