"""Benchmark (issue 14, point 6): 1, 2 and 4 webhook workers (`lotse run --webhook`) on one PostgreSQL,
in the same run.

Press load: BENCH_USERS (400) users, each walking the onboarding by pressing buttons (7 updates,
tests/bench/workers_load.py: Telegram's webhook delivery played faithfully, round robin over the
workers, 1 in 10 updates redelivered to a second worker while the first one still handles it).
Twice per worker count:
- "Telegram's limits": the fake Bot API enforces 30/s in total and 1/s per chat (burst 3), the
  workers run with the defaults (OUTBOX_RATE_PER_SECOND=30 per process): updates/s show the cap;
  429s and sends inside a running retry_after must be 0.
- "processing": fake and workers at 1000/s in total and 100/s per chat, so what limits is the
  workers' processing (and the machine): updates/s and the ratio to one worker are the scaling
  figure (target ≥ 0.75 × N, where the cores allow).
Reminders: BENCH_REMINDERS (10,000) reminder messages due at once, each to another chat, two
workers, the fake enforcing 30/s and 1/s per chat: the combined rate (target ≥ 0.95 × 30/s) and
duplicates (0).

Definitions, per chat, from what the fake Bot API accepted (status 200) in arrival order:
- duplicates: texts the chat got more than once (a sendMessage or an editMessageText with the
  same text as an earlier one: the user saw a question or answer twice); the onboarding never
  repeats a text, so a clean run has 0. Reminders: a chat that got its reminder more than once.
- order violations: chats whose script questions ("Wer bist du?" … "Was möchtest du machen?") did
  not come in the script's order: a question after one that comes later in the script, or a later
  question while an earlier one never came.
- off-script replies: texts that are none of the script's questions (e.g. "please press a button"
  when the typed postcode was handled before the age button); stuck: chats that did not reach
  the last question.

Everything runs on one throwaway PostgreSQL server (TEST_POSTGRES_URL, or one the benchmark starts
in a temporary directory and stops at the end), one fresh database per scenario (copied from a
migrated template with the demo content). The fake Bot API runs in a thread of this process with
the user side; this process's CPU time is reported so that a saturated client shows.

Knobs: BENCH_USERS=100 BENCH_REMINDERS=1000 for a quick run; BENCH_WORKERS (1,2,4); BENCH_MODES
(telegram,processing); BENCH_IN_FLIGHT (48 webhook requests at once); BENCH_REDELIVERY (0.1);
BENCH_BOT_RATE (the workers' OUTBOX_RATE_PER_SECOND with Telegram's limits, 30: set 60 to see the
harness count 429s); BENCH_SPLIT_BRAIN=1 (each worker on a database of its own: to see the harness
count duplicates and order violations).
"""
from __future__ import annotations

import asyncio
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tests import databases, postgres_server
from tests.bench.results import OUT, percentiles, run_and_save
from tests.bench.workers_load import ALSO_SHOWN, QUESTIONS, SCRIPT, PressLoad, press_load
from tests.fakes import TOKEN, FakeBotApi
from tests.local_time import NOON, zone_where_it_is
from tests.outbox_seed import enqueue_reminders

SECRET = "bench-workers-secret"
WEBHOOK_PATH = "/telegram/webhook"
FIRST_CHAT = 500_000
FIRST_REMINDER_CHAT = 600_000
VISIBLE = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument")
TEXTS = ("sendMessage", "editMessageText")
STALL_SECONDS = 60.0  # reminders: nothing sent for this long, give up
READY_SECONDS = 60.0
REMINDER_TARGET = 0.95
TELEGRAM_RATE = 30.0


@dataclass(frozen=True)
class Mode:
    name: str
    label: str
    api_per_second: float  # what the fake enforces
    api_per_chat: float
    api_burst: int
    bot_env: dict[str, str]  # what the workers are told


def _modes() -> list[Mode]:
    bot_rate = os.environ.get("BENCH_BOT_RATE", "30")
    every = [Mode("telegram", "Telegram's limits (30/s, 1/s per chat, burst 3)", TELEGRAM_RATE, 1, 3,
                  {"OUTBOX_RATE_PER_SECOND": bot_rate, "OUTBOX_RATE_PER_CHAT_PER_SECOND": "1",
                   "OUTBOX_BURST_PER_CHAT": "3"}),
             Mode("processing", "processing (limits 1000/s, 100/s per chat)", 1000, 100, 20,
                  {"OUTBOX_RATE_PER_SECOND": "1000", "OUTBOX_RATE_PER_CHAT_PER_SECOND": "100",
                   "OUTBOX_BURST_PER_CHAT": "20"})]
    wanted = [m.strip() for m in os.environ.get("BENCH_MODES", "telegram,processing").split(",") if m.strip()]
    return [mode for mode in every if mode.name in wanted]


