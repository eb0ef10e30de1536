"""A fake OpenAI-compatible Chat Completions server on 127.0.0.1, for the real `openai` client.

``FakeOpenAI`` answers ``POST /v1/chat/completions`` the way api.openai.com does: the same response
shape (``id``, ``object: "chat.completion"``, ``created``, ``model``, ``choices[0].message.content``,
``finish_reason``, ``usage``), the same error bodies (``{"error": {"message", "type", "param",
"code"}}``) and status codes, ``Authorization: Bearer <key>`` checked (401 otherwise).

What the "model" answers is scripted: ``server.script`` is a queue of behaviours, one per request
(``answer(...)``, ``content(...)``, ``malformed()``, ``slow(...)``, ``rate_limited(...)``,
``server_error()``, ``refusal()``, ``tool_call()``, ``truncated()``, ``not_json()``); when it is empty,
``server.respond(request)`` decides (default: "not_in_knowledge"). ``json_schema=False`` plays a
server without structured outputs (400 to ``response_format: json_schema``, as older local servers).

Every request is recorded (``server.requests``: headers and JSON body; ``.system``, ``.user``,
``.passage_ids``), so tests can check what reached the model. Runs in the test's loop
(``async with``) or in a thread (``with``).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from tests.fakes.threaded import LocalHttpServer

DEFAULT_KEY = "sk-test-0123456789abcdef"
Json = dict[str, Any]


@dataclass
class ChatRequest:
    """One request as the server got it."""

    headers: dict[str, str]
    body: Json

    @property
    def messages(self) -> list[Json]:
        return list(self.body.get("messages", []))

    def _content(self, role: str) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)

    @property
    def system(self) -> str:
        return self._content("system")

    @property
    def user(self) -> str:
        return self._content("user")

    @property
    def text(self) -> str:
        """Everything the model was given, as one text."""
        return json.dumps(self.body, ensure_ascii=False)

    @property
    def passage_ids(self) -> list[str]:
        """The ids of the passages in the user message, in order."""
        return re.findall(r'<<<(?:ABSCHNITT|SECTION) \S+ id="([^"]+)"', self.user)

    @property
    def response_format(self) -> Json | None:
        value = self.body.get("response_format")
        return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Behaviour:
    """What the fake does with one request."""

    status: int = 200
    content: str | None = None  # the assistant message's content (status 200)
    finish_reason: str = "stop"
    refusal: str | None = None
    tool_calls: list[Json] | None = None
    error: Json | None = None  # the error body (status >= 400)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow model)
    raw: str | None = None  # a body that is not the API's JSON at all


def answer(status: str = "answered", text: str = "", cited: list[str] | tuple[str, ...] = ()) -> Behaviour:
    """The model answers with this JSON."""
    return content(json.dumps({"status": status, "text": text, "cited": list(cited)}, ensure_ascii=False))


def content(raw: str) -> Behaviour:
    return Behaviour(content=raw)


def malformed() -> Behaviour:
    """Not the JSON asked for: prose around a broken object."""
    return content('Gern! Hier die Antwort: {"status": "answered", "text": "Drei Jahre", cited: [faq:x')


def slow(seconds: float, then: Behaviour | None = None) -> Behaviour:
    base = then or answer("not_in_knowledge")
    return Behaviour(base.status, base.content, base.finish_reason, base.refusal, base.tool_calls, base.error,
                     base.headers, seconds, base.raw)


def rate_limited(retry_after: str | None = "1", retry_after_ms: str | None = None) -> Behaviour:
    """429 as OpenAI sends it (requests per minute used up)."""
    headers = {"x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0",
               "x-ratelimit-reset-requests": "20s"}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    return Behaviour(status=429, headers=headers, error=_error(
        "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, "
        "Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.",
        "requests", None, "rate_limit_exceeded"))


def server_error(status: int = 500) -> Behaviour:
    return Behaviour(status=status, error=_error(
        "The server had an error while processing your request. Sorry about that!", "server_error", None, None))


def refusal(text: str = "I'm sorry, I can't help with that.") -> Behaviour:
    return Behaviour(refusal=text)


def tool_call() -> Behaviour:
    """A tool call nobody offered (a model or proxy that makes things up)."""
    return Behaviour(finish_reason="tool_calls", tool_calls=[{
        "id": "call_fake1", "type": "function",
        "function": {"name": "send_lead", "arguments": '{"company": "any", "phone": "+491701234567"}'}}])


def truncated() -> Behaviour:
    return Behaviour(content='{"status": "answered", "text": "Die Ausbildung dauert', finish_reason="length")


def not_json() -> Behaviour:
    """A proxy's HTML page with status 200."""
    return Behaviour(raw="<html><body><h1>Welcome to nginx!</h1></body></html>")


