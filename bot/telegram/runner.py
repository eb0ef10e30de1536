"""`lotse run`: build the Bot and Dispatcher, set the command menu, then poll or serve the webhook."""
from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiohttp import web

from bot.app import App
from bot.commute_job import commute_planner
from bot.delivery.channels import company_channels
from bot.metrics import Metrics
from bot.offer_import_job import DailyOfferImport, daily_offer_import
from bot.ops import Ops, serve
from bot.scheduler import start_scheduler, wake_answers, wake_on_commit
from bot.telegram.channel import TelegramChannel
from bot.telegram.metered_requests import MeteredRequests
from bot.telegram.poll_lease import polling_lease
from bot.telegram.polling import ALLOWED_UPDATES, poll
from bot.telegram.retry import RetryMiddleware
from bot.telegram.sender import TelegramSender
from bot.telegram.webhook import webhook_app
from content import default_directory
from flows.delivery.limiter import RateLimiter
from flows.wiring import MENU_COMMANDS
from storage.leases import Leases

log = logging.getLogger(__name__)
RESEND_WITHIN = timedelta(hours=1)  # older unsent replies would come too late to make sense
RESEND_EVERY = timedelta(seconds=30)  # webhook workers: how often replies a dead worker left are looked for


class TokenRejected(Exception):
    """The Bot API refused our configuration (token, webhook URL): one line for the operator."""


def make_bot(token: str, api_base: str, retry: bool = True, limiter: RateLimiter | None = None,
             metrics: Metrics | None = None) -> Bot:
    """retry=False: every error reaches the caller (the outbox handles 429s and retries itself).
    `limiter`: the outbox's, shared so that answers and proactive messages keep the limits together.
    `metrics`: every attempt of an answer counted by outcome (the outbox counts its own sends)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    if retry:
        session.middleware(RetryMiddleware(limiter=limiter))
    if metrics is not None:
        session.middleware(MeteredRequests(metrics))  # inside the retries: each attempt counts
    return Bot(token=token, session=session,
               default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True))


def make_dispatcher(channel: TelegramChannel) -> Dispatcher:
    dp = Dispatcher()
    dp.include_router(channel.router())
    return dp


async def set_commands(bot: Bot, app: App) -> None:
    """The command menu in German (default) and English (for English-language clients)."""
    for locale, language_code in (("de", None), ("en", "en")):
        commands = [BotCommand(command=name, description=app.catalog.render(f"command.{name}", locale=locale))
                    for name in MENU_COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language_code)


async def run_telegram(app: App, webhook: bool) -> None:
    settings = app.settings
    assert settings.bot_token is not None
    limiter = app.telegram_limiter()  # one per process: Telegram counts answers and proactive messages together
    bot = make_bot(settings.bot_token.get_secret_value(), settings.api_base, limiter=limiter, metrics=app.metrics)
    outbox_bot = make_bot(settings.bot_token.get_secret_value(), settings.api_base, retry=False)
    channel = TelegramChannel(app.engine, app.catalog, app.uow_factory, metrics=app.metrics)
    # The outbox tells the channel what it sent: a press on a message with a reminder below it
    # must not rewrite that message.
    outbox = app.outbox_dispatcher(TelegramSender(outbox_bot, app.catalog, latest=channel.latest,
                                                  paid_broadcast=settings.allow_paid_broadcast), limiter=limiter)
    companies = company_channels(app)  # lead notifications by e-mail and webhook
    answers = app.answer_worker()  # free questions answered by the model (OPENAI_API_KEY)
    dp = make_dispatcher(channel)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app.metrics.add_channels([outbox.channel, *(d.channel for d in companies.dispatchers)])
    ops = Ops.open(app.metrics, settings.database_url, app.clock)  # /healthz, /readyz, /metrics
    ops_server = None
    scheduler = None
    offer_import: DailyOfferImport | None = None
    try:
        if not webhook and settings.metrics_address is not None:  # webhook mode: on the webhook server
            ops_server = await serve(ops, *settings.metrics_address)
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            raise TokenRejected("BOT_TOKEN was rejected by the Bot API (401 Unauthorized)") from None
        log.info("running as @%s", me.username)
        if me.username:
            app.catalog.globals["bot"] = me.username  # deep links in texts (parents' confirmation) name this bot
        await set_commands(bot, app)
        channel.callback_answers.stored_before_start(await channel.newest_stored_update())
        outboxes = [outbox, *companies.dispatchers]
        app.uow_factory.on_outbox_commit(wake_on_commit(outboxes))
        if answers is not None:
            app.uow_factory.on_outbox_commit(wake_answers(answers))
        offer_import = daily_offer_import(app, settings) if settings.ba_import_enabled else None
        scheduler = start_scheduler(app.uow_factory, app.clock, settings.timezone, outboxes,
                                    admins=app.engine.admins, places=default_directory(),
                                    broadcasts=app.broadcast_policy(), answers=answers,
                                    offer_import=offer_import, commutes=commute_planner(app, settings))
        if webhook:
            # Replies a crash kept from going out; other live workers may be sending their recent ones,
            # so only abandoned ones now, and every RESEND_EVERY from then on.
            await channel.resend_unanswered(bot, app.clock.now() - RESEND_WITHIN, abandoned_only=True)
            resending = asyncio.create_task(_resend_abandoned(channel, bot, app, stop), name="resend")
            try:
                await _serve_webhook(app, dp, bot, stop, ops)
            finally:
                resending.cancel()
        else:
            async with polling_lease(Leases(app.uow_factory.sessions), me.id, app.clock, stop):
                # The only poller: every unsent reply is from a process that died (polling confirmed its
                # update once stored), sent before anything newer.
                await channel.resend_unanswered(bot, app.clock.now() - RESEND_WITHIN)
                await bot.delete_webhook(drop_pending_updates=False)  # never drop what users sent
                await poll(dp, bot, stop)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        if offer_import is not None:
            await offer_import.close()
        if answers is not None:
            await answers.close()  # a question being answered comes back when its lease ends
        await outbox.close()  # unsent messages go back to pending at once
        await limiter.close()  # the last sends' give-backs reach the shared budget
        await companies.close()
        await bot.session.close()
        await outbox_bot.session.close()
        if ops_server is not None:
            await ops_server.cleanup()
        await ops.close()


async def _resend_abandoned(channel: TelegramChannel, bot: Bot, app: App, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), RESEND_EVERY.total_seconds())
            return
        except TimeoutError:
            pass
        try:
            await channel.resend_unanswered(bot, app.clock.now() - RESEND_WITHIN, abandoned_only=True)
        except Exception:
            log.exception("resending abandoned replies failed")


async def _serve_webhook(app: App, dp: Dispatcher, bot: Bot, stop: asyncio.Event, ops: Ops | None = None) -> None:
    settings = app.settings
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    runner = web.AppRunner(webhook_app(dp, bot, settings.webhook_path, secret, ops=ops))
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    log.info("webhook listening on %s:%s%s", settings.webhook_host, settings.webhook_port, settings.webhook_path)
    if settings.webhook_url is not None:
        try:
            await bot.set_webhook(str(settings.webhook_url), secret_token=secret,
                                  allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
        except TelegramBadRequest as error:
            raise TokenRejected(f"WEBHOOK_URL was refused by the Bot API: {error.message}") from None
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
