"""Free questions, answered from the bot's own knowledge (issue 13).

Typed text that names nothing the menu knows (flows/conversations/menu.py) is a question: the search
over the bot's pages (FAQ entries of the pack, professions, clusters, companies, events, offers;
storage/search.py) finds the best matches. Without a language model (the default) the best FAQ
entry is shown with its sources, or the best pages are offered as "Meintest du …?" buttons into the
bot's own pages; nothing is made up. Personal data typed into a question is removed before the search
(and before anything could ever reach a model); a question is at most QUESTION_MAX_CHARS characters.
"""
from __future__ import annotations

from flows.core.context import StepContext, button, reply
from flows.core.model import Button, ConversationState, Reply, Turn
from flows.core.payloads import COMPANIES, EVENTS, MENU, PROFESSIONS, QUESTIONS, VACANCIES, PayloadError
from flows.domain.answers import scrub
from flows.domain.knowledge import FaqInfo, KnowledgeHit
from flows.domain.probes import is_probe

NAME = "questions"
MAX_QUESTION = 500  # default of QUESTION_MAX_CHARS: longer text is a letter, not a question
HITS = 5
AUDIENCE = {"teen": "teens", "parent": "parents"}  # a role -> the FAQ audience it reads


def _formal(ctx: StepContext) -> bool:
    return ctx.profile.role in ("parent", "company", "other")


# The bot's own page of each kind of hit: the flow's codec and the action that opens it.
PAGES = {"faq": (QUESTIONS, "f"), "profession": (PROFESSIONS, "show"), "event": (EVENTS, "s"),
         "offer": (VACANCIES, "o"), "company": (COMPANIES, "s")}


def page_button(hit: KnowledgeHit) -> Button | None:
    """A button into the bot's own page of a hit (a cluster: its companies); None if there is none."""
    try:
        if hit.kind == "cluster":
            data = COMPANIES.pack("l", hit.ref, 0)
        elif hit.kind in PAGES:
            codec, action = PAGES[hit.kind]
            data = codec.pack(action, hit.ref)
        else:
            return None
    except PayloadError:  # a ref that cannot ride in a button (too long): no button rather than a crash
        return None
    return button("btn.questions.page", data, kind=hit.kind, title=hit.title[:40])


class QuestionsFlow:
    name = NAME
    payloads = QUESTIONS

    def __init__(self, max_chars: int = MAX_QUESTION) -> None:
        """max_chars: QUESTION_MAX_CHARS, the longest question read."""
        self.max_chars = max_chars

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        return ctx.turn(reply("questions.how"), state=ConversationState())

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(QUESTIONS)
        if press is None or press.action != "f":
            return None
        entry = await ctx.uow.knowledge.faq(press.arg())
        if entry is None:  # an old button: the entry left the pack
            return ctx.turn(reply("questions.gone", self._menu()), state=ConversationState())
        return ctx.turn(self._faq(ctx, entry), state=ConversationState())

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return []

    async def faq_answer(self, ctx: StepContext, text: str) -> Turn | None:
        """A question a FAQ entry answers best (or one too long to read); None: let the menu read it for
        a profession, a town or a menu word first."""
        if (refused := self._refused(ctx, text)) is not None:
            return refused
        hits = await self._search(ctx, text)
        if hits and hits[0].kind == "faq" and (entry := await ctx.uow.knowledge.faq(hits[0].ref)) is not None:
            return ctx.turn(self._faq(ctx, entry, [b for h in hits[1:] if (b := page_button(h)) is not None]),
                            state=ConversationState())
        return None

    def _refused(self, ctx: StepContext, text: str) -> Turn | None:
        """Too long to read, or after what the bot must not give or do (flows/domain/probes.py)."""
        if len(text) > self.max_chars:
            return ctx.turn(reply("questions.too_long", limit=self.max_chars), state=ConversationState())
        if is_probe(text):
            return ctx.turn(reply("questions.refused", self._menu()), state=ConversationState())
        return None

    async def _search(self, ctx: StepContext, text: str) -> list[KnowledgeHit]:
        query = scrub(text)  # personal data out before anything is searched, stored or sent
        return await ctx.uow.knowledge.search(query, limit=HITS, cluster=ctx.profile.cluster,
                                              audience=AUDIENCE.get(ctx.profile.role or ""))

    async def answer(self, ctx: StepContext, text: str) -> Turn:
        """A typed question: the best FAQ entry, or the best pages to choose from."""
        if (refused := self._refused(ctx, text)) is not None:
            return refused
        hits = await self._search(ctx, text)
        if not hits:
            return ctx.turn(reply("questions.nothing", self._menu()), state=ConversationState())
        best = hits[0]
        others = [b for h in hits[1:] if (b := page_button(h)) is not None]
        if best.kind == "faq" and (entry := await ctx.uow.knowledge.faq(best.ref)) is not None:
            found = self._faq(ctx, entry, others)
            return ctx.turn(found, state=ConversationState())
        buttons = [[b] for h in hits if (b := page_button(h)) is not None]
        buttons.append([button("btn.menu.back", MENU.pack("open"))])
        return ctx.turn(reply("questions.did_you_mean", buttons, count=len(buttons) - 1),
                        state=ConversationState())

    def _faq(self, ctx: StepContext, entry: FaqInfo, others: list[Button] | None = None) -> Reply:
        rows = [[b] for b in (others or [])[:HITS - 1]]
        rows.append([button("btn.menu.back", MENU.pack("open"))])  # "Meintest du …?": the other hits above
        return reply("questions.faq", rows, question=entry.question, answer=entry.answer(_formal(ctx)),
                     sources=[s.model_dump() for s in entry.sources], more=len(rows) > 1)

    @staticmethod
    def _menu() -> list[list[Button]]:
        return [[button("btn.menu.help", MENU.pack("help")), button("btn.menu.back", MENU.pack("open"))]]
