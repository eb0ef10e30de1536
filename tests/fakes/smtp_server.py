"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records what it accepted.

Started in the test's own loop (`async with LocalSmtpServer() as smtp`) or in a thread
(`with LocalSmtpServer() as smtp`), on a port the system picks. It can refuse recipients, answer
DATA with an error, and require a login.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import time
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.fakes.threaded import LocalServer, wait_for_count


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    accepted_at: float  # time.time() when the server answered 250 to DATA
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        self.message = email.message_from_bytes(self.raw, policy=email.policy.default)

    @property
    def body(self) -> str:
        return str(self.message.get_content())


class _Handler:
    def __init__(self, server: LocalSmtpServer) -> None:
        self._server = server

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        refusal = self._server.refuse.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._server.data_answers:
            return self._server.data_answers.pop(0)
        content = envelope.original_content or b""
        self._server.mails.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), content,
                                               time.time()))
        return "250 2.0.0 Message accepted for delivery"


class LocalSmtpServer(LocalServer):
    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self.mails: list[ReceivedMail] = []
        self.refuse: dict[str, str] = {}  # recipient -> answer to RCPT, e.g. "550 5.1.1 no such user"
        self.data_answers: list[str] = []  # next answers to DATA instead of accepting, e.g. "451 ..."
        self._login = login
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    def _protocol(self) -> SMTP:
        options: dict[str, Any] = {}
        if self._login is not None:
            options = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        with warnings.catch_warnings():  # login without TLS: exactly what a test on 127.0.0.1 wants
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(_Handler(self), hostname="smtp.test", decode_data=False, **options)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self._login == (auth_data.login.decode(),
                                                                      auth_data.password.decode())
        return AuthResult(success=ok, handled=False)

    async def start(self) -> Self:
        self._server = await asyncio.get_running_loop().create_server(self._protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def wait_for_sync(self, count: int, timeout: float = 20.0) -> list[ReceivedMail]:
        return wait_for_count(self.mails, count, timeout)
