"""`lotse chat`: the same engine in a terminal. Buttons are numbered; works from a pipe."""
from __future__ import annotations

import asyncio
import html
import logging
import re
import sys
from typing import TextIO

from bot.charts import chart_text
from bot.tables import with_table_as_document
from flows.core.engine import Engine, Outcome
from flows.core.model import Button, Event, EventKind, Reply, UserRef
from flows.delivery.dispatcher import OutboxDispatcher
from flows.delivery.outbox import SendResult
from flows.jobs.answers import AnswerWorker
from prompts import Catalog

CHANNEL = "console"
OUTBOX_EVERY_SECONDS = 1.0
log = logging.getLogger(__name__)
TAG_RE = re.compile(r"<[^>]+>")
WORD_RE = re.compile(r"[\W_]+", re.UNICODE)


def html_to_text(markup: str, bold: bool = False) -> str:
    if bold:  # ANSI bold for <b> when talking to a real terminal
        markup = re.sub(r"</?(b|strong)>", lambda m: "\x1b[0m" if m.group(0)[1] == "/" else "\x1b[1m", markup)
    return html.unescape(TAG_RE.sub("", markup))


def _normal(label: str) -> str:
    return WORD_RE.sub(" ", label).strip().casefold()


class ConsoleChat:
    def __init__(self, engine: Engine, catalog: Catalog, out: TextIO, chat_id: int = 1,
                 interactive: bool = False) -> None:
        self._engine = engine
        self._catalog = catalog
        self._out = out
        self._user = UserRef(channel=CHANNEL, chat_id=chat_id)
        self._interactive = interactive
        self._buttons: list[tuple[str, Button]] = []  # (label, button) of the last keyboard shown

    @property
    def is_agent(self) -> bool:
        """A cluster agent (ADMIN_CONSOLE_IDS or `lotse chat --agent`): may use /leads and /einladung."""
        return (CHANNEL, self._user.chat_id) in self._engine.admins

    def to_event(self, line: str) -> Event:
        text = line.strip()
        if text.startswith("/"):
            command, _, payload = text[1:].partition(" ")
            return Event(user=self._user, kind=EventKind.COMMAND, text=command.lower(),
                         payload=payload.strip() or None)
        if text.isdigit() and len(text) < 3:
            # "9" at "Klasse 9" means the class, not option 9; otherwise a number picks an option
            named = [button for label, button in self._buttons
                     if len(label.split()) <= 2 and text in re.findall(r"\d+", label)]
            if len(named) == 1:
                return Event(user=self._user, kind=EventKind.BUTTON, data=named[0].data)
            if 1 <= int(text) <= len(self._buttons):
                return Event(user=self._user, kind=EventKind.BUTTON, data=self._buttons[int(text) - 1][1].data)
        wanted = _normal(text)
        for label, button in self._buttons:
            if wanted and _normal(label) == wanted:
                return Event(user=self._user, kind=EventKind.BUTTON, data=button.data)
        return Event(user=self._user, kind=EventKind.TEXT, text=text)

    def show(self, outcome: Outcome) -> None:
        numbered: list[tuple[str, Button]] = []
        for reply in outcome.replies:
            reply = with_table_as_document(reply, self._catalog, outcome.locale, outcome.formal)
            text = self._catalog.render(reply.key, reply.values, outcome.locale, outcome.formal)
            if reply.photo_file_id is not None:  # a picture stored at Telegram: the terminal cannot show it
                print("[Bild]", file=self._out)
            print(html_to_text(text, bold=self._interactive), file=self._out)
            if reply.chart is not None:
                print(chart_text(reply.chart, self._catalog, outcome.locale), file=self._out)
            if reply.document is not None:
                print(f"--- {reply.document.filename} ---", file=self._out)
                print(reply.document.content.decode("utf-8", errors="replace"), file=self._out)
                print("---", file=self._out)
            rows = []
            for row in reply.buttons:
                cells = []
                for button in row:
                    label = self._catalog.render(button.key, button.values, outcome.locale, outcome.formal)
                    numbered.append((label, button))
                    cells.append(f"[{len(numbered)}] {label}")
                rows.append("   ".join(cells))
            if rows:
                print("\n".join(rows), file=self._out)
            print(file=self._out)
        if numbered:  # older keyboards stay valid only until a new one is shown, as in Telegram
            self._buttons = numbered
        self._out.flush()

    def show_proactive(self, outcome: Outcome) -> None:
        """A message the bot starts (a reminder): printed between the user's lines."""
        if self._interactive:
            print("\r", end="", file=self._out)
        self.show(outcome)
        if self._interactive:
            print("> ", end="", file=self._out, flush=True)

    async def handle_line(self, line: str) -> None:
        if not line.strip():
            return
        self.show(await self._engine.handle(self.to_event(line)))

    async def run(self, stream: TextIO, outbox: OutboxDispatcher | None = None,
                  answers: AnswerWorker | None = None) -> None:
        """Read lines until end of input; meanwhile `outbox` delivers due messages for this user and
        `answers` (with OPENAI_API_KEY) answers free questions with the model."""
        loop = asyncio.get_running_loop()
        if self._interactive:
            print(self._catalog.render("console.greeting", {}, "de") + "\n", file=self._out)
            if self.is_agent:
                print(self._catalog.render("console.agent", {}, "de") + "\n", file=self._out)
        self.show(await self._engine.resume(self._user))
        done = asyncio.Event()
        delivery = asyncio.create_task(_deliver_until(outbox, done, answers)) if outbox is not None else None
        try:
            while True:
                if self._interactive:
                    print("> ", end="", file=self._out, flush=True)
                line = await loop.run_in_executor(None, stream.readline)
                if line == "":  # end of input: leave cleanly
                    break
                await self.handle_line(line)
        finally:
            done.set()
            if delivery is not None:
                await delivery
        if self._interactive:
            print("\n" + self._catalog.render("console.goodbye", {}, "de"), file=self._out)


async def _deliver_until(outbox: OutboxDispatcher, done: asyncio.Event, answers: AnswerWorker | None) -> None:
    """Every second, answer kept questions and send what is due; a last round once the input ended
    (pipes see it too)."""
    while True:
        finished = done.is_set()
        try:
            if answers is not None:
                await answers.tick()
            await outbox.tick()
        except Exception:  # the chat goes on; the messages stay queued
            log.exception("outbox tick failed")
        if finished:
            return
        try:
            await asyncio.wait_for(done.wait(), OUTBOX_EVERY_SECONDS)
        except TimeoutError:
            pass


class ConsoleSender:
    """The outbox's Sender for the terminal: prints into the running chat session."""

    channel = CHANNEL

    def __init__(self, chat: ConsoleChat) -> None:
        self._chat = chat

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        try:
            self._chat.show_proactive(Outcome(replies=[reply], locale=locale, formal=formal))
        except Exception as error:  # a missing text or value: the same message would fail again
            return SendResult.permanent(f"cannot render {reply.key}: {type(error).__name__}")
        return SendResult.ok()


def run_console(engine: Engine, catalog: Catalog, chat_id: int) -> None:
    chat = ConsoleChat(engine, catalog, sys.stdout, chat_id=chat_id, interactive=sys.stdin.isatty())
    asyncio.run(chat.run(sys.stdin))
