"""Benchmark (issue 4, item 9, Telegram half): time from a young person's final confirmation
("Einverstanden – weitergeben") to the company contact's Telegram message with the lead.

Everything real except Telegram: the `lotse run` process (long polling, engine, SQLite, outbox)
against the fake Bot API, which enforces Telegram's limits (30 messages/s, 1 per chat) with 429s.

1. Set-up (not measured; the fake's and the bot's limits lifted, then the bot restarts with
   Telegram's): `lotse company invite` links a contact to each of the 36 demo companies; BENCH_LEAD_COUNT (default 1,000) young people, 16–17 and adults, go through
   onboarding and the lead flow up to the consent screen, each for one of the 51 demo offers.
2. Measured (limits on): the young people confirm at random moments, BENCH_LEAD_RATE (default 5)
   per second on average, as after a fair. Per lead: from the press (the update is available to
   getUpdates) to the fake API receiving the company's sendMessage that names the lead. The
   baseline of the same run is the young person's own answer ("Erledigt!") to the same press.

The fake API runs in a thread of this process, the bot in its own process.
"""
from __future__ import annotations

import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from content import DEMO_DIR
from storage.migrate import upgrade
from tests.bench.process import running_bot, until_done
from tests.bench.results import OUT, percentiles, run_and_save
from tests.fakes import FakeBotApi

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"
FIRST_CONTACT = 60_000
FIRST_TEEN = 200_000
STALL_SECONDS = 60.0  # nothing new for this long: stop and report what was lost
Step = tuple[Callable[[FakeBotApi, int], object], str]


EMAIL = re.compile(r"\bt(\d+)@example\.org")


def _email(chat: int) -> str:
    return f"t{chat}@example.org"


def _await_all(api: FakeBotApi, chats: Iterable[int], fragment: str, bot: subprocess.Popen[bytes]) -> None:
    """Bounded: until every chat shows a message with `fragment`; fails after STALL_SECONDS without progress."""
    pending, changed = set(chats), time.monotonic()
    while pending:
        done = {c for c in pending if any(fragment in text for _, text, _ in api.sent_brief(c))}
        if done:
            pending -= done
            changed = time.monotonic()
        elif time.monotonic() - changed > STALL_SECONDS or bot.poll() is not None:
            chat = next(iter(pending))
            raise RuntimeError(f"{len(pending)} chats never got {fragment!r}; chat {chat} saw "
                               f"{[text[:60] for _, text, _ in api.sent_brief(chat)][-3:]}")
        time.sleep(0.2)


def _press(api: FakeBotApi, chat: int, prefix: str) -> None:
    """The first button starting with `prefix` on the newest message showing one (it is there: awaited)."""
    for message_id, _, buttons in reversed(api.sent_brief(chat)):
        data = next((d for _, d in buttons if d and d.startswith(prefix)), None)
        if data is not None:
            api.user_presses(chat, message_id, data)
            return
    raise RuntimeError(f"no button {prefix!r} in chat {chat}")


def _step_all(api: FakeBotApi, chats: list[int], steps: list[Step], bot: subprocess.Popen[bytes]) -> None:
    """All chats take a step, then the next: the bot works on many conversations at once."""
    for action, expect in steps:
        for chat in chats:
            action(api, chat)
        _await_all(api, chats, expect, bot)


def _link_contacts(api: FakeBotApi, companies: list[str], bot: subprocess.Popen[bytes], workdir: str,
                   env: dict[str, str]) -> dict[int, str]:
    """One contact per company opens an invitation from `lotse company invite` (an agent may invite
    only companies of their own cluster; the command line any); contact chat -> company slug."""
    contacts: dict[int, str] = {}
    for i, slug in enumerate(companies):
        link = subprocess.run([sys.executable, "-m", "bot.cli", "company", "invite", slug, "--bot", api.username],
                              cwd=workdir, env=env, check=True, capture_output=True, text=True).stdout
        contact = FIRST_CONTACT + i
        api.user_sends_command(contact, "/start", link.strip().split("?start=")[1])
        contacts[contact] = slug
    _await_all(api, contacts, "Ansprechperson für", bot)
    return contacts