def _error(message: str, kind: str, param: str | None, code: str | None) -> Json:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class FakeOpenAI(LocalHttpServer):
    def __init__(self, api_key: str = DEFAULT_KEY, json_schema: bool = True) -> None:
        self.api_key = api_key
        self.json_schema = json_schema
        self.script: list[Behaviour] = []
        self.respond: Callable[[ChatRequest], Behaviour] = lambda request: answer("not_in_knowledge")
        self.requests: list[ChatRequest] = []
        self._closing = asyncio.Event()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def then(self, *behaviours: Behaviour) -> Self:
        """Queue behaviours for the next requests, in order."""
        with self._lock:
            self.script.extend(behaviours)
        return self

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            shown = request.headers.get("Authorization", "").removeprefix("Bearer ")[:3]
            return _json(401, _error(f"Incorrect API key provided: {shown}***. You can find your API key at "
                                     "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                                     None, "invalid_api_key"))
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _json(400, _error("We could not parse the JSON body of your request.", "invalid_request_error",
                                     None, None))
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            return _json(400, _error("'messages' and 'model' are required properties.", "invalid_request_error",
                                     None, None))
        recorded = ChatRequest(dict(request.headers), body)
        with self._lock:
            self.requests.append(recorded)
            if (recorded.response_format or {}).get("type") == "json_schema" and not self.json_schema:
                return _json(400, _error("Unsupported response_format type: json_schema", "invalid_request_error",
                                         "response_format", None))
            behaviour = self.script.pop(0) if self.script else None
        if behaviour is None:
            behaviour = self.respond(recorded)
        if behaviour.delay:
            try:
                await asyncio.wait_for(self._closing.wait(), behaviour.delay)
            except TimeoutError:
                pass
        if behaviour.raw is not None:
            return web.Response(status=behaviour.status, text=behaviour.raw, content_type="text/html")
        if behaviour.status >= 400:
            return _json(behaviour.status, behaviour.error or {}, behaviour.headers)
        return _json(200, self._completion(body, behaviour), behaviour.headers)

    def _completion(self, body: Json, behaviour: Behaviour) -> Json:
        prompt_tokens = len(json.dumps(body.get("messages"), ensure_ascii=False)) // 4
        completion_tokens = len(behaviour.content or "") // 4
        message: Json = {"role": "assistant", "content": behaviour.content, "refusal": behaviour.refusal,
                         "annotations": []}
        if behaviour.tool_calls is not None:
            message["tool_calls"] = behaviour.tool_calls
        return {
            "id": f"chatcmpl-fake{next(self._ids):06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model")),
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": behaviour.finish_reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                    "accepted_prediction_tokens": 0,
                                                    "rejected_prediction_tokens": 0}},
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

    async def _models(self, request: web.Request) -> web.StreamResponse:
        return _json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "created": 0,
                                                        "owned_by": "fake"}]})

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        return app

    async def start(self) -> Self:
        self._closing = asyncio.Event()  # of the loop the server runs in
        return await super().start()

    async def stop(self) -> None:
        self._closing.set()  # slow answers end now
        await super().stop()


def _json(status: int, body: Json, headers: dict[str, str] | None = None) -> web.Response:
    response_headers = {"x-request-id": "req_fake", "openai-processing-ms": "12", **(headers or {})}
    return web.json_response(body, status=status, headers=response_headers)