# ---------------------------------------------------------------------------------------- PostgreSQL

class Server:
    """The PostgreSQL server: TEST_POSTGRES_URL, or a throwaway one in a temporary directory."""

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.previous_url = os.environ.get("TEST_POSTGRES_URL")
        self.template: str | None = None
        self.created: list[str] = []  # dropped at the end on a server that is not ours

    def start(self) -> None:
        if self.previous_url:
            return
        self.directory = Path(tempfile.mkdtemp(prefix="lotse-bench-pg-"))
        os.environ["TEST_POSTGRES_URL"] = postgres_server.start(self.directory)

    def stop(self) -> None:
        if self.directory is None:
            for name in self.created:
                try:
                    databases.drop_database(name)
                except (RuntimeError, OSError, subprocess.TimeoutExpired):
                    pass
            return
        postgres_server.stop(self.directory)
        shutil.rmtree(self.directory, ignore_errors=True)
        os.environ.pop("TEST_POSTGRES_URL", None)

    def postmaster(self) -> int | None:
        """The server's process id when this benchmark started it (for its CPU time)."""
        if self.directory is None:
            return None
        try:
            return int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def new_database(self, env: dict[str, str]) -> str:
        """A fresh database: a copy of a migrated template with the demo content."""
        if self.template is None:
            self.template = databases.create_database()
            self.created.append(self.template)
            url = databases.database_url(self.template)
            for command in (("db", "upgrade"), ("content", "load")):
                subprocess.run([sys.executable, "-m", "bot.cli", *command], env={**env, "DATABASE_URL": url},
                               check=True, capture_output=True, timeout=300)
        name = databases.create_database(template=self.template)
        self.created.insert(0, name)  # copies first: the template is dropped last
        return databases.database_url(name)


def postgres_missing() -> str | None:
    """Why PostgreSQL cannot run here, or None."""
    if os.environ.get("TEST_POSTGRES_URL"):
        return None if shutil.which("psql") else "psql is not installed"
    try:
        postgres_server.binaries()
    except SystemExit as reason:
        return str(reason)
    return None if shutil.which("psql") else "psql is not installed"


# ---------------------------------------------------------------------------------------- CPU time

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


def _cpu(pid: int, children: bool = False) -> float:
    fields = _stat(pid)
    if len(fields) < 15:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / TICKS


