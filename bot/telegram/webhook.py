"""Webhook server (aiohttp): checks the secret header, answers 200 only after the update is handled."""
from __future__ import annotations

import hmac
import logging

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.ops import Ops

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_app(dp: Dispatcher, bot: Bot, path: str, secret: str | None, ops: Ops | None = None) -> web.Application:
    """`ops`: /healthz, /readyz and /metrics (bot/ops.py) on this server too; without it only /healthz."""
    async def receive(request: web.Request) -> web.Response:
        if secret is not None:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=401, text="unauthorized")
        try:
            update = Update.model_validate(await request.json(), context={"bot": bot})
        except (ValueError, ValidationError):
            return web.Response(status=400, text="not an update")
        try:
            await dp.feed_update(bot, update)
        except Exception:  # not stored: a 5xx makes Telegram deliver it again
            log.exception("update %s failed", update.update_id)
            return web.Response(status=500, text="try again")
        return web.Response(status=200)

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(path, receive)
    if ops is not None:
        ops.add_routes(app)
    else:
        app.router.add_get("/healthz", health)
    return app
