"""Benchmark (issue 8, item 3): 200 users at once, each /start and five button presses, against a
fake Bot API that enforces Telegram's limits and counts edits like messages.

Both bots run as their own process against the fake (in a thread of this process), one after the
other in the same run:
- Azubi-Lotse: the real `lotse run` (long polling, engine, SQLite, the shared limiter), onboarding
  of a young person: role, age, place skipped, school, class.
- baseline: a bare aiogram bot (tests/bench/bare_bot.py) answering each press with
  answerCallbackQuery and the next question, no limiter and no retries.

All users take a step at the same moment, then the next once every user saw the answer (or
nothing came for STALL_SECONDS: those replies count as lost). Per press: from the update being
available to getUpdates to the first message or edit the fake accepted in that chat (the first
visible reaction), and to the callback answer. `BENCH_PRESS_USERS` (default 200) sets the size.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.migrate import upgrade
from tests.bench.process import running_bot
from tests.bench.results import OUT, percentiles, run_and_save
from tests.fakes import FakeBotApi

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"
FIRST_CHAT = 300_000
ROOT = Path(__file__).resolve().parents[2]
STALL_SECONDS = 60.0
VISIBLE = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument")
LIMITED = VISIBLE  # what the fake counts against 30/s and per chat


@dataclass
class Step:
    act: Callable[[FakeBotApi, int], int | None]  # returns the callback's update id for a press
    expect: str


def _press(prefix: str) -> Callable[[FakeBotApi, int], int | None]:
    def press(api: FakeBotApi, chat: int) -> int | None:
        for message_id, _, buttons in reversed(api.sent_brief(chat)):
            data = next((d for _, d in buttons if d and d.startswith(prefix)), None)
            if data is not None:
                return api.user_presses(chat, message_id, data)
        raise RuntimeError(f"no button {prefix!r} in chat {chat}")
    return press


def _start(api: FakeBotApi, chat: int) -> None:
    api.user_sends_command(chat, "/start")


LOTSE_STEPS = [Step(_start, "Wer bist du?"), Step(_press("ob:role:teen"), "Wie alt bist du?"),
               Step(_press("ob:age:16_17"), "Wo wohnst du?"), Step(_press("ob:place:skip"), "Gehst du noch zur Schule"),
               Step(_press("ob:school:pupil"), "In welcher Klasse"), Step(_press("ob:class:9"), "Was möchtest du machen?")]
BARE_STEPS = [Step(_start, "Frage 1 von"), *(Step(_press(f"bare:{n}"), f"Frage {n + 1} von") for n in range(1, 5)),
              Step(_press("bare:5"), "Fertig")]


@dataclass
class Walk:
    pressed_at: dict[tuple[int, int], float] = field(default_factory=dict)  # (chat, step) -> monotonic
    expected: int = 0
    delivered: int = 0


def _walk(api: FakeBotApi, chats: list[int], steps: list[Step], bot: subprocess.Popen[bytes]) -> Walk:
    walk = Walk()
    active = list(chats)
    for number, step in enumerate(steps):
        for chat in active:
            walk.pressed_at[(chat, number)] = time.monotonic()
            step.act(api, chat)
        walk.expected += len(active)
        pending, changed = set(active), time.monotonic()
        while pending and time.monotonic() - changed < STALL_SECONDS and bot.poll() is None:
            arrived = {c for c in pending if any(step.expect in text for _, text, _ in api.sent_brief(c))}
            if arrived:
                pending -= arrived
                changed = time.monotonic()
            time.sleep(0.1)
        walk.delivered += len(active) - len(pending)
        active = [c for c in active if c not in pending]  # a user without an answer cannot go on
    return walk


def _figures(api: FakeBotApi, walk: Walk, chats: list[int], steps: int) -> dict[str, Any]:
    requests = api.requests
    visible: dict[int, list[float]] = {}
    for r in requests:
        if r.method in VISIBLE and r.status == 200:
            visible.setdefault(int(r.params.get("chat_id", 0)), []).append(r.time)
    reactions = []
    for (chat, step), at in walk.pressed_at.items():
        if step == 0:
            continue  # /start: not a press
        later = [t for t in visible.get(chat, []) if t >= at]
        if later:
            reactions.append(min(later) - at)
    callbacks = api.callback_queries
    late = sum(1 for q in callbacks if q.answered_at is None or q.answered_at - q.issued_at > 10)
    answer_times = [q.answered_at - q.issued_at for q in callbacks if q.answered_at is not None]
    limited = [r for r in requests if r.method in LIMITED]
    too_many = sum(1 for r in requests if r.status == 429)
    calls = sum(1 for r in requests if r.method != "getUpdates")
    return {"users": len(chats), "steps": steps, "replies_expected": walk.expected,
            "replies_delivered": walk.delivered, "bot_api_calls": calls, "limited_calls": len(limited),
            "answers_429": too_many, "share_429": round(too_many / max(1, calls), 4),
            "sends_inside_retry_after": len(api.retry_after_violations),
            "callback_answers_late_or_missing": late, "presses_answered": len(reactions),
            "callback_answer": percentiles(answer_times),
            "first_reaction": percentiles(reactions)}


def _fake(limits: bool) -> FakeBotApi:
    api = FakeBotApi(TOKEN)
    api.start_in_thread()
    if limits:  # Telegram: 30/s in total; per chat a short burst, then 1/s on average; edits count
        api.enforce_limits(30, 1, chat_burst=3, count_edits=True)
    return api


def _measure(name: str, module: str, env: dict[str, str], workdir: str, steps: list[Step],
             chats: list[int], limits: bool = True) -> dict[str, Any]:
    api = _fake(limits)
    try:
        with (Path(workdir) / f"{name}.log").open("wb") as log, \
                running_bot(workdir, {**env, "TELEGRAM_API_URL": api.url}, log, module) as bot:
            try:
                api.wait_until_polling_sync(timeout=30)
            except TimeoutError:
                raise RuntimeError(f"{name} did not start: {(Path(workdir) / f'{name}.log').read_text()[-2000:]}") from None
            started = time.monotonic()
            walk = _walk(api, chats, steps, bot)
            figures = _figures(api, walk, chats, len(steps))
            figures["seconds"] = round(time.monotonic() - started, 1)
            return figures
    finally:
        api.stop_in_thread()


def run(users: int | None = None) -> dict[str, Any]:
    users = users or int(os.environ.get("BENCH_PRESS_USERS", "200"))
    chats = [FIRST_CHAT + i for i in range(users)]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'lotse.db'}"
        upgrade(url)
        env = {**os.environ, "BOT_TOKEN": TOKEN, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        for name in [k for k in env if k.startswith(("OUTBOX_", "QUIET_HOURS_"))]:
            del env[name]  # production defaults: 30/s, 1 per chat with a burst of 3
        subprocess.run([sys.executable, "-m", "bot.cli", "content", "load"], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        lotse = _measure("lotse", "bot.cli", env, tmp, LOTSE_STEPS, chats)
        bare_env = {**env, "PYTHONPATH": str(ROOT)}
        bare = _measure("bare", "tests.bench.bare_bot", bare_env, tmp, BARE_STEPS, chats)
        unlimited = _measure("bare-unlimited", "tests.bench.bare_bot", bare_env, tmp, BARE_STEPS, chats, limits=False)
    # No bot can do better than this: n presses at once need n visible calls at 30 per second.
    floor = percentiles([rank / 30 for _ in range(len(LOTSE_STEPS) - 1) for rank in range(1, users + 1)])
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "lotse": lotse, "bare_aiogram": bare, "bare_aiogram_no_limits": unlimited, "floor_at_30_per_s": floor}


def print_table(result: dict[str, Any]) -> None:
    print("| bot | Bot API | replies delivered | Bot API calls | 429 answers | sends inside retry_after | "
          "callback answers > 10 s | callback answer p50/p95 ms | first reaction p50/p95 ms | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = (("lotse", "Azubi-Lotse", "Telegram's limits"), ("bare_aiogram", "bare aiogram", "Telegram's limits"),
            ("bare_aiogram_no_limits", "bare aiogram", "no limits"))
    for name, label, api in rows:
        r = result[name]
        measured = r["presses_answered"] > 0  # none when no user got past /start
        answer = f"{r['callback_answer']['p50_ms']} / {r['callback_answer']['p95_ms']}" if measured else "–"
        reaction = f"{r['first_reaction']['p50_ms']} / {r['first_reaction']['p95_ms']}" if measured else "–"
        print(f"| {label} | {api} | {r['replies_delivered']} of {r['replies_expected']} | {r['bot_api_calls']} | "
              f"{r['answers_429']} ({r['share_429']:.1%}) | {r['sends_inside_retry_after']} | "
              f"{r['callback_answers_late_or_missing']} | {answer} | {reaction} | {r['seconds']} |")
    floor = result["floor_at_30_per_s"]
    print(f"| lower bound at 30 calls/s | | | | | | | | {floor['p50_ms']} / {floor['p95_ms']} | |")


def main(out: Path = OUT) -> dict[str, Any]:
    return run_and_save("press", run, print_table, out)


if __name__ == "__main__":
    main()
