"""A fake Telegram Bot API server for tests.

``FakeBotApi`` is a real aiohttp HTTP server on 127.0.0.1 that answers
``/bot{token}/{method}`` like api.telegram.org: same envelope
(``{"ok": ..., "result"|"error_code"/"description"/"parameters"}``), same HTTP
status codes, Telegram-like validation and error descriptions.  A bot process
pointed at ``api.url`` (e.g. via ``TELEGRAM_API_URL``) cannot tell the
difference for the methods implemented here.

Tests drive the "user side" in-process (``user_sends_text``, ``user_presses``
…), inspect what the bot did (``sent``, ``requests``, ``errors``) and inject
failures (``fail_next``, ``block_chat``, ``enforce_limits``).

The server can run in the test's own event loop (``await api.start()`` /
``async with``) or in a background thread with its own loop
(``api.start_in_thread()`` / ``with ThreadedFakeBotApi(...)``).  All state is
guarded by one lock, so the test-side API is safe to call from any thread.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import mimetypes
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

from aiohttp import web

from .bot_api_html import HtmlParseError, parse_html, trim_text, utf16_len

__all__ = [
    "ApiError",
    "CallbackQueryRecord",
    "ErrorRecord",
    "FakeBotApi",
    "NGINX_502_HTML",
    "RecordedRequest",
    "RetryAfterViolation",
    "StoredDocument",
    "StoredMessage",
    "ThreadedFakeBotApi",
]

T = TypeVar("T")
Params = dict[str, Any]

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_POLL_TIMEOUT = 50.0

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
BLOCKED = "Forbidden: bot was blocked by the user"
BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"

NGINX_502_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}

# Methods that send something into a chat: blocked chats answer 403.
_BLOCKABLE = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup"}
)
# Methods subject to retry_after cooldowns (per chat or global). answerCallbackQuery is not:
# Telegram's maintainers say it has no limit (tdlib/telegram-bot-api#648).
_COOLDOWN_METHODS = _BLOCKABLE
# Methods counted by enforce_limits() (edits too unless count_edits=False, as Telegram counts them).
_NEW_MESSAGE_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
_EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup"})

_INT_PARAMS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id",
     "cache_time", "max_connections", "message_thread_id", "user_id"}
)
_BOOL_PARAMS = frozenset(
    {"drop_pending_updates", "show_alert", "disable_notification", "protect_content",
     "disable_web_page_preview", "allow_sending_without_reply",
     "disable_content_type_detection", "for_channels"}
)
_JSON_PARAMS = frozenset(
    {"reply_markup", "entities", "caption_entities", "allowed_updates", "commands", "scope",
     "link_preview_options", "reply_parameters"}
)

_INLINE_BUTTON_KINDS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_REPLY_BUTTON_KINDS = (
    "request_contact", "request_location", "request_poll", "request_users", "request_chat",
    "web_app",
)
_SCOPE_TYPES = frozenset(
    {"default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
     "chat_administrators", "chat_member"}
)
# Update types delivered only if explicitly listed in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_USER_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
# http(s)/tg URLs; Telegram also accepts scheme-less "t.me/..." style links.
_URL_RE = re.compile(r"^(?:(?:https?|tg)://\S+|[\w-]+(?:\.[\w-]+)+(?:[/?#]\S*)?)$", re.IGNORECASE)
_LANG_RE = re.compile(r"^(?:[a-z]{2})?$")


# --------------------------------------------------------------------------
# Records and stored objects
# --------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API (raised inside method handlers)."""

    def __init__(
        self,
        status: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        body: str | None = None,
        cooldown: Literal["chat", "global", "none"] = "none",
    ) -> None:
        self.status = status
        self.description = description or _DEFAULT_DESCRIPTIONS.get(status, "Error")
        self.retry_after = retry_after
        self.body = body  # raw (non-JSON) body, e.g. an nginx error page
        self.cooldown = cooldown  # register a retry_after cooldown for this scope
        super().__init__(f"{status} {self.description}")

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": False, "error_code": self.status, "description": self.description,
        }
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


class RecordedRequest(NamedTuple):
    """One HTTP request: canonical method name, decoded params, arrival time
    (``time.monotonic()``) and HTTP status (0 = still in flight, 499 = client
    hung up, e.g. an abandoned long poll)."""

    method: str
    params: Params
    time: float
    status: int


class ErrorRecord(NamedTuple):
    method: str
    params: Params
    time: float
    status: int
    description: str


@dataclass(frozen=True)
class RetryAfterViolation:
    """A request sent while a retry_after returned earlier was still running."""

    method: str
    chat_id: int | None
    time: float  # time.monotonic() of the offending request
    allowed_at: float  # monotonic time from which requests were allowed again
    scope: Literal["chat", "global"]


@dataclass
class StoredDocument:
    file_id: str
    file_unique_id: str
    filename: str | None
    mime_type: str | None
    data: bytes | None  # None when sent by URL
    url: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0

    def to_api(self) -> dict[str, Any]:
        result: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.filename:
            result["file_name"] = self.filename
        if self.mime_type:
            result["mime_type"] = self.mime_type
        if self.data is not None:
            result["file_size"] = len(self.data)
        return result


