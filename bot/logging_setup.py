"""Logging without secrets: the bot token is redacted from every record, whoever logs it.

LOG_FORMAT=text (default): one readable line per record. LOG_FORMAT=json: one JSON object per line
with time (UTC, ISO 8601), level, logger, message and, for an error, its exception text, for log
collectors. Neither carries personal data: the messages never contain texts or names of users.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

TOKEN_IN_TEXT = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text: str) -> str:
    return TOKEN_IN_TEXT.sub("[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class TextFormatter(logging.Formatter):
    """The plain format; a traceback is redacted too (a request URL in it would carry the token)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatException(self, ei: Any) -> str:  # logging's name and signature
        return redact(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and (if any) exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def make_handler(log_format: str = "text") -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RedactSecrets())
    return handler


def setup_logging(level: str, log_format: str = "text") -> None:
    root = logging.getLogger()
    root.handlers[:] = [make_handler(log_format)]
    root.setLevel(level)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # "Running job" every second for the outbox
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # a line per scrape and webhook call
    logging.getLogger("httpx").setLevel(logging.WARNING)  # at INFO a line per request, with its query
