"""The user side of the several-workers benchmark (tests/bench/workers_bench.py): users walking the
onboarding by pressing buttons, their updates delivered to webhook workers the way Telegram does.

Telegram's webhook delivery, played faithfully:
- per chat, the next update only after the previous webhook request returned 200 (a non-200 answer
  or no answer: the same update again after a pause, to any worker);
- updates of different chats in parallel (at most `in_flight` requests, plus redeliveries), each to
  the next worker in turn (a round-robin load balancer);
- a redelivery for a share of the updates: the update goes to worker A and, a few milliseconds later
  while A is still handling it, the same update to worker B; once B answered 200 Telegram moves on,
  and the chat's next update goes to any worker. A user who types (the postcode) does not wait for
  the question to appear, so after B's early 200 the typed text may reach a worker while A still
  handles the press before it: exactly-once and per-chat order are tested there.

A user presses a button only once the bot shows it (a real user cannot do otherwise): the press
waits, bounded, for the message with that button.
"""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from tests.fakes import FakeBotApi

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REDELIVERY_DELAY = 0.005  # B gets the update this long after A, while A is still handling it
ATTEMPTS = 10  # one update: delivered at most this often after non-200 answers
RETRY_PAUSE = 0.5  # Telegram waits before it delivers a failed update again (longer in reality)
POST_TIMEOUT = 120.0  # one webhook request (answers wait for the replies to go out at 1/s per chat)
BUTTON_WAIT = 60.0  # a user gives up when the button to press did not show up within this
TRIM_EVERY = 16  # confirm read updates to the fake every so many (keeps its update list short)


@dataclass(frozen=True)
class Step:
    kind: Literal["command", "text", "button"]
    what: str  # the command, the typed text or the button's label
    question: str  # a fragment of the question the bot asks next


# A young person in Löbau through onboarding: 7 updates, each answered with the next question.
SCRIPT = (
    Step("command", "/start", "Wer bist du?"),
    Step("button", "🧑‍🎓 Jugendliche:r", "Wie alt bist du?"),
    Step("button", "unter 16", "Wo wohnst du?"),
    Step("text", "02708", "Welcher ist deiner?"),  # 02708 covers Löbau and eight villages
    Step("button", "Löbau · 02708 · Landkreis Görlitz", "Gehst du noch zur Schule"),
    Step("button", "🏫 Ich gehe noch zur Schule", "In welcher Klasse"),
    Step("button", "Klasse 9", "Was möchtest du machen?"),
)
QUESTIONS = tuple(step.question for step in SCRIPT)
# What else the walk shows, once each: the greeting after /start, the cluster of the place, the thanks at the end.
ALSO_SHOWN = ("Ich bin der <b>Azubi-Lotse</b>", "Du wohnst in der Region", "Danke, das war's schon")


@dataclass(frozen=True)
class Post:
    """One webhook request: which update to which worker, the answer's status (0: no answer) and how long."""
    chat: int
    update_id: int
    worker: int
    role: Literal["first", "again", "retry"]  # again: the redelivery to B; retry: after a non-200 answer
    status: int
    seconds: float


@dataclass
class PressLoad:
    posts: list[Post] = field(default_factory=list)
    delivered: set[int] = field(default_factory=set)  # update ids answered 200 at least once
    walked: set[int] = field(default_factory=set)  # chats whose every step was delivered
    stuck: dict[int, str] = field(default_factory=dict)  # chat -> why its user could not go on
    redelivered: int = 0
    seconds: float = 0.0


