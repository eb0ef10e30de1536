"""Configuration from environment variables and an optional .env file (see .env.example)."""
from __future__ import annotations

import ipaddress
import re
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, HttpUrl, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from content import DEMO_DIR
from content.schema import check_email
from flows.delivery.quiet_hours import DEFAULT_ADULTS, DEFAULT_MINORS, QuietHours, parse_window
from flows.domain.answers import QUESTION_HARD_MAX
from flows.domain.broadcast import DEFAULT_WEEKLY_CAP

TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
HOST_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_BA_URL = "https://rest.arbeitsagentur.de/jobboerse/jobsuche-service/pc/v6/jobs"
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    telegram_api_url: HttpUrl = HttpUrl("https://api.telegram.org")
    database_url: str = "sqlite+aiosqlite:///./lotse.db"
    content_dir: Path = DEMO_DIR
    timezone: str = "Europe/Berlin"
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_console_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)  # `lotse chat --user N`
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line (bot/logging_setup.py)
    # /metrics, /healthz, /readyz in long polling mode (bot/ops.py); webhook mode serves them on its server.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=8082, ge=0, le=65535)  # 0 or empty: no metrics server
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_path: str = "/telegram/webhook"
    webhook_url: HttpUrl | None = None
    webhook_secret: SecretStr | None = None
    quiet_hours_minors: str = DEFAULT_MINORS
    quiet_hours_adults: str = DEFAULT_ADULTS
    outbox_rate_per_second: float = Field(default=30.0, gt=0, le=1000)
    outbox_rate_per_chat_per_second: float = Field(default=1.0, gt=0, le=100)
    outbox_burst_per_chat: int = Field(default=3, ge=1, le=20)  # Telegram tolerates a short burst per chat
    outbox_lease_seconds: int = Field(default=60, ge=5, le=3600)
    # Announcements of cluster agents (issue 11).
    broadcast_weekly_cap: int = Field(default=DEFAULT_WEEKLY_CAP, ge=1, le=50)  # per person and 7 days
    broadcast_approval_minors: int | None = Field(default=None, ge=0)  # more minors than this: a second agent
    allow_paid_broadcast: bool = False  # Telegram's paid broadcasts (up to 1000/s, 0.1 Stars per message)
    # The web cockpit of cluster agents (`lotse cockpit`, issue 12).
    cockpit_url: HttpUrl | None = None  # the address agents open; /cockpit's sign-in links lead there
    cockpit_host: str = "127.0.0.1"  # listen address (behind a reverse proxy that speaks HTTPS)
    cockpit_port: int = Field(default=8081, ge=1, le=65535)
    cockpit_session_hours: int = Field(default=8, ge=1, le=24)  # signed out after this, at the latest
    bot_username: str | None = None  # for t.me links and QR codes; else asked from Telegram (getMe)
    # Lead delivery to companies by e-mail (SMTP) and webhook (bot/delivery/).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = Field(default=None, validate_default=True)
    smtp_from: str | None = Field(default=None, validate_default=True)
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_signing_key: SecretStr | None = None
    # Free questions answered by a language model (issue 13, bot/llm.py). No key: the bot answers from its
    # own pages (offline). A local OpenAI-compatible server (llama.cpp, Ollama, vLLM): its URL and any key.
    openai_api_key: SecretStr | None = None
    openai_base_url: HttpUrl = HttpUrl(DEFAULT_OPENAI_URL)
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = Field(default=15.0, gt=0, le=120)  # for the whole answer, retries included
    llm_rate_per_user: int = Field(default=20, ge=1, le=1000)  # questions per person and hour
    question_max_chars: int = Field(default=500, ge=50, le=QUESTION_HARD_MAX)
    # Bus and train timetables (issue 16): `lotse transit load` writes the network here; the bot reads it.
    transit_file: Path = Path("transit.network")
    transit_plan_hour: int = Field(default=2, ge=0, le=23)  # local time: the night the next school day is planned
    # Offers from the Arbeitsagentur's job search (issue 15, imports/ba.py): `lotse offers import ba` any time;
    # the daily run only when enabled. The interface is unofficial and moved before: its URL is a setting.
    ba_import_enabled: bool = False
    ba_api_url: HttpUrl = HttpUrl(DEFAULT_BA_URL)
    ba_import_hour: int = Field(default=4, ge=0, le=23)  # local time (TIMEZONE) of the daily run
    ba_import_pace_seconds: float = Field(default=1.0, ge=0, le=60)  # between two requests: be polite

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TOKEN_RE.match(value.get_secret_value()):
            raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL, e.g. sqlite+aiosqlite:///./lotse.db") from None
        backend = url.get_backend_name()
        if backend not in ASYNC_DRIVERS:
            raise ValueError("only SQLite and PostgreSQL are supported")
        if url.drivername in ("sqlite", "postgresql", "postgres"):  # plain URLs get the async driver
            url = url.set(drivername=ASYNC_DRIVERS[url.drivername])
        return url.render_as_string(hide_password=False)

    @field_validator("content_dir")
    @classmethod
    def _content_dir_exists(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"folder {value} does not exist")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone, e.g. Europe/Berlin") from None
        return value

    @field_validator("admin_telegram_ids", "admin_console_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                example = ("numeric Telegram ids, e.g. 12345,67890" if info.field_name == "admin_telegram_ids"
                           else "numeric terminal user ids (lotse chat --user N), e.g. 1,7")
                raise ValueError(f"must be comma-separated {example}")
            return [int(p) for p in parts]
        return value

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _https(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and value.scheme != "https":
            raise ValueError("must be an https:// URL (Telegram calls webhooks only over HTTPS)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ -")
        return value

    @field_validator("quiet_hours_minors", "quiet_hours_adults")
    @classmethod
    def _quiet_window(cls, value: str, info: ValidationInfo) -> str:
        window = parse_window(value)
        if window is None and info.field_name == "quiet_hours_minors":
            raise ValueError("cannot be off: minors get no proactive messages at night")
        return str(window) if window is not None else "off"

    @field_validator("cockpit_url")
    @classmethod
    def _cockpit_base(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is None:
            return None
        local = value.host in ("127.0.0.1", "localhost", "::1", "[::1]")
        if value.scheme != "https" and not local:
            raise ValueError("must be an https:// URL (plain http only for 127.0.0.1 or localhost)")
        if value.query or value.fragment:
            raise ValueError("must be a base address without ? or #, e.g. https://cockpit.example.org")
        return value

    @field_validator("bot_username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.removeprefix("@")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", value):
            raise ValueError("must be the bot's Telegram username (5-32 letters, digits or _), e.g. AzubiLotseBot")
        return value

    @field_validator("smtp_host")
    @classmethod
    def _host_name(cls, value: str | None) -> str | None:
        if value is not None and not _is_host(value):
            raise ValueError("must be a host name or IP address without scheme or port, e.g. smtp.example.org")
        return value

    @field_validator("metrics_host")
    @classmethod
    def _listen_address(cls, value: str) -> str:
        if not _is_host(value):
            raise ValueError("must be an address to listen on, e.g. 127.0.0.1 or 0.0.0.0")
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("smtp_password")
    @classmethod
    def _password_with_user(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if (value is None) != (info.data.get("smtp_user") is None):
            raise ValueError("and SMTP_USER must be set together (or both left empty)")
        return value

    @field_validator("smtp_from")
    @classmethod
    def _sender_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("smtp_host") is not None:
                raise ValueError("is required when SMTP_HOST is set, e.g. Azubi-Lotse <lotse@example.org>")
            return None
        try:
            check_email(parseaddr(value)[1])
        except ValueError:
            raise ValueError("must be an address like lotse@example.org or Azubi-Lotse <lotse@example.org>") from None
        return value.strip()

    @field_validator("webhook_signing_key")
    @classmethod
    def _long_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters, e.g. the output of: openssl rand -hex 32")
        return value

    @field_validator("openai_api_key")
    @classmethod
    def _api_key_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[\x21-\x7e]{1,512}", value.get_secret_value()):
            raise ValueError("must be the API key without spaces (a local server takes any word, e.g. local)")
        return value

    @field_validator("openai_base_url", mode="before")
    @classmethod
    def _default_url(cls, value: object) -> object:
        return DEFAULT_OPENAI_URL if value == "" else value

    @field_validator("openai_base_url")
    @classmethod
    def _model_server(cls, value: HttpUrl) -> HttpUrl:
        return _service_url(value, "http://127.0.0.1:11434/v1", "ollama:11434/v1")

    @field_validator("ba_api_url", mode="before")
    @classmethod
    def _default_ba_url(cls, value: object) -> object:
        return DEFAULT_BA_URL if value == "" else value

    @field_validator("ba_api_url")
    @classmethod
    def _ba_server(cls, value: HttpUrl) -> HttpUrl:
        return _service_url(value, DEFAULT_BA_URL, "jobs:8080/pc/v6/jobs")

    @field_validator("openai_model")
    @classmethod
    def _model_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}", value):
            raise ValueError("must be a model name such as gpt-4o-mini or llama3.1:8b")
        return value

    @field_validator("bot_token", "webhook_secret", "webhook_url", "smtp_host", "smtp_user", "smtp_password",
                     "smtp_from", "webhook_signing_key", "broadcast_approval_minors", "cockpit_url", "bot_username",
                     "openai_api_key", "metrics_port", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def quiet_hours(self) -> QuietHours:
        return QuietHours.parse(self.quiet_hours_minors, self.quiet_hours_adults, self.timezone)

    @property
    def cockpit_base(self) -> str | None:
        """COCKPIT_URL without a trailing slash (None: the cockpit is not set up)."""
        return str(self.cockpit_url).rstrip("/") if self.cockpit_url is not None else None

    @property
    def llm_enabled(self) -> bool:
        """Free questions go to a language model (OPENAI_API_KEY is set)."""
        return self.openai_api_key is not None

    @property
    def llm_host(self) -> str | None:
        """Where free questions go (shown in /datenschutz): OPENAI_BASE_URL's host; None without a key."""
        if not self.llm_enabled:
            return None
        url = self.openai_base_url
        return f"{url.host}:{url.port}" if url.port not in (None, 80, 443) else url.host

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """Where long polling serves /metrics, /healthz and /readyz; None: METRICS_PORT is 0 or empty."""
        return (self.metrics_host, self.metrics_port) if self.metrics_port else None

    @property
    def api_base(self) -> str:
        return str(self.telegram_api_url).rstrip("/")


def _is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return len(value) <= 253 and all(HOST_LABEL_RE.fullmatch(label) for label in value.split("."))


def _service_url(value: HttpUrl, example: str, compose_example: str) -> HttpUrl:
    """The address of a service the bot calls: no user, query or fragment; https unless it is near."""
    if value.query or value.fragment or value.username or value.password:
        raise ValueError(f"must be an address without user, ? or #, e.g. {example}")
    if value.scheme != "https" and not _is_near(value.host or ""):
        raise ValueError("must be an https:// URL (plain http only for this host, a private network "
                         f"address or a compose service name such as http://{compose_example})")
    return value


def _is_near(host: str) -> bool:
    """This machine, a private network or a name without dots (a compose service): plain http is fine."""
    host = host.strip("[]")
    try:
        address = ipaddress.ip_address(host)
        return address.is_loopback or address.is_private or address.is_link_local
    except ValueError:
        return host == "localhost" or host.endswith(".localhost") or "." not in host


class ConfigError(Exception):
    """One line naming the variable and what is wrong."""


def describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"configuration error: {name} {message}"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(describe(error)) from None
