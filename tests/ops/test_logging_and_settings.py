"""LOG_FORMAT=json (one JSON object per line) and the settings of the operations endpoints."""
from __future__ import annotations

import io
import json
import logging

import pytest
from pydantic import ValidationError

from bot.logging_setup import make_handler
from bot.settings import Settings

TOKEN = "7000000001:TEST-abcdefghijklmnopqrstuvwxyz123456"


def _logger(log_format: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = make_handler(log_format)
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logger = logging.getLogger(f"tests.ops.{log_format}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_a_json_log_line_is_one_object_with_the_fields() -> None:
    logger, stream = _logger("json")
    logger.info("outbox %s: %d sent", "telegram", 3)
    try:
        raise ValueError(f"request to /bot{TOKEN}/sendMessage failed")
    except ValueError:
        logger.exception("update %s failed", 42)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "INFO" and first["logger"] == "tests.ops.json"
    assert first["message"] == "outbox telegram: 3 sent"
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert second["level"] == "ERROR" and second["message"] == "update 42 failed"
    assert "ValueError" in second["exception"] and "Traceback" in second["exception"]
    assert TOKEN not in stream.getvalue() and "[redacted]" in second["exception"]


def test_the_token_is_redacted_in_both_formats() -> None:
    for log_format in ("text", "json"):
        logger, stream = _logger(log_format)
        logger.warning("calling %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
        assert TOKEN not in stream.getvalue() and "[redacted]" in stream.getvalue()
    text_logger, text_stream = _logger("text")
    text_logger.info("plain")
    assert " INFO tests.ops.text: plain" in text_stream.getvalue()


def _settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg, arg-type]


def test_metrics_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("METRICS_HOST", "METRICS_PORT", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    defaults = _settings()
    assert defaults.metrics_address == ("127.0.0.1", 8082) and defaults.log_format == "text"
    assert _settings(metrics_port="").metrics_address is None
    assert _settings(metrics_port="0").metrics_address is None
    assert _settings(metrics_host="0.0.0.0", metrics_port="9464").metrics_address == ("0.0.0.0", 9464)
    assert _settings(log_format="JSON").log_format == "json"
    for bad in ({"metrics_port": "70000"}, {"metrics_host": "http://x:1"}, {"log_format": "xml"}):
        with pytest.raises(ValidationError):
            _settings(**bad)