class Telegram:
    """Delivers the updates the fake Bot API queued for the users to the workers' webhooks."""

    def __init__(self, api: FakeBotApi, ports: list[int], secret: str, path: str, in_flight: int,
                 session: aiohttp.ClientSession) -> None:
        self.api = api
        self.urls = [f"http://127.0.0.1:{port}{path}" for port in ports]
        self.secret = secret
        self.gate = asyncio.Semaphore(in_flight)
        self.session = session
        self.turn = 0
        self.load = PressLoad()
        self.background: list[asyncio.Task[int]] = []
        self.read_up_to = 0  # every update with a lower id has been read (the user side runs in one thread)
        self.reads = 0

    def next_worker(self) -> int:
        self.turn += 1
        return self.turn % len(self.urls)

    async def post(self, worker: int, chat: int, update: dict[str, Any], role: Literal["first", "again", "retry"]) -> int:
        started = time.monotonic()
        try:
            async with self.session.post(self.urls[worker], json=update, headers={SECRET_HEADER: self.secret},
                                         timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT)) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.load.posts.append(Post(chat, int(update["update_id"]), worker, role, status, time.monotonic() - started))
        if status == 200:
            self.load.delivered.add(int(update["update_id"]))
        return status

    async def deliver(self, chat: int, update: dict[str, Any], redeliver: bool) -> bool:
        """Until a worker answers 200 (bounded); with `redeliver` the update goes to two workers."""
        async with self.gate:
            worker = self.next_worker()
            role: Literal["first", "again", "retry"] = "first"
            if redeliver:
                self.load.redelivered += 1
                self.background.append(asyncio.create_task(self.post(worker, chat, update, "first")))
                await asyncio.sleep(REDELIVERY_DELAY)
                worker, role = (worker + 1) % len(self.urls), "again"
            for _ in range(ATTEMPTS):
                if await self.post(worker, chat, update, role) == 200:
                    return True
                await asyncio.sleep(RETRY_PAUSE)
                worker, role = self.next_worker(), "retry"
            return False

    async def user_acts(self, chat: int, step: Step) -> dict[str, Any] | None:
        """The user's next update (None: the button never showed up)."""
        if step.kind == "command":
            update_id = self.api.user_sends_command(chat, step.what)
        elif step.kind == "text":
            update_id = self.api.user_sends_text(chat, step.what)
        else:
            deadline = time.monotonic() + BUTTON_WAIT
            while True:
                try:
                    update_id = self.api.user_presses_button(chat, step.what)
                    break
                except ValueError:
                    if time.monotonic() > deadline:
                        return None
                    await asyncio.sleep(0.05)
        update = self._read(update_id)  # no await since the update was made: nothing newer is unread
        if self.reads % TRIM_EVERY == 0:
            await self._confirm()
        return update

    def _read(self, update_id: int) -> dict[str, Any]:
        update: dict[str, Any] = next(u for u in reversed(self.api.pending_updates()) if u["update_id"] == update_id)
        self.read_up_to = max(self.read_up_to, update_id + 1)
        self.reads += 1
        return update

    async def _confirm(self) -> None:
        """getUpdates with an offset drops the updates below it from the fake's list (pending_updates
        copies the whole list: without this, reading an update would cost more the longer the run)."""
        url = f"{self.api.url}/bot{self.api.token}/getUpdates"
        async with self.session.post(url, data={"offset": str(self.read_up_to), "limit": "1", "timeout": "0"}) as response:
            await response.read()

    async def walk(self, chat: int, redeliveries: list[bool]) -> None:
        for step, redeliver in zip(SCRIPT, redeliveries):
            update = await self.user_acts(chat, step)
            if update is None:
                self.load.stuck[chat] = f"no button {step.what!r} within {BUTTON_WAIT:.0f} s"
                return
            if not await self.deliver(chat, update, redeliver):
                self.load.stuck[chat] = f"update for {step.what!r} not accepted after {ATTEMPTS} deliveries"
                return
        self.load.walked.add(chat)


async def press_load(api: FakeBotApi, ports: list[int], secret: str, path: str, chats: list[int],
                     in_flight: int, redelivery_share: float, seed: int = 14) -> PressLoad:
    """Every user walks SCRIPT at once; returns what was posted and how long it took."""
    rng = random.Random(seed)
    plans = {chat: [rng.random() < redelivery_share for _ in SCRIPT] for chat in chats}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        telegram = Telegram(api, ports, secret, path, in_flight, session)
        started = time.monotonic()
        bound = 300 + len(chats) * len(SCRIPT) / 5  # far beyond any healthy run at 30/s
        walks = [asyncio.create_task(telegram.walk(chat, plans[chat])) for chat in chats]
        await asyncio.wait(walks, timeout=bound)
        for chat, task in zip(chats, walks):
            if not task.done():
                task.cancel()
                telegram.load.stuck[chat] = f"the run hit its time bound ({bound:.0f} s)"
        if telegram.background:  # the first deliveries of redelivered updates
            await asyncio.wait(telegram.background, timeout=POST_TIMEOUT)
        telegram.load.seconds = time.monotonic() - started
        tasks: list[asyncio.Task[Any]] = [*walks, *telegram.background]
        for task in tasks:
            if not task.done():
                task.cancel()
            elif not task.cancelled() and (error := task.exception()) is not None:
                raise error
        return telegram.load
