"""Playing Telegram towards a `lotse run --webhook` under test: a free port for it, and an update
posted to it as Telegram does (JSON, the secret header), answered with the HTTP status."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def post_update(url: str, update: dict[str, Any], secret: str | None = None, timeout: float = 30) -> int:
    """The webhook's HTTP status (it answers only after the update is handled and answered)."""
    request = urllib.request.Request(url, data=json.dumps(update).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    if secret is not None:
        request.add_header(SECRET_HEADER, secret)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
