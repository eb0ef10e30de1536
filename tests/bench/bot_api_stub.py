"""A minimal Bot API stub for benchmarks: answers every method at once, in its own process.

Unlike tests/fakes (which validates like Telegram), this one does as little as possible, so the
benchmark measures the bot, not the fake. Both the bare handler and the full pipeline use it.
"""
from __future__ import annotations

import itertools
import json
import multiprocessing
import socket
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

_ids = itertools.count(1)


async def _handle(request: web.Request) -> web.Response:
    method = request.match_info["method"].lower()
    if method in ("sendmessage", "editmessagetext", "senddocument"):
        data: Mapping[str, Any] = (
            await request.post() if request.content_type != "application/json" else await request.json())
        chat_id = int(data.get("chat_id", 1))
        result: object = {"message_id": next(_ids), "date": int(time.time()),
                          "chat": {"id": chat_id, "type": "private"}, "text": str(data.get("text", ""))}
    elif method == "getme":
        result = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
    else:
        result = True
    return web.Response(text=json.dumps({"ok": True, "result": result}), content_type="application/json")


def _serve(port: int) -> None:
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", _handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StubServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.process = multiprocessing.get_context("spawn").Process(target=_serve, args=(self.port,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StubServer:
        self.process.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("bench stub did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(timeout=10)
