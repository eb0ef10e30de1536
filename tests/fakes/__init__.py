"""Test doubles for external services (fake Telegram Bot API server)."""

from .bot_api import (
    NGINX_502_HTML,
    ApiError,
    CallbackQueryRecord,
    ErrorRecord,
    FakeBotApi,
    RecordedRequest,
    RetryAfterViolation,
    StoredDocument,
    StoredMessage,
    ThreadedFakeBotApi,
)

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"  # the bot token every test process uses

__all__ = [
    "TOKEN",
    "NGINX_502_HTML",
    "ApiError",
    "CallbackQueryRecord",
    "ErrorRecord",
    "FakeBotApi",
    "RecordedRequest",
    "RetryAfterViolation",
    "StoredDocument",
    "StoredMessage",
    "ThreadedFakeBotApi",
]