def _machine_cpu() -> float:
    """CPU seconds every process on the machine used so far (/proc/stat: all but idle and iowait)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return 0.0
    values = [int(v) for v in fields[:8]]
    return (sum(values) - values[3] - values[4]) / TICKS


def _postgres_cpu(postmaster: int | None) -> float | None:
    """CPU seconds of the server: the postmaster with its ended children, and the live backends."""
    if postmaster is None or not Path("/proc").is_dir():
        return None
    total = _cpu(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if len(fields) > 1 and fields[1] == str(postmaster):
                total += _cpu(int(entry.name))
    return total


class WaitSampler:
    """What the database's sessions are doing, sampled twice a second from pg_stat_activity (psql in a
    thread): on average how many sessions were running, waiting for a lock (which kind) or idle in a
    transaction. Where the workers wait while the cores are not busy, that is what limits them."""

    SQL = ("select state, coalesce(wait_event_type || ':' || wait_event, 'running'), count(*) from pg_stat_activity "
           "where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid() "
           "and state <> 'idle' group by 1, 2")

    def __init__(self, database_url: str, interval: float = 0.5) -> None:
        self.database = str(make_url(database_url).database)
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pg_stat_activity", daemon=True)

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                output = databases.psql(self.SQL, database=self.database)
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                continue
            self.samples += 1
            for line in output.splitlines():
                parts = [part.strip() for part in line.split("|")]
                if len(parts) == 3 and parts[2].isdigit():
                    self.counts[f"{parts[0]} / {parts[1]}"] += int(parts[2])

    def __enter__(self) -> WaitSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=70)

    def average(self, top: int = 5) -> dict[str, float]:
        """Sessions in each state on average over the run, busiest first."""
        return {what: round(n / max(1, self.samples), 1) for what, n in self.counts.most_common(top)}


# ---------------------------------------------------------------------------------------- workers

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _worker_env(api_url: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OUTBOX_", "QUIET_HOURS_", "WEBHOOK_", "METRICS_"))
           and k not in {"BOT_TOKEN", "CONTENT_DIR", "DATABASE_URL", "TIMEZONE"}}
    env.update({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api_url, "DATABASE_URL": database_url,
                "LOG_LEVEL": "WARNING", "TIMEZONE": zone_where_it_is(NOON),  # quiet hours never hold anything
                "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_SECRET": SECRET, "WEBHOOK_PATH": WEBHOOK_PATH,
                "METRICS_PORT": "0"})
    return env


@dataclass
class Workers:
    processes: list[subprocess.Popen[bytes]]
    ports: list[int]
    logs: list[Path]

    def cpu(self) -> float:
        return sum(_cpu(p.pid) for p in self.processes)

    def alive(self) -> bool:
        return any(p.poll() is None for p in self.processes)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@contextmanager
def running_workers(count: int, env: dict[str, str], workdir: Path,
                    own_databases: list[str] | None = None) -> Iterator[Workers]:
    """`count` webhook workers, ready (/readyz answers 200); SIGTERM to all at the end, kill if stuck.
    `own_databases`: a database for each worker instead of the shared one (the harness check)."""
    workers = Workers([], [], [])
    try:
        for number in range(count):
            port = _free_port()
            log = workdir / f"worker-{number}.log"
            database = own_databases[number] if own_databases else env["DATABASE_URL"]
            with log.open("ab") as out:
                workers.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "run", "--webhook"], cwd=workdir,
                    env={**env, "WEBHOOK_PORT": str(port), "DATABASE_URL": database}, stdout=out,
                    stderr=subprocess.STDOUT))
            workers.ports.append(port)
            workers.logs.append(log)
        for process, port, log in zip(workers.processes, workers.ports, workers.logs):
            _wait_ready(process, port, log)
        yield workers
    finally:
        for process in workers.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a webhook worker ended with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"a webhook worker was not ready within {READY_SECONDS:.0f} s:\n{_tail(log)}")


@contextmanager
def fake_api(per_second: float, per_chat: float, burst: int) -> Iterator[FakeBotApi]:
    api = FakeBotApi(TOKEN)
    api.start_in_thread()
    try:
        api.enforce_limits(per_second, per_chat, chat_burst=burst, count_edits=True)
        yield api
    finally:
        api.stop_in_thread()


# ---------------------------------------------------------------------------------------- press load

def _question(text: str) -> int | None:
    return next((number for number, fragment in enumerate(QUESTIONS) if fragment in text), None)


def _judge_chat(texts: list[str]) -> tuple[int, bool, int, bool]:
    """(duplicates, order violated, off-script replies, reached the last question) of one chat's texts."""
    counts = Counter(texts)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    seen = [q for q in (_question(t) for t in texts) if q is not None]
    firsts = list(dict.fromkeys(seen))
    violated = firsts != list(range(len(firsts)))  # a question too early, or one left out
    off_script = sum(1 for t in texts if _question(t) is None and not any(f in t for f in ALSO_SHOWN))
    return duplicates, violated, off_script, len(QUESTIONS) - 1 in seen


def check_the_judge() -> None:
    """The harness must see what it counts: a repeated question, questions out of order, a reply off
    the script, a walk that stopped (a benchmark that cannot see a violation is worthless)."""
    clean = ["Ich bin der <b>Azubi-Lotse</b>", *QUESTIONS]
    assert _judge_chat(clean) == (0, False, 0, True), _judge_chat(clean)
    assert _judge_chat([*clean[:3], clean[2], *clean[3:]])[0] == 1  # "Wie alt bist du?" sent twice
    swapped = [clean[0], clean[1], clean[3], clean[2], *clean[4:]]  # age question after the place question
    assert _judge_chat(swapped)[1]
    assert _judge_chat([*clean[:3], *clean[4:]])[1]  # "Wie alt bist du?" never came
    assert _judge_chat([*clean[:3], "Bitte tipp auf eine Antwort", *clean[3:]])[2] == 1
    assert not _judge_chat(clean[:-1])[3]


