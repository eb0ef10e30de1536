"""What the bot shows for a free question (issue 13): a FAQ entry of the pack, the best pages as
"Meintest du …?" buttons, or a language model's checked answer with its sources. Built here because
both the conversation (flows/conversations/questions.py, offline) and the answer worker
(flows/jobs/answers.py, model answers) send them. Every answer offers "Frag das Cluster-Team" for the
stored question."""
from __future__ import annotations

from flows.core.context import button, reply
from flows.core.model import Button, Reply
from flows.core.payloads import COMPANIES, EVENTS, MENU, PROFESSIONS, QUESTIONS, TEAM, VACANCIES, PayloadError
from flows.domain.answers import CheckedAnswer
from flows.domain.knowledge import FaqInfo, KnowledgeHit

MORE_PAGES = 4  # "Meintest du …?" buttons under an answer

# The bot's own page of each kind of hit: the flow's codec and the action that opens it.
PAGES = {"faq": (QUESTIONS, "f"), "profession": (PROFESSIONS, "show"), "event": (EVENTS, "s"),
         "offer": (VACANCIES, "o"), "company": (COMPANIES, "s")}


def page_button(kind: str, ref: str, title: str) -> Button | None:
    """A button into the bot's own page of a hit (a cluster: its companies); None if there is none."""
    try:
        if kind == "cluster":
            data = COMPANIES.pack("l", ref, 0)
        elif kind in PAGES:
            codec, action = PAGES[kind]
            data = codec.pack(action, ref)
        else:
            return None
    except PayloadError:  # a ref that cannot ride in a button (too long): no button rather than a crash
        return None
    return button("btn.questions.page", data, kind=kind, title=title[:40])


def hit_buttons(hits: list[KnowledgeHit]) -> list[Button]:
    return [b for h in hits if (b := page_button(h.kind, h.ref, h.title)) is not None]


def closing_rows(question_id: int | None) -> list[list[Button]]:
    """Under every answer: the cluster team for this question (if it is stored), and the menu."""
    rows = [] if question_id is None else [[button("btn.team.ask", TEAM.pack("ask", question_id))]]
    rows.append([button("btn.menu.back", MENU.pack("open"))])
    return rows


def faq_reply(entry: FaqInfo, formal: bool, others: list[Button], question_id: int | None,
              fallback: bool = False) -> Reply:
    """A FAQ entry with its sources; the other hits below ("Meintest du etwas anderes?").
    fallback: the model could not answer, so the bot says this is its own find."""
    rows = [[b] for b in others[:MORE_PAGES]]
    return reply("questions.faq", rows + closing_rows(question_id), question=entry.question,
                 answer=entry.answer(formal), sources=[s.model_dump() for s in entry.sources], more=bool(rows),
                 fallback=fallback)


def pages_reply(hits: list[KnowledgeHit], question_id: int | None, fallback: bool = False) -> Reply:
    """The best pages to choose from."""
    rows = [[b] for b in hit_buttons(hits)]
    return reply("questions.did_you_mean", rows + closing_rows(question_id), count=len(rows), fallback=fallback)


def nothing_reply(question_id: int | None) -> Reply:
    rows = closing_rows(question_id)
    rows[-1].insert(0, button("btn.menu.help", MENU.pack("help")))
    return reply("questions.nothing", rows)


def model_reply(answer: CheckedAnswer, question: str, question_id: int | None) -> Reply:
    """A checked model answer, labelled as such, with a button into each cited page."""
    rows = [[b] for p in answer.sources if (b := page_button(p.kind, p.ref, p.title)) is not None]
    return reply("questions.model", rows + closing_rows(question_id), question=question, answer=answer.text,
                 sources=[{"title": p.title} for p in answer.sources])


def not_known_reply(hits: list[KnowledgeHit], question_id: int | None) -> Reply:
    """The model found no answer in the passages: the pages themselves, and the team."""
    rows = [[b] for b in hit_buttons(hits)[:MORE_PAGES]]
    return reply("questions.not_known", rows + closing_rows(question_id), more=bool(rows))


def out_of_scope_reply() -> Reply:
    return reply("questions.refused", [[button("btn.menu.help", MENU.pack("help")),
                                        button("btn.menu.back", MENU.pack("open"))]])