def _journey(offers: dict[int, str]) -> list[Step]:
    """Onboarding in Löbau, then "Interessiert mich" on the chat's offer, up to the consent screen."""
    return [
        (lambda api, chat: api.user_sends_command(chat, "/start"), "Wer bist du?"),
        (lambda api, chat: _press(api, chat, "ob:role:teen"), "Wie alt bist du?"),
        (lambda api, chat: _press(api, chat, f"ob:age:{'16_17' if chat % 2 else '18plus'}"), "Wo wohnst du?"),
        (lambda api, chat: api.user_sends_text(chat, "Löbau"), "Ist das Löbau"),
        (lambda api, chat: _press(api, chat, "ob:place_confirm:yes"), "Gehst du noch zur Schule"),
        (lambda api, chat: _press(api, chat, "ob:school:mittlere_reife"), "Was möchtest du machen?"),
        # The offer's button as on its card (a card shows offers near home only; these are spread out).
        (lambda api, chat: api.user_presses(chat, api.sent_brief(chat)[-1][0], f"ld:v:{offers[chat]}", force=True),
         "an andere passende Betriebe"),
        (lambda api, chat: _press(api, chat, "ld:n"), "Vornamen"),
        (lambda api, chat: api.user_sends_text(chat, "Kim"), "Wie kann dich der Betrieb erreichen"),
        (lambda api, chat: api.user_sends_text(chat, _email(chat)), "Wie soll sich der Betrieb melden"),
        (lambda api, chat: _press(api, chat, "ld:pref:email"), "Wann passt es dir"),
        (lambda api, chat: _press(api, chat, "ld:time:any"), "noch etwas sagen"),
        (lambda api, chat: _press(api, chat, "ld:skip"), "Bevor etwas weitergegeben wird"),
    ]


def _consent_message(api: FakeBotApi, chat: int) -> int:
    return next(i for i, text, _ in reversed(api.sent_brief(chat)) if "Bevor etwas weitergegeben wird" in text)


def _confirm_at_random(api: FakeBotApi, teens: list[int], rate: float, seed: int = 4) -> dict[int, float]:
    """Each young person presses "agree" once, Poisson arrivals at `rate`/s; chat -> press time."""
    rng = random.Random(seed)
    order = teens[:]
    rng.shuffle(order)
    consent = {chat: _consent_message(api, chat) for chat in order}
    pressed: dict[int, float] = {}
    start = time.monotonic()
    at = 0.0
    for chat in order:
        at += rng.expovariate(rate)
        time.sleep(max(0.0, start + at - time.monotonic()))
        pressed[chat] = time.monotonic()
        api.user_presses(chat, consent[chat], "ld:ok")
    return pressed


def _arrivals(api: FakeBotApi, pressed: dict[int, float], contacts: dict[int, str]) -> tuple[dict[int, float], dict[int, float], int]:
    """First accepted company message per lead and first answer to the young person after the press."""
    company: dict[int, float] = {}
    own: dict[int, float] = {}
    duplicates = 0
    for call in api.calls("sendMessage"):
        if call.status != 200:
            continue
        chat_id = int(call.params.get("chat_id", 0))
        if chat_id in contacts:
            found = EMAIL.search(str(call.params.get("text", "")))
            teen = int(found.group(1)) if found else None
            if teen in pressed:
                if teen in company:
                    duplicates += 1
                else:
                    company[teen] = call.time
        elif chat_id in pressed and call.time >= pressed[chat_id] and chat_id not in own:
            own[chat_id] = call.time
    return company, own, duplicates


def _wait_for_companies(api: FakeBotApi, count: int, contacts: dict[int, str], bot: subprocess.Popen[bytes]) -> None:
    """Light: the fake API shares this process, so watching must not slow it down."""
    until_done(lambda: sum(1 for chat in contacts for _, text, _ in api.sent_brief(chat) if "Neue Anfrage für" in text),
               count, bot, STALL_SECONDS, interval=1.0)


