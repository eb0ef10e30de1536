"""`lotse`: run (Telegram), chat (terminal), db upgrade, content check/load/export, link, company, broadcast,
offers import."""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:  # the content package is imported only by the commands that need it
    from content.loader import Pack

EXIT_USAGE = 2


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lotse", description="Azubi-Lotse – Ausbildung in deiner Nähe.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="Telegram bot (long polling, or --webhook)")
    run.add_argument("--webhook", action="store_true", help="serve a webhook instead of long polling")
    chat = commands.add_parser("chat", help="chat with the bot in this terminal (or from a pipe)")
    chat.add_argument("--user", type=int, default=1, help="terminal user number (default 1)")
    chat.add_argument("--agent", action="store_true",
                      help="act as a cluster agent (/leads, /einladung) for this run; a local command: "
                           "whoever can run it can read the database anyway (lasting: ADMIN_CONSOLE_IDS)")
    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade", "current"])
    content = commands.add_parser("content", help="content pack")
    content.add_argument("action", choices=["check", "load", "export"],
                         help="export: write the content with the web cockpit's edits as a pack")
    content.add_argument("directory", nargs="?", type=Path,
                         help="pack folder (default CONTENT_DIR; export: required, created if need be)")
    content.add_argument("--if-empty", action="store_true", help="load only into an empty database")
    content.add_argument("--adopt", action="store_true",
                         help="load: entries edited in the cockpit go back to the pack where it now says the same")
    link = commands.add_parser("link", help="deep link for a poster or fair stand")
    link.add_argument("--bot", required=True, help="the bot's username, e.g. azubi_lotse_bot")
    link.add_argument("--cluster", help="cluster slug")
    link.add_argument("--source", help="source code, e.g. loebau-stand")
    company = commands.add_parser("company", help="member companies")
    company_actions = company.add_subparsers(dest="action", required=True)
    invite = company_actions.add_parser("invite", help="single-use link that makes its opener a company contact")
    invite.add_argument("slug", help="company slug from the content pack")
    invite.add_argument("--bot", required=True, help="the bot's username, e.g. azubi_lotse_bot")
    secret = company_actions.add_parser("secret", help="print the company's webhook signing secret")
    secret.add_argument("slug", help="company slug from the content pack")
    broadcast = commands.add_parser("broadcast", help="cluster agents' announcements")
    broadcast_actions = broadcast.add_subparsers(dest="action", required=True)
    listing = broadcast_actions.add_parser("list", help="announcements with status and results, newest first")
    listing.add_argument("--cluster", help="only this cluster (slug)")
    cancel = broadcast_actions.add_parser("cancel", help="cancel an announcement (until it is done)")
    cancel.add_argument("id", type=int, help="the announcement's number (see list)")
    commands.add_parser("cockpit", help="web cockpit for cluster agents (COCKPIT_URL, COCKPIT_HOST, COCKPIT_PORT)")
    offers = commands.add_parser("offers", help="offers from outside the content pack")
    offers_actions = offers.add_subparsers(dest="action", required=True)
    importing = offers_actions.add_parser("import", help="import offers (BA: the Arbeitsagentur's job search)")
    importing.add_argument("source", choices=["ba"], help="ba: the Arbeitsagentur's job search (BA_API_URL)")
    importing.add_argument("--region", metavar="CLUSTER", help="only this cluster's region (its slug)")
    importing.add_argument("--dry-run", action="store_true", help="fetch and check, write nothing")
    transit = commands.add_parser("transit", help="bus and train timetables (GTFS) for travel times")
    transit_actions = transit.add_subparsers(dest="action", required=True)
    loading = transit_actions.add_parser("load", help="read GTFS feeds (.zip) into the network file (TRANSIT_FILE)")
    loading.add_argument("feeds", nargs="+", type=Path, metavar="FEED.zip", help="the operators' GTFS feeds")
    loading.add_argument("--licence", action="append", metavar="FEED=TEXT",
                         help="a feed's licence as the operator states it (GTFS has no field for it)")
    transit_actions.add_parser("info", help="the loaded network: feeds, validity, licences; the commutes planned")
    planning = transit_actions.add_parser("plan", help="plan the commutes now (`lotse run` does it by itself)")
    planning.add_argument("--full", action="store_true", help="plan everything again, not only what is due")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        return _fail(str(error))
    from bot.logging_setup import setup_logging

    setup_logging(settings.log_level, settings.log_format)
    handlers = {"run": _run, "chat": _chat, "db": _db, "content": _content, "link": _link, "company": _company,
                "broadcast": _broadcast, "cockpit": _cockpit, "offers": _offers,
                "transit": _transit}
    try:
        return handlers[args.command](settings, args)
    except KeyboardInterrupt:
        return 130


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import NotMigrated, build_app
    from bot.telegram.poll_lease import AnotherPoller
    from bot.telegram.runner import TokenRejected, run_telegram

    if settings.bot_token is None:
        return _fail("configuration error: BOT_TOKEN is required for lotse run (create a bot with @BotFather)")

    async def go() -> None:
        app = await build_app(settings)
        try:
            await run_telegram(app, webhook=args.webhook)
        finally:
            await app.close()

    try:
        asyncio.run(go())
    except NotMigrated as error:
        return _fail(str(error))
    except TokenRejected as error:
        return _fail(f"configuration error: {error}")
    except AnotherPoller as error:
        return _fail(str(error))
    return 0