@dataclass
class StoredMessage:
    """A message in a chat, sent by the bot (``from_bot``) or by the fake user.

    ``text`` is the plain text after entity parsing (the caption for
    documents), ``html`` the source the bot sent with ``parse_mode=HTML``
    (or the escaped plain text otherwise).  For edited messages the fields
    hold the current version and ``history`` the previous ones.
    """

    chat_id: int
    message_id: int
    from_bot: bool
    date: int
    kind: str = "text"  # text | document | contact | location | sticker | photo | voice | ...
    text: str = ""
    html: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    edit_date: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    document: StoredDocument | None = None
    reply_to_message_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # raw fields of user messages
    seq: int = 0  # global creation order across chats

    @property
    def edited(self) -> bool:
        return self.edit_date is not None

    @property
    def inline_markup(self) -> dict[str, Any] | None:
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            return self.reply_markup
        return None

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons as ``(text, callback_data)``; callback_data is None for URL etc."""
        markup = self.inline_markup or {}
        return [
            (button.get("text", ""), button.get("callback_data"))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]


@dataclass
class CallbackQueryRecord:
    id: str
    chat_id: int
    message_id: int
    data: str
    issued_at: float
    update_id: int
    answered: bool = False
    answer: Params | None = None  # params of answerCallbackQuery (text, show_alert, ...)
    answered_at: float | None = None  # time.monotonic() of the accepted answer


@dataclass
class _Injection:
    method: str  # lower-case method name or "*"
    status: int
    retry_after: int | None
    remaining: int
    description: str | None
    chat_id: int | None
    body: str | None
    scope: Literal["auto", "chat", "global"]


@dataclass
class _RequestEntry:
    method: str
    params: Params
    time: float
    status: int = 0  # 0 while the request is still being handled

    def snapshot(self) -> RecordedRequest:
        return RecordedRequest(self.method, self.params, self.time, self.status)


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class _Chat:
    id: int
    user: dict[str, Any]
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: dict[str, Any] | None = None

    def to_api(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.user["first_name"]}
        for key in ("last_name", "username"):
            if self.user.get(key):
                chat[key] = self.user[key]
        return chat


@dataclass
class _Limits:
    """Overall: at most ``global_per_second * window`` in any sliding window. Per chat: a token
    bucket (GCRA) – ``chat_burst`` at once, then ``per_chat_per_second`` on average."""

    global_per_second: float
    per_chat_per_second: float
    window: float
    count_edits: bool
    chat_burst: int = 1
    tolerance: float = 0.01
    global_times: deque[float] = field(default_factory=deque)
    chat_due: dict[int, float] = field(default_factory=dict)  # chat -> theoretical time of the next message

    def chat_wait(self, chat_id: int, now: float) -> float:
        """Seconds until one more message to the chat is within its budget (0: now)."""
        interval = 1.0 / self.per_chat_per_second
        due = self.chat_due.get(chat_id, now)
        return max(0.0, due - (self.chat_burst - 1) * interval - now)


@dataclass
class _RandomFailure:
    methods: frozenset[str]  # lower-case names
    probability: float
    status: int
    retry_after: int | None
    rng: random.Random


# --------------------------------------------------------------------------
# Parameter helpers
# --------------------------------------------------------------------------


def _normalize_params(raw: dict[str, Any]) -> Params:
    """Decode form strings the way Telegram interprets them (ints, bools, JSON)."""
    params: Params = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _JSON_PARAMS:
                try:
                    value = json.loads(value)
                except ValueError:
                    pass  # handlers report a parse error
            elif key in _INT_PARAMS and re.fullmatch(r"-?\d+", value.strip()):
                value = int(value)
            elif key in _BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
                value = value.lower() in ("true", "1")
        params[key] = value
    return params


def _opt_str(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _opt_int(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"Bad Request: invalid {name} specified")
    return value


def _chat_id_of(params: Params) -> int | None:
    value = params.get("chat_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _strip_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_none(v) for v in obj]
    return obj


def _validate_reply_markup(value: Any) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram; return a normalized copy (or None)."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise ApiError(400, BAD_MARKUP)
    markup: dict[str, Any] = _strip_none(value)
    kinds = [k for k in ("inline_keyboard", "keyboard", "remove_keyboard", "force_reply") if k in markup]
    if len(kinds) != 1:
        raise ApiError(400, BAD_MARKUP)
    kind = kinds[0]
    if kind == "inline_keyboard":
        return _validate_inline_keyboard(markup)
    if kind == "keyboard":
        return _validate_reply_keyboard(markup)
    if markup[kind] is not True:
        raise ApiError(400, BAD_MARKUP)
    placeholder = markup.get("input_field_placeholder")
    if placeholder is not None and (not isinstance(placeholder, str) or len(placeholder) > 64):
        raise ApiError(400, "Bad Request: input field placeholder is too long")
    return markup


def _validate_inline_keyboard(markup: dict[str, Any]) -> dict[str, Any] | None:
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                            "field \"inline_keyboard\" must be an Array of Arrays")
    total = 0
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                    "InlineKeyboardButton must be an Object")
            text = button.get("text")
            if not isinstance(text, str):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                    "Field \"text\" must be of type String")
            if not text.strip():
                raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            kinds = [k for k in _INLINE_BUTTON_KINDS if k in button]
            if not kinds:
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                    "Text buttons are unallowed in the inline keyboard")
            if len(kinds) > 1:
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                    f"exactly one optional field expected, got {', '.join(kinds)}")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not _URL_RE.match(url):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
            total += 1
    if total > 100:
        raise ApiError(400, "Bad Request: reply markup is too long")
    if total == 0:
        return None  # an empty inline keyboard means "no keyboard"
    return markup


def _validate_reply_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
    rows = markup["keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, BAD_MARKUP)
    normalized_rows: list[list[Any]] = []
    for row in rows:
        normalized_row: list[Any] = []
        for button in row:
            if isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise ApiError(400, "Bad Request: can't parse keyboard button: "
                                    "KeyboardButton must be a String or an Object")
            if not button["text"].strip():
                raise ApiError(400, "Bad Request: keyboard button text is empty")
            requests = [k for k in _REPLY_BUTTON_KINDS if button.get(k) not in (None, False)]
            if len(requests) > 1:
                raise ApiError(400, "Bad Request: can't parse keyboard button: "
                                    f"only one of {', '.join(requests)} may be used")
            normalized_row.append(button)
        if normalized_row:
            normalized_rows.append(normalized_row)
    if not normalized_rows:
        raise ApiError(400, "Bad Request: keyboard must be non-empty")
    for flag in ("resize_keyboard", "one_time_keyboard", "is_persistent", "selective"):
        if flag in markup and not isinstance(markup[flag], bool):
            raise ApiError(400, BAD_MARKUP)
    placeholder = markup.get("input_field_placeholder")
    if placeholder is not None and (not isinstance(placeholder, str) or len(placeholder) > 64):
        raise ApiError(400, "Bad Request: input field placeholder is too long")
    return {**markup, "keyboard": normalized_rows}


def _buttons_of(message: StoredMessage | dict[str, Any] | None) -> list[tuple[str, str | None]]:
    if message is None:
        return []
    if isinstance(message, StoredMessage):
        return message.buttons
    markup = message.get("reply_markup", message)
    if not isinstance(markup, dict):
        return []
    return [
        (b.get("text", ""), b.get("callback_data"))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


class FakeBotApi:
    """Fake api.telegram.org for one bot token. See the module docstring."""

    def __init__(
        self,
        token: str,
        *,
        bot_id: int | None = None,
        username: str = "azubi_lotse_test_bot",
        first_name: str = "Azubi-Lotse",
        host: str = "127.0.0.1",
        port: int = 0,
        strict_html: bool = True,
        callback_answer_timeout: float | None = None,
        retry_after_tolerance: float = 0.05,
    ) -> None:
        prefix = token.partition(":")[0]
        self.token = token
        self.bot_id = bot_id if bot_id is not None else (int(prefix) if prefix.isdigit() else 7000000001)
        self.username = username
        self.first_name = first_name
        self.host = host
        self.strict_html = strict_html  # also reject bare "&" and ">" (Telegram keeps them)
        self.callback_answer_timeout = callback_answer_timeout
        self.retry_after_tolerance = retry_after_tolerance
        self.max_poll_timeout = MAX_POLL_TIMEOUT

        self._requested_port = port
        self._port: int | None = None
        self._lock = threading.RLock()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._poll_waiters: set[asyncio.Future[str]] = set()

        # Bot-side state
        self._chats: dict[int, _Chat] = {}
        self._blocked: set[int] = set()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: list[str] | None = None  # None = Telegram's default set
        self._callbacks: dict[str, CallbackQueryRecord] = {}
        self._next_callback_id = 4_317_000_000_000_000_001
        self._next_file_id = 1
        self._next_seq = 1
        self._files: dict[str, StoredDocument] = {}
        self._webhook_url = ""
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}

        # Logs
        self._requests: list[_RequestEntry] = []
        self._errors: list[ErrorRecord] = []
        self._violations: list[RetryAfterViolation] = []
        self._webhook_calls: list[tuple[str, Params]] = []

        # Failure injection and rate limiting
        self._injections: list[_Injection] = []
        self._cooldowns: dict[int | None, float] = {}  # chat_id / None (global) -> allowed_at
        self._limits: _Limits | None = None
        self._random_failure: _RandomFailure | None = None

        self._handlers: dict[str, tuple[str, Callable[[Params, dict[str, _Upload], web.Request], Awaitable[Any]]]] = {}
        for attr in dir(self):
            if attr.startswith("_api_"):
                name = attr[len("_api_"):]
                self._handlers[name.lower()] = (name, getattr(self, attr))

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (use with TelegramAPIServer.from_base)."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> FakeBotApi:
        if self._runner is not None:
            raise RuntimeError("FakeBotApi already started")
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._port = sock.getsockname()[1]
        site = web.SockSite(runner, sock)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Stop the server; waiting long polls are answered (empty) immediately."""
        runner = self._runner
        if runner is None:
            return
        self._stopping = True
        self._wake_pollers("stop")
        await asyncio.sleep(0)  # let woken polls write their responses
        await runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self, timeout: float = 10.0) -> FakeBotApi:
        """Run the server in a daemon thread with its own event loop."""
        if self._thread is not None:
            raise RuntimeError("FakeBotApi already running in a thread")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.close()

        thread = threading.Thread(target=run, name="FakeBotApi", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("FakeBotApi thread did not start in time")
        if failure:
            thread.join(timeout)
            raise failure[0]
        self._thread = thread
        return self

    def stop_in_thread(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop_in_thread()

    # ------------------------------------------------------------------ HTTP layer

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _read_params(self, request: web.Request) -> tuple[Params, dict[str, _Upload]]:
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, _Upload] = {}
        if request.method in ("POST", "PUT", "PATCH") and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: JSON object expected")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = _Upload(value.filename, value.content_type, value.file.read())
                    elif isinstance(value, (bytes, bytearray)):
                        raw[key] = bytes(value).decode("utf-8", "replace")
                    else:
                        raw[key] = value
        return _normalize_params(raw), uploads

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        token = request.match_info["token"]
        raw_method = request.match_info["method"]
        entry = self._handlers.get(raw_method.lower())
        method = entry[0] if entry else raw_method
        params: Params = {}
        uploads: dict[str, _Upload] = {}
        record: _RequestEntry | None = None
        try:
            try:
                params, uploads = await self._read_params(request)
            except web.HTTPRequestEntityTooLarge:
                raise ApiError(413) from None
            finally:
                record = self._record_arrival(method, params, uploads, started)
            if token != self.token:
                raise ApiError(401)
            if entry is None:
                raise ApiError(404)
            self._check_policies(method, params)
            result = await entry[1](params, uploads, request)
        except ApiError as exc:
            self._after_error(method, params, exc)
            self._record_answer(record, exc.status, exc.description)
            if exc.body is not None:
                return web.Response(text=exc.body, status=exc.status, content_type="text/html")
            return web.json_response(exc.payload(), status=exc.status)
        except _ClientGone:
            self._record_answer(record, 499, "client closed the connection")
            return web.Response(status=499)
        except asyncio.CancelledError:
            self._record_answer(record, 499, "client closed the connection")
            raise
        self._after_success(method, params)
        self._record_answer(record, 200, "")
        return web.json_response({"ok": True, "result": result})

    def _record_arrival(self, method: str, params: Params, uploads: dict[str, _Upload],
                        started: float) -> _RequestEntry:
        logged = dict(params)
        for key, upload in uploads.items():
            logged[key] = {"filename": upload.filename, "size": len(upload.data)}
        record = _RequestEntry(method, logged, started)
        with self._lock:
            self._requests.append(record)
        return record

    def _record_answer(self, record: _RequestEntry | None, status: int, description: str) -> None:
        if record is None:
            return
        with self._lock:
            record.status = status
            if 400 <= status < 499 or status >= 500:
                self._errors.append(ErrorRecord(record.method, record.params, record.time, status, description))

    # ------------------------------------------------------------------ policies

    def _check_policies(self, method: str, params: Params) -> None:
        """Cooldown violations, injected failures, blocked chats, rate limits."""
        chat_id = _chat_id_of(params)
        now = time.monotonic()
        with self._lock:
            if method in _COOLDOWN_METHODS:
                checks: list[tuple[int | None, Literal["chat", "global"]]] = [(None, "global")]
                if chat_id is not None:
                    checks.append((chat_id, "chat"))
                for key, where in checks:
                    allowed_at = self._cooldowns.get(key)
                    if allowed_at is not None and now < allowed_at - self.retry_after_tolerance:
                        self._violations.append(RetryAfterViolation(method, chat_id, now, allowed_at, where))
                        wait = max(1, math.ceil(allowed_at - now))
                        raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

            for injection in self._injections:
                if injection.method not in ("*", method.lower()):
                    continue
                if injection.chat_id is not None and injection.chat_id != chat_id:
                    continue
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._injections.remove(injection)
                scope: Literal["chat", "global", "none"] = "none"
                if injection.status == 429 and injection.retry_after is not None:
                    if injection.scope == "auto":
                        if method in _COOLDOWN_METHODS:
                            scope = "chat" if chat_id is not None else "global"
                    else:
                        scope = injection.scope
                description = injection.description
                if description is None and injection.status == 429:
                    description = f"Too Many Requests: retry after {injection.retry_after}"
                raise ApiError(
                    injection.status, description,
                    retry_after=injection.retry_after if injection.status == 429 else None,
                    body=injection.body, cooldown=scope,
                )

            failure = self._random_failure
            if failure is not None and method.lower() in failure.methods and failure.rng.random() < failure.probability:
                description = f"Too Many Requests: retry after {failure.retry_after}" if failure.status == 429 else None
                raise ApiError(failure.status, description, retry_after=failure.retry_after,
                               cooldown="chat" if failure.status == 429 and chat_id is not None else "none")

            if method in _BLOCKABLE and chat_id in self._blocked:
                raise ApiError(403, BLOCKED)

            limits = self._limits
            if limits is not None and self._is_limited(method, limits):
                cutoff = now - limits.window
                while limits.global_times and limits.global_times[0] <= cutoff:
                    limits.global_times.popleft()
                if len(limits.global_times) >= limits.global_per_second * limits.window:
                    wait = max(1, math.ceil(limits.global_times[0] + limits.window - now))
                    raise ApiError(429, f"Too Many Requests: retry after {wait}",
                                   retry_after=wait, cooldown="global")
                if chat_id is not None:
                    chat_wait = limits.chat_wait(chat_id, now)
                    if chat_wait > limits.tolerance:
                        wait = max(1, math.ceil(chat_wait))
                        raise ApiError(429, f"Too Many Requests: retry after {wait}",
                                       retry_after=wait, cooldown="chat")

    @staticmethod
    def _is_limited(method: str, limits: _Limits) -> bool:
        return method in _NEW_MESSAGE_METHODS or (limits.count_edits and method in _EDIT_METHODS)

    def _after_error(self, method: str, params: Params, exc: ApiError) -> None:
        if exc.retry_after is None or exc.cooldown == "none":
            return
        key = _chat_id_of(params) if exc.cooldown == "chat" else None
        allowed_at = time.monotonic() + exc.retry_after
        with self._lock:
            self._cooldowns[key] = max(self._cooldowns.get(key, 0.0), allowed_at)

    def _after_success(self, method: str, params: Params) -> None:
        limits = self._limits
        if limits is None or not self._is_limited(method, limits):
            return
        now = time.monotonic()
        with self._lock:
            limits.global_times.append(now)
            chat_id = _chat_id_of(params)
            if chat_id is not None:
                interval = 1.0 / limits.per_chat_per_second
                limits.chat_due[chat_id] = max(limits.chat_due.get(chat_id, now), now) + interval

    # ------------------------------------------------------------------ shared helpers

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def _require_chat(self, params: Params) -> _Chat:
        if params.get("chat_id") in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat_id = _chat_id_of(params)
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _parse_formatted(
        self, raw: Any, parse_mode: str | None, entities: Any
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """Return ``(plain_text, html_source, entities)`` after Telegram-style parsing."""
        text = "" if raw is None else (raw if isinstance(raw, str) else str(raw))
        mode = (parse_mode or "").strip().lower()
        if mode == "html":
            try:
                plain, parsed = parse_html(text, strict=self.strict_html)
            except HtmlParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
            html_source = text
        elif mode in ("markdown", "markdownv2"):
            raise ApiError(400, f"Bad Request: the fake Bot API does not implement parse_mode {parse_mode}")
        elif mode:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        else:
            if entities is not None and not isinstance(entities, list):
                raise ApiError(400, "Bad Request: can't parse entities JSON object")
            plain, parsed = text, [dict(e) for e in (entities or []) if isinstance(e, dict)]
            html_source = _escape_html(text)
        plain, parsed = trim_text(plain, parsed)
        return plain, html_source, parsed

    def _message_payload(self, chat: _Chat, message: StoredMessage, *, nested: bool = True) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self._bot_user() if message.from_bot else dict(chat.user),
            "chat": chat.to_api(),
            "date": message.date,
        }
        if message.edit_date is not None:
            payload["edit_date"] = message.edit_date
        if message.kind == "text":
            payload["text"] = message.text
            if message.entities:
                payload["entities"] = copy.deepcopy(message.entities)
        elif message.kind == "photo" and message.document is not None:
            doc = message.document.to_api()
            payload["photo"] = [{"file_id": doc["file_id"], "file_unique_id": doc["file_unique_id"],
                                 "width": 800, "height": 600, "file_size": doc.get("file_size", 0)}]
            if message.text:
                payload["caption"] = message.text
        elif message.kind == "document" and message.document is not None:
            payload["document"] = message.document.to_api()
            if message.text:
                payload["caption"] = message.text
                if message.entities:
                    payload["caption_entities"] = copy.deepcopy(message.entities)
        payload.update(copy.deepcopy(message.extra))
        if nested and message.reply_to_message_id is not None:
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None:
                payload["reply_to_message"] = self._message_payload(chat, replied, nested=False)
        if message.inline_markup is not None:
            payload["reply_markup"] = copy.deepcopy(message.inline_markup)
        return payload

    def _resolve_reply(self, chat: _Chat, params: Params) -> int | None:
        reply_id = _opt_int(params, "reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        reply_params = params.get("reply_parameters")
        if isinstance(reply_params, dict):
            reply_id = reply_params.get("message_id")
            allow_missing = bool(reply_params.get("allow_sending_without_reply"))
        elif reply_params is not None:
            raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
        if reply_id is None:
            return None
        target = chat.messages.get(reply_id) if isinstance(reply_id, int) else None
        if target is None:
            if allow_missing:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return reply_id

    def _new_message(self, chat: _Chat, *, from_bot: bool, **fields: Any) -> StoredMessage:
        message = StoredMessage(
            chat_id=chat.id, message_id=chat.next_message_id, from_bot=from_bot,
            date=int(time.time()), seq=self._next_seq, **fields,
        )
        self._next_seq += 1
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        return message

    def _remember_keyboard(self, chat: _Chat, markup: dict[str, Any] | None) -> None:
        if markup is None:
            return
        if "keyboard" in markup:
            chat.reply_keyboard = markup
        elif "remove_keyboard" in markup:
            chat.reply_keyboard = None

    def _editable(self, params: Params) -> tuple[_Chat, StoredMessage]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._require_chat(params)
        message_id = _opt_int(params, "message_id")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat, message

    def _new_file_id(self) -> tuple[str, str]:
        n = self._next_file_id
        self._next_file_id += 1
        return f"BQACAgIAAxkDAAI{n:08d}fake{self.bot_id}", f"AgAD{n:06d}"

    # ------------------------------------------------------------------ long polling

    def _wake_pollers(self, reason: str) -> None:
        """Resolve waiting getUpdates futures. Must run in the server loop."""
        for future in list(self._poll_waiters):
            if not future.done():
                future.set_result(reason)

    def _schedule_wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or self._runner is None:
            return
        try:
            loop.call_soon_threadsafe(self._wake_pollers, "update")
        except RuntimeError:
            pass  # loop shut down concurrently

    def _confirm_and_select(self, params: Params) -> list[dict[str, Any]]:
        offset = _opt_int(params, "offset") or 0
        limit = _opt_int(params, "limit")
        limit = 100 if limit is None or limit <= 0 else min(limit, 100)
        with self._lock:
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            allowed = params.get("allowed_updates")
            if isinstance(allowed, list):
                self._allowed_updates = [str(a) for a in allowed] or None
            selected: list[dict[str, Any]] = []
            kept: list[dict[str, Any]] = []
            for update in self._updates:
                kind = next((k for k in update if k != "update_id"), "")
                if not self._is_allowed(kind):
                    continue  # dropped, as Telegram does
                kept.append(update)
                if len(selected) < limit:
                    selected.append(copy.deepcopy(update))
            self._updates = kept
            return selected

    def _is_allowed(self, kind: str) -> bool:
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    async def _api_getUpdates(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        with self._lock:
            if self._webhook_url:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                    "use deleteWebhook to delete the webhook first")
        self._wake_pollers("conflict")  # an older, still waiting poll is terminated
        timeout = params.get("timeout") or 0
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise ApiError(400, "Bad Request: invalid timeout specified")
        updates = self._confirm_and_select(params)
        if updates or timeout <= 0 or self._stopping:
            return updates
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(float(timeout), self.max_poll_timeout)
        while not self._stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            future: asyncio.Future[str] = loop.create_future()
            self._poll_waiters.add(future)
            try:
                reason = await asyncio.wait_for(future, remaining)
            except TimeoutError:
                break
            finally:
                self._poll_waiters.discard(future)
            if reason == "conflict":
                if request.transport is None or request.transport.is_closing():
                    raise _ClientGone()
                raise ApiError(409)
            if reason == "stop":
                return []
            updates = self._confirm_and_select({"limit": params.get("limit")})
            if updates:
                return updates
        return self._confirm_and_select({"limit": params.get("limit")})

    @property
    def polling_clients(self) -> int:
        """Number of getUpdates requests currently waiting (long polling)."""
        return len(self._poll_waiters)

    # ------------------------------------------------------------------ API methods: bot & webhook

    async def _api_getMe(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_deleteWebhook(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        with self._lock:
            self._webhook_calls.append(("deleteWebhook", dict(params)))
            self._webhook_url = ""
            if params.get("drop_pending_updates") is True:
                self._updates = []
        return True

    async def _api_setWebhook(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        url = _opt_str(params, "url") or ""
        with self._lock:
            self._webhook_calls.append(("setWebhook", dict(params)))
            if url and not url.lower().startswith("https://"):
                raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            self._webhook_url = url
            if params.get("drop_pending_updates") is True:
                self._updates = []
        if url:
            self._wake_pollers("conflict")
        return True

    # ------------------------------------------------------------------ API methods: commands

    @staticmethod
    def _scope_key(params: Params) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is None or scope == "":
            scope = {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        if scope["type"] in ("chat", "chat_administrators", "chat_member") and "chat_id" not in scope:
            raise ApiError(400, "Bad Request: chat_id is empty")
        language = _opt_str(params, "language_code") or ""
        if not _LANG_RE.match(language):
            raise ApiError(400, "Bad Request: invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    async def _api_setMyCommands(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        commands = params.get("commands")
        if commands is None:
            raise ApiError(400, "Bad Request: parameter \"commands\" is required")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        cleaned: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            command, description = item.get("command"), item.get("description")
            if not isinstance(command, str) or not _COMMAND_RE.match(command):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not description.strip() or len(description) > 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = self._scope_key(params)
        with self._lock:
            if cleaned:
                self._commands[key] = cleaned
            else:
                self._commands.pop(key, None)  # an empty list deletes the commands
        return True

    # ------------------------------------------------------------------ API methods: messages

    async def _api_sendMessage(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        with self._lock:
            chat = self._require_chat(params)
            if params.get("text") in (None, ""):
                raise ApiError(400, "Bad Request: message text is empty")
            text, html_source, entities = self._parse_formatted(
                params.get("text"), _opt_str(params, "parse_mode"), params.get("entities"))
            if not text:
                raise ApiError(400, "Bad Request: message text is empty")
            if utf16_len(text) > MAX_TEXT_LENGTH:
                raise ApiError(400, "Bad Request: message is too long")
            markup = _validate_reply_markup(params.get("reply_markup"))
            reply_to = self._resolve_reply(chat, params)
            message = self._new_message(
                chat, from_bot=True, kind="text", text=text, html=html_source,
                parse_mode=_opt_str(params, "parse_mode"), entities=entities,
                reply_markup=markup, reply_to_message_id=reply_to,
            )
            self._remember_keyboard(chat, markup)
            return self._message_payload(chat, message)

    async def _api_editMessageText(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        with self._lock:
            chat, message = self._editable(params)
            if not message.from_bot:
                raise ApiError(400, "Bad Request: message can't be edited")
            if message.kind != "text":
                raise ApiError(400, "Bad Request: there is no text in the message to edit")
            if params.get("text") in (None, ""):
                raise ApiError(400, "Bad Request: message text is empty")
            text, html_source, entities = self._parse_formatted(
                params.get("text"), _opt_str(params, "parse_mode"), params.get("entities"))
            if not text:
                raise ApiError(400, "Bad Request: message text is empty")
            if utf16_len(text) > MAX_TEXT_LENGTH:
                raise ApiError(400, "Bad Request: message is too long")
            markup = _validate_reply_markup(params.get("reply_markup"))
            if markup is not None and "inline_keyboard" not in markup:
                raise ApiError(400, "Bad Request: inline keyboard expected")
            if text == message.text and entities == message.entities and markup == message.inline_markup:
                raise ApiError(400, NOT_MODIFIED)
            self._push_history(message)
            message.text, message.html, message.entities = text, html_source, entities
            message.parse_mode = _opt_str(params, "parse_mode")
            message.reply_markup = markup  # omitting reply_markup removes the inline keyboard
            message.edit_date = int(time.time())
            return self._message_payload(chat, message)

    async def _api_editMessageReplyMarkup(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        with self._lock:
            chat, message = self._editable(params)
            if not message.from_bot:
                raise ApiError(400, "Bad Request: message can't be edited")
            markup = _validate_reply_markup(params.get("reply_markup"))
            if markup is not None and "inline_keyboard" not in markup:
                raise ApiError(400, "Bad Request: inline keyboard expected")
            if markup == message.inline_markup:
                raise ApiError(400, NOT_MODIFIED)
            self._push_history(message)
            message.reply_markup = markup
            message.edit_date = int(time.time())
            return self._message_payload(chat, message)

    @staticmethod
    def _push_history(message: StoredMessage) -> None:
        message.history.append({
            "text": message.text, "html": message.html, "entities": copy.deepcopy(message.entities),
            "reply_markup": copy.deepcopy(message.reply_markup), "edit_date": message.edit_date,
        })

    async def _api_answerCallbackQuery(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        query_id = _opt_str(params, "callback_query_id")
        with self._lock:
            record = self._callbacks.get(query_id or "")
            if record is None or record.answered:
                raise ApiError(400, QUERY_TOO_OLD)
            if (self.callback_answer_timeout is not None
                    and time.monotonic() - record.issued_at > self.callback_answer_timeout):
                raise ApiError(400, QUERY_TOO_OLD)
            text = _opt_str(params, "text") or ""
            if len(text) > 200:
                raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
            record.answered = True
            record.answered_at = time.monotonic()
            record.answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        return True

    async def _api_sendDocument(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        with self._lock:
            chat = self._require_chat(params)
            document = self._resolve_document(params, uploads)
            caption, html_source, entities = self._parse_formatted(
                params.get("caption"), _opt_str(params, "parse_mode"), params.get("caption_entities"))
            if utf16_len(caption) > MAX_CAPTION_LENGTH:
                raise ApiError(400, "Bad Request: message caption is too long")
            markup = _validate_reply_markup(params.get("reply_markup"))
            reply_to = self._resolve_reply(chat, params)
            message = self._new_message(
                chat, from_bot=True, kind="document", text=caption, html=html_source,
                parse_mode=_opt_str(params, "parse_mode"), entities=entities,
                reply_markup=markup, reply_to_message_id=reply_to, document=document,
            )
            self._remember_keyboard(chat, markup)
            return self._message_payload(chat, message)

    async def _api_sendPhoto(self, params: Params, uploads: dict[str, _Upload], request: web.Request) -> Any:
        with self._lock:
            chat = self._require_chat(params)
            photo = self._resolve_document(params, uploads, field="photo")
            if photo.data is not None and not photo.data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            caption, html_source, entities = self._parse_formatted(
                params.get("caption"), _opt_str(params, "parse_mode"), params.get("caption_entities"))
            if utf16_len(caption) > MAX_CAPTION_LENGTH:
                raise ApiError(400, "Bad Request: message caption is too long")
            markup = _validate_reply_markup(params.get("reply_markup"))
            message = self._new_message(
                chat, from_bot=True, kind="photo", text=caption, html=html_source,
                parse_mode=_opt_str(params, "parse_mode"), entities=entities,
                reply_markup=markup, reply_to_message_id=self._resolve_reply(chat, params), document=photo,
            )
            self._remember_keyboard(chat, markup)
            return self._message_payload(chat, message)

    def _resolve_document(self, params: Params, uploads: dict[str, _Upload], field: str = "document") -> StoredDocument:
        ref = params.get(field)
        upload: _Upload | None = None
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = uploads.get(ref[len("attach://"):])
            if upload is None:
                raise ApiError(400, f"Bad Request: there is no {field} in the request")
        elif ref is None:
            upload = uploads.get(field)
            if upload is None:
                raise ApiError(400, f"Bad Request: there is no {field} in the request")
        if upload is not None:
            if not upload.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            mime = mimetypes.guess_type(upload.filename or "")[0]
            if mime is None and upload.content_type not in (None, "application/octet-stream"):
                mime = upload.content_type
            file_id, unique_id = self._new_file_id()
            document = StoredDocument(file_id, unique_id, upload.filename, mime or "application/octet-stream",
                                      upload.data)
            self._files[file_id] = document
            return document
        if isinstance(ref, str) and ref in self._files:
            return copy.copy(self._files[ref])
        if isinstance(ref, str) and re.match(r"^https?://", ref):
            file_id, unique_id = self._new_file_id()
            name = ref.rsplit("/", 1)[-1] or None
            document = StoredDocument(file_id, unique_id, name, mimetypes.guess_type(ref)[0], None, url=ref)
            self._files[file_id] = document
            return document
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    # ==================================================================
    # Test-side API: the user's actions
    # ==================================================================

    def add_chat(self, chat_id: int, *, first_name: str | None = None, last_name: str | None = None,
                 username: str | None = None, language_code: str | None = None) -> None:
        """Make a private chat known (as if the user had talked to the bot before).

        Profile arguments left as None keep the current profile; a new user
        defaults to first_name "Tom", language_code "de" (same for user_sends_*).
        """
        with self._lock:
            self._ensure_chat(chat_id, first_name, last_name, username, language_code)

    def _ensure_chat(self, chat_id: int, first_name: str | None, last_name: str | None,
                     username: str | None, language_code: str | None) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _Chat(chat_id, {"id": chat_id, "is_bot": False, "first_name": "Tom", "language_code": "de"})
            self._chats[chat_id] = chat
        user = chat.user
        if first_name:
            user["first_name"] = first_name
        for key, value in (("last_name", last_name), ("username", username), ("language_code", language_code)):
            if value:
                user[key] = value
        return chat

    def _push_update(self, kind: str, payload: dict[str, Any]) -> int:
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, kind: payload})
        self._schedule_wake()
        return update_id

    def _user_message(
        self, chat_id: int, *, kind: str, text: str = "", entities: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None, first_name: str | None = None,
        language_code: str | None = None, last_name: str | None = None, username: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        with self._lock:
            chat = self._ensure_chat(chat_id, first_name, last_name, username, language_code)
            message = self._new_message(chat, from_bot=False, kind=kind, text=text,
                                        entities=entities or [], extra=extra or {},
                                        reply_to_message_id=reply_to_message_id)
            if kind != "text" and text:
                message.extra.setdefault("caption", text)
            payload = self._message_payload(chat, message)
            return self._push_update("message", payload)

    def user_sends_text(self, chat_id: int, text: str, *, first_name: str | None = None,
                        language_code: str | None = None, last_name: str | None = None,
                        username: str | None = None, reply_to_message_id: int | None = None) -> int:
        """The user types ``text``; leading ``/command`` gets a bot_command entity. Returns update_id."""
        entities = []
        match = _USER_COMMAND_RE.match(text)
        if match:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(match.group())})
        return self._user_message(chat_id, kind="text", text=text, entities=entities,
                                  first_name=first_name, language_code=language_code,
                                  last_name=last_name, username=username,
                                  reply_to_message_id=reply_to_message_id)

    def user_sends_command(self, chat_id: int, command: str, payload: str | None = None, *,
                           first_name: str | None = None, language_code: str | None = None) -> int:
        """``user_sends_command(1, "/start", "ref42")`` sends "/start ref42" with a bot_command entity."""
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {payload}" if payload else command
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._user_message(chat_id, kind="text", text=text, entities=entities,
                                  first_name=first_name, language_code=language_code)

    def user_sends_contact(self, chat_id: int, phone_number: str = "+4915112345678", *,
                           first_name: str | None = None, last_name: str | None = None, own: bool = True,
                           language_code: str | None = None) -> int:
        """Shares a contact; ``own=True`` (the request_contact button) sets user_id = chat_id
        and uses the user's profile name unless ``first_name`` is given."""
        with self._lock:
            chat = self._ensure_chat(chat_id, None, None, None, language_code)
            name = first_name or (chat.user["first_name"] if own else "Kontakt")
            if own and not last_name:
                last_name = chat.user.get("last_name")
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": name}
        if last_name:
            contact["last_name"] = last_name
        if own:
            contact["user_id"] = chat_id
        return self._user_message(chat_id, kind="contact", extra={"contact": contact},
                                  language_code=language_code)

    def user_sends_location(self, chat_id: int, latitude: float, longitude: float, *,
                            language_code: str | None = None) -> int:
        return self._user_message(chat_id, kind="location", language_code=language_code,
                                  extra={"location": {"latitude": latitude, "longitude": longitude}})

    def user_sends_sticker(self, chat_id: int, emoji: str = "👍") -> int:
        sticker = {"file_id": "CAACAgIAAxkBAAIfakeSticker", "file_unique_id": "AgADfakeSt",
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        return self._user_message(chat_id, kind="sticker", extra={"sticker": sticker})

    def user_sends_photo(self, chat_id: int, caption: str | None = None) -> int:
        sizes = [
            {"file_id": f"AgACAgIAAxkBAAIfakePhoto{w}", "file_unique_id": f"AQADfake{w}",
             "width": w, "height": w * 3 // 4, "file_size": w * 40}
            for w in (90, 320, 800)
        ]
        with self._lock:  # like Telegram: the bot may send a photo it received again by its file_id
            for size in sizes:
                file_id, unique_id = str(size["file_id"]), str(size["file_unique_id"])
                self._files[file_id] = StoredDocument(file_id, unique_id, None, "image/jpeg", None)
        return self._user_message(chat_id, kind="photo", text=caption or "", extra={"photo": sizes})

    def user_sends_voice(self, chat_id: int, duration: int = 3) -> int:
        voice = {"file_id": "AwACAgIAAxkBAAIfakeVoice", "file_unique_id": "AgADfakeVo",
                 "duration": duration, "mime_type": "audio/ogg", "file_size": 4000 * duration}
        return self._user_message(chat_id, kind="voice", extra={"voice": voice})

    def user_presses(self, chat_id: int, message_id: int, callback_data: str, *, force: bool = False) -> int:
        """Press the inline button with ``callback_data`` on a bot message. Returns update_id.

        Raises ValueError if the message does not (currently) show such a button,
        unless ``force`` (e.g. to simulate a stale client).
        """
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                raise ValueError(f"unknown chat {chat_id}")
            message = chat.messages.get(message_id)
            if not force:
                if message is None or not message.from_bot:
                    raise ValueError(f"chat {chat_id} has no bot message {message_id}")
                if callback_data not in [data for _, data in message.buttons]:
                    raise ValueError(
                        f"message {message_id} has no button with callback_data {callback_data!r}; "
                        f"buttons: {message.buttons}")
            query_id = str(self._next_callback_id)
            self._next_callback_id += 1
            if message is not None:
                message_payload = self._message_payload(chat, message)
            else:  # InaccessibleMessage
                message_payload = {"message_id": message_id, "chat": chat.to_api(), "date": 0}
            payload = {
                "id": query_id, "from": dict(chat.user), "message": message_payload,
                "chat_instance": f"-{abs(chat_id) * 7919 % 10**18}", "data": callback_data,
            }
            update_id = self._push_update("callback_query", payload)
            self._callbacks[query_id] = CallbackQueryRecord(
                query_id, chat_id, message_id, callback_data, time.monotonic(), update_id)
            return update_id

    def user_presses_button(self, chat_id: int, button_text: str, *, message_id: int | None = None) -> int:
        """Press the callback button labelled ``button_text`` on the newest bot message showing it."""
        with self._lock:
            candidates = [m for m in self._bot_messages(chat_id)
                          if message_id is None or m.message_id == message_id]
            for message in reversed(candidates):
                for text, data in message.buttons:
                    if text == button_text and data is not None:
                        return self.user_presses(chat_id, message.message_id, data)
            shown = [b for m in candidates for b in m.buttons]
        raise ValueError(f"no callback button {button_text!r} in chat {chat_id}; buttons: {shown}")

    # ==================================================================
    # Test-side API: failures and limits
    # ==================================================================

    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = 2, count: int = 1, *,
        description: str | None = None, chat_id: int | None = None, body: str | None = None,
        scope: Literal["auto", "chat", "global"] = "auto",
    ) -> None:
        """Answer the next ``count`` calls of ``method`` ("*" = any) with an error.

        429 answers carry ``retry_after`` and start a cooldown (per chat if the
        request had a chat_id, else global; override with ``scope``).  ``body``
        sends a raw non-JSON body instead (e.g. ``NGINX_502_HTML``).
        """
        with self._lock:
            self._injections.append(_Injection(
                method.lower(), status, retry_after if status == 429 else None, max(1, count),
                description, chat_id, body, scope))

    def clear_failures(self) -> None:
        with self._lock:
            self._injections.clear()
            self._random_failure = None

    def block_chat(self, chat_id: int) -> None:
        """The user blocked the bot: every send/edit to this chat answers 403."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def user_blocks_bot(self, chat_id: int) -> int:
        """The user blocks the bot, as in Telegram: sends to the chat answer 403 from now on, and a
        ``my_chat_member`` update (new status "kicked") is queued. Returns its update_id."""
        self.block_chat(chat_id)
        return self._push_member_update(chat_id, "member", "kicked")

    def user_unblocks_bot(self, chat_id: int) -> int:
        """The user unblocks the bot (Telegram: "Restart"): sends work again, a ``my_chat_member``
        update with new status "member" is queued. Returns its update_id."""
        self.unblock_chat(chat_id)
        return self._push_member_update(chat_id, "kicked", "member")

    def _push_member_update(self, chat_id: int, old: str, new: str) -> int:
        with self._lock:
            chat = self._ensure_chat(chat_id, None, None, None, None)
            members = [{"user": self._bot_user(), "status": status, **({"until_date": 0} if status == "kicked" else {})}
                       for status in (old, new)]
            payload = {"chat": chat.to_api(), "from": dict(chat.user), "date": int(time.time()),
                       "old_chat_member": members[0], "new_chat_member": members[1]}
        return self._push_update("my_chat_member", payload)

    def enforce_limits(self, global_per_second: float = 30, per_chat_per_second: float = 1, *,
                       window: float = 1.0, count_edits: bool = True, chat_burst: int = 3) -> None:
        """Answer 429 (with retry_after) when the rates are exceeded: in total, more than
        ``global_per_second`` in any ``window`` (a global cooldown); per chat, more than
        ``chat_burst`` at once or ``per_chat_per_second`` on average (a cooldown for that chat).
        Edits count like new messages, as at Telegram, unless ``count_edits=False``."""
        with self._lock:
            self._limits = _Limits(global_per_second, per_chat_per_second, window, count_edits, chat_burst)

    def fail_randomly(self, methods: set[str], probability: float, status: int = 429, *,
                      retry_after: int | None = 1, seed: int = 0) -> None:
        """Answer each call of ``methods`` with an error with this probability (reproducible by
        ``seed``); a 429 starts a cooldown for the request's chat."""
        with self._lock:
            self._random_failure = _RandomFailure(frozenset(m.lower() for m in methods), probability, status,
                                                  retry_after if status == 429 else None, random.Random(seed))

    # ==================================================================
    # Test-side API: queries
    # ==================================================================

    def _bot_messages(self, chat_id: int | None) -> list[StoredMessage]:
        chats = [self._chats[chat_id]] if chat_id in self._chats else ([] if chat_id is not None else self._chats.values())
        result = [m for chat in chats for m in chat.messages.values() if m.from_bot]
        result.sort(key=lambda m: m.seq)
        return result

    def sent(self, chat_id: int | None = None) -> list[StoredMessage]:
        """Snapshot of the bot's messages (current version of edited ones), oldest first."""
        with self._lock:
            return copy.deepcopy(self._bot_messages(chat_id))

    def sent_brief(self, chat_id: int) -> list[tuple[int, str, list[tuple[str, str | None]]]]:
        """(message_id, text, buttons) of the bot's messages to one chat, oldest first. No deep copy:
        cheap enough for load tests that watch a thousand chats."""
        with self._lock:
            return [(m.message_id, m.text, m.buttons) for m in self._bot_messages(chat_id)]

    def last_message(self, chat_id: int) -> StoredMessage | None:
        with self._lock:
            messages = self._bot_messages(chat_id)
            return copy.deepcopy(messages[-1]) if messages else None

    def messages(self, chat_id: int) -> list[StoredMessage]:
        """Whole chat history (user and bot messages) in order."""
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                return []
            return copy.deepcopy(list(chat.messages.values()))

    @staticmethod
    def buttons(message: StoredMessage | dict[str, Any] | None) -> list[tuple[str, str | None]]:
        """Inline buttons of a message (StoredMessage or Bot API dict) as (text, callback_data)."""
        return _buttons_of(message)

    def reply_keyboard(self, chat_id: int) -> list[list[str]] | None:
        """Texts of the reply keyboard currently shown in the chat (None if none/removed)."""
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None or chat.reply_keyboard is None:
                return None
            return [[b["text"] for b in row] for row in chat.reply_keyboard["keyboard"]]

    def documents(self, chat_id: int | None = None) -> list[StoredDocument]:
        return [m.document for m in self.sent(chat_id) if m.document is not None]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request in arrival order; status 0 = still in flight (e.g. a long poll)."""
        with self._lock:
            return [r.snapshot() for r in self._requests]

    def calls(self, method: str) -> list[RecordedRequest]:
        """Requests of one method (case-insensitive), including in-flight ones."""
        wanted = method.lower()
        with self._lock:
            return [r.snapshot() for r in self._requests if r.method.lower() == wanted]

    @property
    def errors(self) -> list[ErrorRecord]:
        """Every error answer (4xx/5xx; not 499 = client hung up on a long poll)."""
        with self._lock:
            return list(self._errors)

    @property
    def bad_requests(self) -> list[ErrorRecord]:
        return [e for e in self.errors if e.status == 400]

    @property
    def retry_after_violations(self) -> list[RetryAfterViolation]:
        with self._lock:
            return list(self._violations)

    @property
    def drop_pending_updates_requested(self) -> bool:
        """Whether a deleteWebhook or setWebhook call asked to drop pending updates."""
        with self._lock:
            return any(p.get("drop_pending_updates") is True for _, p in self._webhook_calls)

    @property
    def callback_queries(self) -> list[CallbackQueryRecord]:
        with self._lock:
            return copy.deepcopy(list(self._callbacks.values()))

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def my_commands(self, *, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        with self._lock:
            return copy.deepcopy(self._commands.get(key, []))

    # ==================================================================
    # Test-side API: waiting (always bounded)
    # ==================================================================

    def _timeout_error(self, timeout: float, message: str | None, last: BaseException | None) -> TimeoutError:
        with self._lock:
            recent = [(m.chat_id, m.message_id, m.text[:80]) for m in self._bot_messages(None)[-5:]]
            errors = [(e.method, e.status, e.description) for e in self._errors[-3:]]
        detail = f"condition not met within {timeout}s"
        if message:
            detail += f": {message}"
        detail += f"; last bot messages: {recent}; last errors: {errors}"
        error = TimeoutError(detail)
        error.__cause__ = last
        return error

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0, *,
                       interval: float = 0.02, message: str | None = None) -> T:
        """Poll ``predicate`` until truthy; LookupError/AssertionError count as "not yet"."""
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while True:
            try:
                value = predicate()
                if value:
                    return value
            except (LookupError, AssertionError) as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise self._timeout_error(timeout, message, last)
            await asyncio.sleep(interval)

    def wait_for_sync(self, predicate: Callable[[], T | None], timeout: float = 10.0, *,
                      interval: float = 0.02, message: str | None = None) -> T:
        """Blocking variant of :meth:`wait_for`; only when the server runs in another thread."""
        if self._thread is None or threading.current_thread() is self._thread:
            raise RuntimeError("wait_for_sync needs the server running via start_in_thread()")
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while True:
            try:
                value = predicate()
                if value:
                    return value
            except (LookupError, AssertionError) as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise self._timeout_error(timeout, message, last)
            time.sleep(interval)

    async def wait_for_messages(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[StoredMessage]:
        """Wait until the bot has sent at least ``count`` messages to ``chat_id``."""
        return await self.wait_for(self._at_least(chat_id, count), timeout,
                                   message=f"{count} message(s) in chat {chat_id}")

    def wait_for_messages_sync(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[StoredMessage]:
        return self.wait_for_sync(self._at_least(chat_id, count), timeout,
                                  message=f"{count} message(s) in chat {chat_id}")

    def _at_least(self, chat_id: int, count: int) -> Callable[[], list[StoredMessage] | None]:
        def check() -> list[StoredMessage] | None:
            messages = self.sent(chat_id)
            return messages if len(messages) >= count else None
        return check

    async def wait_until_polling(self, timeout: float = 10.0) -> None:
        """Wait until some client holds a long-polling getUpdates request."""
        await self.wait_for(lambda: self.polling_clients > 0, timeout, message="a getUpdates long poll")

    def wait_until_polling_sync(self, timeout: float = 10.0) -> None:
        self.wait_for_sync(lambda: self.polling_clients > 0, timeout, message="a getUpdates long poll")


class ThreadedFakeBotApi(FakeBotApi):
    """FakeBotApi for synchronous tests: ``with ThreadedFakeBotApi(token) as api: ...``.

    (Same class; the name documents intent. ``start_in_thread``/``stop_in_thread``
    also work on a plain FakeBotApi.)
    """


class _ClientGone(Exception):
    """The long-polling client disconnected before we could answer."""


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
