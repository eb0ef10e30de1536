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

__all__ = [
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