def press_figures(api: FakeBotApi, load: PressLoad, chats: list[int]) -> dict[str, Any]:
    requests = api.requests
    texts: dict[int, list[str]] = {chat: [] for chat in chats}
    visible: Counter[int] = Counter()
    for r in requests:
        chat = r.params.get("chat_id")
        if r.status != 200 or not isinstance(chat, int) or chat not in texts:
            continue
        if r.method in VISIBLE:
            visible[chat] += 1
        if r.method in TEXTS:
            texts[chat].append(str(r.params.get("text", "")))
    duplicates = order = off_script = 0
    duplicate_chats = stuck = 0
    for chat in chats:
        dup, violated, off, finished = _judge_chat(texts[chat])
        duplicates += dup
        duplicate_chats += dup > 0
        order += violated
        off_script += off
        stuck += not finished
    handled = len(load.delivered)
    answered = [p.seconds for p in load.posts if p.status == 200]
    calls_per_chat = [visible[chat] for chat in chats]
    return {
        "users": len(chats),
        "updates": len(chats) * len(SCRIPT),
        "updates_handled": handled,
        "redelivered": load.redelivered,
        "webhook_requests": len(load.posts),
        "webhook_not_200": sum(1 for p in load.posts if p.status != 200),
        "seconds": round(load.seconds, 2),
        "updates_per_s": round(handled / load.seconds, 1) if load.seconds else 0.0,
        "visible_calls_per_s": round(sum(calls_per_chat) / load.seconds, 1) if load.seconds else 0.0,
        "round_trip": percentiles(answered),
        "duplicates": duplicates,
        "chats_with_duplicates": duplicate_chats,
        "order_violations": order,
        "off_script_replies": off_script,
        "chats_stuck": stuck,
        "why_stuck": sorted(Counter(load.stuck.values()).items())[:3],
        "visible_calls_per_chat": {"min": min(calls_per_chat, default=0),
                                   "median": statistics.median(calls_per_chat) if calls_per_chat else 0,
                                   "max": max(calls_per_chat, default=0)},
        "answers_429": sum(1 for r in requests if r.status == 429),
        "sends_inside_retry_after": len(api.retry_after_violations),
    }


def press_scenario(server: Server, mode: Mode, count: int, chats: list[int], workdir: Path,
                   in_flight: int, redelivery: float) -> dict[str, Any]:
    with fake_api(mode.api_per_second, mode.api_per_chat, mode.api_burst) as api:
        env = {**_worker_env(api.url, ""), **mode.bot_env}
        env["DATABASE_URL"] = server.new_database(env)
        # BENCH_SPLIT_BRAIN=1: every worker on a database of its own, so nothing is coordinated: the
        # check that this harness sees duplicates and order violations when they happen.
        split = [server.new_database(env) for _ in range(count)] if os.environ.get("BENCH_SPLIT_BRAIN") else None
        with running_workers(count, env, workdir, split) as workers:
            cpu_bench, cpu_workers, cpu_machine = time.process_time(), workers.cpu(), _machine_cpu()
            cpu_postgres = _postgres_cpu(server.postmaster())
            with WaitSampler(env["DATABASE_URL"]) as sessions:
                load = asyncio.run(press_load(api, workers.ports, SECRET, WEBHOOK_PATH, chats, in_flight, redelivery))
            cpu = {"bench_process": time.process_time() - cpu_bench, "workers": workers.cpu() - cpu_workers}
            machine = _machine_cpu() - cpu_machine
            after = _postgres_cpu(server.postmaster())
            if cpu_postgres is not None and after is not None:
                cpu["postgres"] = after - cpu_postgres
            logs_with_errors = sum(1 for log in workers.logs if "Traceback" in _tail(log))
        figures = press_figures(api, load, chats)
    figures.update({"workers": count, "mode": mode.name,
                    "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
                    "cores_busy": round(sum(cpu.values()) / load.seconds, 2) if load.seconds else 0.0,
                    "machine_cores_busy": round(machine / load.seconds, 2) if load.seconds else 0.0,
                    "database_sessions": sessions.average(),
                    "worker_logs_with_tracebacks": logs_with_errors})
    return figures


# ---------------------------------------------------------------------------------------- reminders