def _cockpit(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import NotMigrated, build_app
    from cockpit.app import serve_cockpit

    if settings.cockpit_url is None:
        return _fail("configuration error: COCKPIT_URL is required for lotse cockpit, e.g. "
                     "https://cockpit.example.org (the address agents open; /cockpit links lead there)")

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        app = await build_app(settings)
        try:
            await serve_cockpit(app, stop)
        finally:
            await app.close()

    try:
        asyncio.run(go())
    except NotMigrated as error:
        return _fail(str(error))
    except OSError as error:  # the port is taken, the address is not this machine's
        return _fail(f"cockpit cannot listen on {settings.cockpit_host}:{settings.cockpit_port}: {error.strerror}")
    return 0


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import NotMigrated, build_app
    from bot.console import ConsoleChat, ConsoleSender

    if args.agent and args.user not in settings.admin_console_ids:  # this process only, not `lotse run`
        settings = settings.model_copy(update={"admin_console_ids": [*settings.admin_console_ids, args.user]})

    async def go() -> None:
        app = await build_app(settings)
        try:
            chat = ConsoleChat(app.engine, app.catalog, sys.stdout, chat_id=args.user,
                               interactive=sys.stdin.isatty())
            await chat.run(sys.stdin, app.outbox_dispatcher(ConsoleSender(chat), chat_id=args.user),
                           answers=app.answer_worker())
        finally:
            await app.close()

    try:
        asyncio.run(go())
    except NotMigrated as error:
        return _fail(str(error))
    return 0


def _db(settings: Settings, args: argparse.Namespace) -> int:
    from storage.migrate import current_revision, head_revision, upgrade

    if args.action == "upgrade":
        if settings.database_url.startswith("sqlite"):
            Path(settings.database_url.split("///", 1)[-1]).parent.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url)
        print(f"database at revision {head_revision()}")
    else:
        print(f"database at {asyncio.run(current_revision(settings.database_url))}, code needs {head_revision()}")
    return 0