def run(count: int | None = None, rate: float | None = None) -> dict[str, Any]:
    count = count or int(os.environ.get("BENCH_LEAD_COUNT", "1000"))
    rate = rate or float(os.environ.get("BENCH_LEAD_RATE", "5"))
    companies = [c["slug"] for c in yaml.safe_load((DEMO_DIR / "companies.yaml").read_text(encoding="utf-8"))]
    offers_in_pack = [v["slug"] for v in yaml.safe_load((DEMO_DIR / "vacancies.yaml").read_text(encoding="utf-8"))]
    teens = [FIRST_TEEN + i for i in range(count)]
    offers = {chat: offers_in_pack[i % len(offers_in_pack)] for i, chat in enumerate(teens)}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'lotse.db'}"
        upgrade(url)
        env = {**os.environ, "BOT_TOKEN": TOKEN, "DATABASE_URL": url, "LOG_LEVEL": "WARNING",
               "QUIET_HOURS_MINORS": "03:00-03:01", "QUIET_HOURS_ADULTS": "off",
               "SMTP_HOST": "", "WEBHOOK_SIGNING_KEY": ""}
        subprocess.run([sys.executable, "-m", "bot.cli", "content", "load"], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        api = FakeBotApi(TOKEN)
        api.start_in_thread()
        env["TELEGRAM_API_URL"] = api.url
        try:
            with (Path(tmp) / "lotse.log").open("wb") as log:
                # Set-up with the limits lifted (it is not measured), then a restart with Telegram's.
                started = time.monotonic()
                with running_bot(tmp, {**env, "OUTBOX_RATE_PER_SECOND": "1000",
                                        "OUTBOX_RATE_PER_CHAT_PER_SECOND": "100"}, log) as bot:
                    contacts = _link_contacts(api, companies, bot, tmp, env)
                    _step_all(api, teens, _journey(offers), bot)
                set_up = time.monotonic() - started
                api.enforce_limits(30, 1, chat_burst=3)
                with running_bot(tmp, env, log) as bot:
                    api.wait_until_polling_sync(timeout=30)
                    pressed = _confirm_at_random(api, teens, rate)
                    _wait_for_companies(api, len(pressed), contacts, bot)
            company, own, duplicates = _arrivals(api, pressed, contacts)
            violations = len(api.retry_after_violations)
            answered_429 = sum(1 for r in api.calls("sendMessage") if r.status == 429)
        finally:
            api.stop_in_thread()
    to_company = [company[c] - pressed[c] for c in company]
    to_self = [own[c] - pressed[c] for c in own]
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "leads": count, "companies": len(contacts), "offers": len(offers_in_pack),
        "rate_per_s": rate, "set_up_seconds": round(set_up, 1),
        "delivered": len(company), "lost": count - len(company), "duplicates": duplicates,
        "answered_429": answered_429, "sends_violating_retry_after": violations,
        "to_company": percentiles(to_company), "to_young_person": percentiles(to_self),
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['leads']:,} leads at {result['rate_per_s']:g}/s on average to {result['companies']} companies "
          f"({result['offers']} offers); delivered {result['delivered']:,}, lost {result['lost']}, "
          f"duplicates {result['duplicates']}, 429s {result['answered_429']}, "
          f"sends during retry_after {result['sends_violating_retry_after']}")
    print("| from the press of \"agree\" to | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for label, key in (("the company contact's Telegram message", "to_company"),
                       ("baseline: the young person's own answer", "to_young_person")):
        r = result[key]
        print(f"| {label} | {r['p50_ms']} | **{r['p95_ms']}** | {r['max_ms']} |")
    ratio = result["to_company"]["p50_ms"] / result["to_young_person"]["p50_ms"] if result["to_young_person"]["p50_ms"] else 0
    print(f"ratio of the medians (company / young person): {ratio:.2f}")


def main(out: Path = OUT) -> dict[str, Any]:
    return run_and_save("lead_telegram", run, print_table, out)


if __name__ == "__main__":
    main()