def _most_in_a_second(times: list[float]) -> int:
    most, start = 0, 0
    for end, t in enumerate(times):  # sorted: a sliding one-second window over arrival times
        while times[start] <= t - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def reminder_scenario(server: Server, count: int, workers_count: int, workdir: Path) -> dict[str, Any]:
    def sent(api: FakeBotApi) -> int:
        return sum(1 for r in api.calls("sendMessage") if r.status == 200)

    with fake_api(TELEGRAM_RATE, 1, 3) as api:
        for i in range(count):
            api.add_chat(FIRST_REMINDER_CHAT + i)
        env = {**_worker_env(api.url, ""), "OUTBOX_RATE_PER_SECOND": "30", "OUTBOX_RATE_PER_CHAT_PER_SECOND": "1",
               "OUTBOX_BURST_PER_CHAT": "3"}
        env["DATABASE_URL"] = server.new_database(env)
        asyncio.run(enqueue_reminders(env["DATABASE_URL"], count, FIRST_REMINDER_CHAT, "bench:workers:reminder"))
        started = time.monotonic()
        with running_workers(workers_count, env, workdir) as workers:
            last, changed = -1, time.monotonic()
            for _ in range(int((count / 10 + STALL_SECONDS) / 0.5) + 200):  # bounded: 10/s at least, or a stall
                done = sent(api)
                if done >= count or not workers.alive():
                    break
                if done != last:
                    last, changed = done, time.monotonic()
                elif time.monotonic() - changed > STALL_SECONDS:
                    break
                time.sleep(0.5)
            wall = time.monotonic() - started
        calls = api.calls("sendMessage")
        violations = len(api.retry_after_violations)
    ok = sorted(r.time for r in calls if r.status == 200)
    per_chat = Counter(r.params.get("chat_id") for r in calls if r.status == 200)
    span = ok[-1] - ok[0] if ok else 0.0
    rate = len(ok) / (span + 1.0) if ok else 0.0  # n sends at the limit need span + 1 s (see outbox_bench)
    return {"workers": workers_count, "reminders": count, "sent": len(ok), "seconds_sending": round(span, 1),
            "seconds_from_start": round(wall, 1), "rate_per_s": round(rate, 2),
            "fraction_of_limit": round(rate / TELEGRAM_RATE, 3), "target_fraction": REMINDER_TARGET,
            "most_in_one_second": _most_in_a_second(ok),
            "answers_429": sum(1 for r in calls if r.status == 429),
            "sends_inside_retry_after": violations,
            "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
            "lost": count - len(per_chat)}


# ---------------------------------------------------------------------------------------- run

def _counts() -> list[int]:
    return [int(n) for n in os.environ.get("BENCH_WORKERS", "1,2,4").split(",") if n.strip()]


def _directory(parent: str, name: str) -> Path:
    path = Path(parent) / name
    path.mkdir()
    return path


def run() -> dict[str, Any]:
    cores = os.cpu_count() or 1
    result: dict[str, Any] = {"machine": f"{platform.machine()}, {cores} cores, Python {platform.python_version()}",
                              "cores": cores}
    missing = postgres_missing()
    if missing is not None:
        result["skipped"] = f"PostgreSQL is not available ({missing}): apt-get install postgresql"
        return result
    users = int(os.environ.get("BENCH_USERS", "400"))
    reminders = int(os.environ.get("BENCH_REMINDERS", "10000"))
    in_flight = int(os.environ.get("BENCH_IN_FLIGHT", "48"))
    redelivery = float(os.environ.get("BENCH_REDELIVERY", "0.1"))
    chats = [FIRST_CHAT + i for i in range(users)]
    check_the_judge()
    result.update({"users": users, "updates_per_user": len(SCRIPT), "in_flight": in_flight,
                   "redelivery_share": redelivery, "press": {}})
    server = Server()
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="lotse-bench-workers-") as tmp:
            for mode in _modes():
                rows = [press_scenario(server, mode, count, chats, _directory(tmp, f"{mode.name}-{count}"),
                                       in_flight, redelivery) for count in _counts()]
                one = next((r["updates_per_s"] for r in rows if r["workers"] == 1), None)
                for row in rows:
                    row["ratio_to_one_worker"] = round(row["updates_per_s"] / one, 2) if one else None
                result["press"][mode.name] = {"label": mode.label, "rows": rows}
            if reminders > 0:
                result["reminders"] = reminder_scenario(server, reminders, 2, _directory(tmp, "reminders"))
    finally:
        server.stop()
    return result