def _content(settings: Settings, args: argparse.Namespace) -> int:
    from content import PackError, default_directory, load_pack

    if args.action == "export":
        if args.directory is None:
            return _fail("lotse content export DIR: name the folder to write the pack into")
        return asyncio.run(_export(settings, args.directory))
    directory: Path = args.directory or settings.content_dir
    if not directory.is_dir():
        return _fail(f"{directory}: no such folder")
    try:
        pack = load_pack(directory, default_directory())
    except PackError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    if args.action == "check":
        print(f"{directory}: ok – {len(pack.clusters)} clusters, {len(pack.professions)} professions, "
              f"{len(pack.companies)} companies, {len(pack.vacancies)} vacancies, {len(pack.events)} events")
        return 0
    return asyncio.run(_load(settings, pack, args.if_empty, args.adopt))


async def _export(settings: Settings, directory: Path) -> int:
    from bot.app import NotMigrated, ensure_migrated
    from flows.core.clock import SystemClock
    from storage.content_export import export_pack
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    if directory.exists() and not directory.is_dir():
        return _fail(f"{directory}: not a folder")
    try:
        await ensure_migrated(settings.database_url)
    except NotMigrated as error:
        return _fail(str(error))
    db = create_engine(settings.database_url)
    try:
        report = await export_pack(SqlUnitOfWorkFactory(session_factory(db), SystemClock()), directory)
    finally:
        await db.dispose()
    for file, count in report.entries.items():
        print(f"{file}: {count} entries, {report.from_cockpit[file]} of them created or edited in the cockpit")
    print(f"written to {directory} – check it with `lotse content check {directory}`")
    return 0


async def _load(settings: Settings, pack: Pack, if_empty: bool, adopt: bool = False) -> int:
    from bot.app import NotMigrated, ensure_migrated
    from content import PackError
    from flows.core.clock import SystemClock
    from storage.content_sync import content_is_empty, sync_pack
    from storage.db import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    try:
        await ensure_migrated(settings.database_url)
    except NotMigrated as error:
        return _fail(str(error))
    db = create_engine(settings.database_url)
    try:
        uow_factory = SqlUnitOfWorkFactory(session_factory(db), SystemClock())
        if if_empty and not await content_is_empty(uow_factory):
            print("content already loaded (use `lotse content load` to update it)")
            return 0
        report = await sync_pack(uow_factory, pack, SystemClock(), adopt=adopt)
    except PackError as error:  # what the load would keep from the cockpit no longer fits the pack
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print("nothing loaded", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    for kind in report.created:
        print(f"{kind}: {report.created[kind]} new, {report.updated[kind]} updated, "
              f"{report.archived[kind]} archived, {report.unchanged[kind]} unchanged")
        if kept := report.kept.get(kind):
            print(f"  {len(kept)} kept, edited in the cockpit: {', '.join(kept)}")
        if adopted := report.adopted.get(kind):
            print(f"  {adopted} back to the pack (it now says what the cockpit said)")
    if report.announced or report.alerted:
        print(f"messages queued: {report.announced} about changed events, {report.alerted} about new offers")
    return 0


def _link(settings: Settings, args: argparse.Namespace) -> int:
    from flows.domain.deeplink import make_payload

    try:
        payload = make_payload(args.cluster, args.source)
    except ValueError as error:
        return _fail(str(error))
    print(f"https://t.me/{args.bot.lstrip('@')}?start={payload}")
    return 0


def _company(settings: Settings, args: argparse.Namespace) -> int:
    from bot.company_invite import print_company_invite
    from bot.delivery.commands import print_company_secret

    actions = {"secret": print_company_secret, "invite": print_company_invite}  # `lotse company <action>`
    return actions[args.action](settings, args)


def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from bot.broadcasts_cli import broadcast_command

    return broadcast_command(settings, args)  # `lotse broadcast list|cancel`


def _offers(settings: Settings, args: argparse.Namespace) -> int:
    from bot.offers_cli import offers_command

    return offers_command(settings, args)  # `lotse offers import ba [--region C] [--dry-run]`


def _transit(settings: Settings, args: argparse.Namespace) -> int:
    from bot.transit_cli import transit_command

    return transit_command(settings, args)  # `lotse transit load FEED.zip … | info | plan`


if __name__ == "__main__":
    sys.exit(main())
