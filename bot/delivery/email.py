"""The outbox's Sender for e-mail: one lead notification = one plain-text e-mail through SMTP.

Subject and body are the texts `email.<message key>.subject` / `.body`. A new connection per
e-mail: at a few e-mails per second that costs little, and no connection state survives an error.
The Message-ID is derived from the lead and the message key, so a repeat (a crash between the
server's "250" and our record of it) carries the same id and mail clients can recognise it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiosmtplib

from bot.settings import Settings
from flows.core.model import Reply, UserRef
from flows.core.ports import Clock, CompanyDirectory
from flows.delivery.company_delivery import EMAIL, delivery_id
from flows.delivery.outbox import SendResult
from prompts import Catalog

MESSAGE_ID_DOMAIN = "azubi-lotse"

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    sender: str  # the From header, e.g. "Azubi-Lotse <lotse@example.org>"
    port: int = 587
    security: Security = "starttls"  # starttls: required, never a silent fall-back to plain text
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """None without SMTP_HOST: e-mails then fail with "SMTP_HOST is not set"."""
        if settings.smtp_host is None or settings.smtp_from is None:
            return None
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(host=settings.smtp_host, sender=settings.smtp_from, port=settings.smtp_port,
                   security=settings.smtp_security, user=settings.smtp_user, password=password,
                   timeout=settings.smtp_timeout_seconds)


class EmailSender:
    channel = EMAIL

    def __init__(self, directory: CompanyDirectory, catalog: Catalog, config: SmtpConfig | None, clock: Clock,
                 timezone: str = "Europe/Berlin") -> None:
        self._directory = directory
        self._catalog = catalog
        self._config = config
        self._clock = clock
        self._zone = ZoneInfo(timezone)

    async def send(self, recipient: UserRef, reply: Reply, locale: str, formal: bool) -> SendResult:
        config = self._config
        if config is None:
            return SendResult.permanent("SMTP_HOST is not set")
        company = await self._directory.delivery(recipient.chat_id)
        if company is None:
            return SendResult.permanent("unknown company")
        if not company.email:
            return SendResult.permanent("no e-mail address")
        try:
            message = self.compose(config.sender, company.email, reply, locale, formal)
        except Exception as error:  # a missing text or value: the same message would fail again
            return SendResult.permanent(f"cannot render {reply.key}: {type(error).__name__}")
        try:
            await aiosmtplib.send(
                message, hostname=config.host, port=config.port, username=config.user, password=config.password,
                use_tls=config.security == "tls", start_tls=config.security == "starttls",
                timeout=config.timeout)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            text = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
            return _by_code(min(codes) if codes else 451, f"recipient refused: {text}", refusal=True)
        except aiosmtplib.SMTPResponseException as error:
            refusal = isinstance(error, (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError))
            return _by_code(error.code, f"{type(error).__name__}: {error.code} {error.message}", refusal)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            # refused connection, timeout, TLS failure, STARTTLS missing: the server or our settings
            return SendResult.transient(f"{type(error).__name__}: {error}")
        return SendResult.ok()

    def compose(self, sender: str, to: str, reply: Reply, locale: str, formal: bool) -> EmailMessage:
        values = {**reply.values, **local_times(reply.values, self._zone)}
        subject = self._catalog.render(f"email.{reply.key}.subject", values, locale, formal)
        body = self._catalog.render(f"email.{reply.key}.body", values, locale, formal)
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = " ".join(subject.split())  # one line, whatever a value contained
        message["Date"] = format_datetime(self._clock.now().astimezone(UTC))
        message["Message-ID"] = f"<{delivery_id(reply)}@{MESSAGE_ID_DOMAIN}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to us
        # quoted-printable: 7-bit safe for any relay, still readable in the raw message
        message.set_content(body + "\n", charset="utf-8", cte="quoted-printable")
        return message


def _by_code(code: int, error: str, refusal: bool) -> SendResult:
    """5xx refusing this recipient or this content is final; 4xx, and 5xx about our login or
    sender address (a configuration matter, not this message's), are tried again."""
    if 500 <= code < 600 and refusal:
        return SendResult.permanent(error)
    return SendResult.transient(error)


def local_times(values: dict[str, Any], zone: ZoneInfo) -> dict[str, str]:
    """`consent_at` (ISO 8601) -> `consent_at_local` "13.03.2027, 09:00" in the configured zone."""
    shown: dict[str, str] = {}
    for name, value in values.items():
        if name.endswith("_at") and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)  # the outbox stores UTC
            shown[f"{name}_local"] = moment.astimezone(zone).strftime("%d.%m.%Y, %H:%M")
    return shown