def print_table(result: dict[str, Any]) -> None:
    if "skipped" in result:
        print(f"skipped: {result['skipped']}")
        return
    print(f"{result['users']} users × {result['updates_per_user']} updates (onboarding by buttons), "
          f"{result['in_flight']} webhook requests at once, round robin, "
          f"{result['redelivery_share']:.0%} redelivered to a second worker while the first handles them")
    print("| Bot API limits | workers | updates handled | seconds | updates/s | ratio to 1 worker | duplicates "
          "| order violations | off-script replies | chats stuck | webhook non-200 | 429s | sends inside retry_after "
          "| round trip p50/p95 ms | messages+edits/s | cores busy: ours (bench / workers / PostgreSQL CPU s) "
          "| cores busy: whole machine |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in result["press"].values():
        for r in mode["rows"]:
            cpu = r["cpu_seconds"]
            target = f" (target ≥ {0.75 * r['workers']:.2f})" if r["mode"] == "processing" and r["workers"] > 1 else ""
            print(f"| {mode['label']} | {r['workers']} | {r['updates_handled']} of {r['updates']} | {r['seconds']} "
                  f"| **{r['updates_per_s']}** | {r['ratio_to_one_worker'] or '–'}{target} | {r['duplicates']} "
                  f"| {r['order_violations']} | {r['off_script_replies']} | {r['chats_stuck']} "
                  f"| {r['webhook_not_200']} | {r['answers_429']} | {r['sends_inside_retry_after']} "
                  f"| {r['round_trip']['p50_ms']} / {r['round_trip']['p95_ms']} | {r['visible_calls_per_s']} "
                  f"| {r['cores_busy']} "
                  f"({cpu['bench_process']} / {cpu['workers']} / {cpu.get('postgres', '–')}) "
                  f"| {r['machine_cores_busy']} |")
    calls = [r["visible_calls_per_chat"]["median"] for r in result["press"].get("telegram", {}).get("rows", [])]
    if calls and statistics.median(calls) > 0:
        per_update = statistics.median(calls) / result["updates_per_user"]
        print(f"With Telegram's limits the cap is 30 messages and edits per second; a walk takes about "
              f"{per_update:.1f} per update, so about {30 / per_update:.0f} updates/s at most.")
    print(f"The processing figures share {result['cores']} cores between PostgreSQL, the workers and this process (the "
          "user side and the fake Bot API); \"cores busy\" is their CPU time over the wall time (the whole machine's "
          "includes other processes: more than ours means someone else used the cores too). Near the cores: CPU-bound; "
          "well below: the workers wait. Per worker count, the CPU cost and the ceiling it gives on this machine, and "
          "the database sessions on average (pg_stat_activity; idle in transaction: a worker holds a transaction "
          "open while doing something else; Lock:advisory: waiting for a chat's lock):")
    for mode in result["press"].values():
        for r in mode["rows"]:
            if r["mode"] == "processing":
                cpu = sum(r["cpu_seconds"].values())
                per_cpu = r["updates_handled"] / cpu if cpu else 0.0
                sessions = ", ".join(f"{what} {n}" for what, n in r["database_sessions"].items()) or "–"
                print(f"- {r['workers']} worker(s): {per_cpu:.1f} updates per CPU second (ours), so at most "
                      f"{per_cpu * result['cores']:.0f} updates/s on {result['cores']} cores, measured "
                      f"{r['updates_per_s']}; database sessions: {sessions}")
    if "reminders" in result:
        r = result["reminders"]
        print(f"\n{r['reminders']:,} reminders due at once, {r['workers']} webhook workers, the fake enforcing "
              "30/s and 1/s per chat")
        print("| workers | reminders | sent | seconds sending | rate/s | fraction of 30/s | most in 1 s | 429s "
              "| sends inside retry_after | duplicates | lost |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {r['workers']} | {r['reminders']:,} | {r['sent']:,} | {r['seconds_sending']} | {r['rate_per_s']} "
              f"| **{r['fraction_of_limit']:.3f}** (target ≥ {REMINDER_TARGET}) | {r['most_in_one_second']} "
              f"| {r['answers_429']} | {r['sends_inside_retry_after']} | {r['duplicates']} | {r['lost']} |")


def main(out: Path = OUT) -> dict[str, Any]:
    return run_and_save("workers", run, print_table, out)


if __name__ == "__main__":
    main()
