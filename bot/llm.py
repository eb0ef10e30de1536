"""The Answerer port (flows/core/ports.py) over an OpenAI-compatible Chat Completions API: OpenAI itself,
or a local server (llama.cpp, Ollama, vLLM) at OPENAI_BASE_URL.

What the model gets, and nothing else: the system prompt (prompts/llm/system.<locale>.j2) and one user
message (prompts/llm/user.<locale>.j2) with the passages retrieved for the question and the question
with personal data scrubbed out (flows.domain.answers.scrub, applied here again whatever the caller
did). Every passage and the question stand between fence lines that carry a random word of this
request; fence markers inside them are defused, so no text can close its fence. No tools, no
functions, no user id, no conversation history.

The answer is asked for as JSON ({"status", "text", "cited"}): with `response_format` json_schema
(the cited ids limited to the retrieved ones) where the server knows it, else json_object (a server
that answers 400 to json_schema is asked with json_object from then on). It is parsed strictly; what
does not parse is AnswerUnavailable(MALFORMED). The result is still unchecked: the conversation shows
it only through flows.domain.answers.check.

Time: OPENAI_TIMEOUT_SECONDS bounds the whole answer, retries included. 429 is retried after the
server's Retry-After if that fits in the time left, 5xx, timeouts and lost connections after a short
pause; at most `max_retries` times. The key and the question are never logged (the SDK's own logger,
which would log the request at DEBUG, is held at WARNING).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx
import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONObject, ResponseFormatJSONSchema
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.settings import Settings
from flows.domain.answers import (
    ANSWER_MAX_CHARS,
    Answer,
    AnswerRequest,
    AnswerStatus,
    AnswerUnavailable,
    Passage,
    UnavailableReason,
    scrub,
)
from prompts import llm_prompt

log = logging.getLogger(__name__)

PROMPT_MAX_CHARS = 800  # what the model is asked for; check() allows up to ANSWER_MAX_CHARS
MAX_TOKENS = 700  # enough for PROMPT_MAX_CHARS of German in JSON, and a cap on a runaway answer
BACKOFF_SECONDS = 0.5  # before the first retry of a 5xx or a lost connection; doubled each time
FENCE = ("<<<", ">>>")
DEFUSED = ("‹‹‹", "›››")  # what fence markers inside a passage or the question become

assert PROMPT_MAX_CHARS <= ANSWER_MAX_CHARS


class ModelAnswer(BaseModel):
    """The JSON the model must answer with; anything else is malformed."""

    model_config = ConfigDict(extra="forbid", strict=True)

    status: Literal["answered", "not_in_knowledge", "out_of_scope"]
    text: str = Field(default="", max_length=8 * ANSWER_MAX_CHARS)
    cited: list[str] = Field(default_factory=list, max_length=50)


def new_tag() -> str:
    """A fence word nobody can guess before the request (the passages and the question cannot close
    their fence even if they knew the markers)."""
    return secrets.token_hex(6)


def defuse(text: str, tag: str) -> str:
    """Text for inside a fence: no fence markers, not the fence word."""
    for marker, harmless in zip(FENCE, DEFUSED):
        text = text.replace(marker, harmless)
    return text.replace(tag, "…")


def render_messages(request: AnswerRequest, tag: str) -> list[ChatCompletionMessageParam]:
    """The two messages the model gets: the rules, then the passages and the scrubbed question."""
    passages = [{"id": p.id, "kind": p.kind, "title": defuse(p.title, tag), "text": defuse(p.text, tag)}
                for p in request.passages]
    system = llm_prompt("system", request.locale, form=request.form, tag=tag, max_chars=PROMPT_MAX_CHARS)
    user = llm_prompt("user", request.locale, form=request.form, tag=tag, passages=passages,
                      question=defuse(scrub(request.question), tag))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def answer_schema(passages: tuple[Passage, ...]) -> ResponseFormatJSONSchema:
    """Structured output: the three fields, nothing more; only retrieved ids may be cited."""
    schema: dict[str, object] = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": [s.value for s in AnswerStatus]},
            "text": {"type": "string"},
            "cited": {"type": "array", "items": {"type": "string", "enum": [p.id for p in passages]}},
        },
        "required": ["status", "text", "cited"],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": schema}}


def parse_completion(completion: object) -> Answer:
    """The model's answer out of a completion; AnswerUnavailable(MALFORMED) if it is not the JSON asked for.
    (The SDK builds its response objects without validating them: a proxy's HTML page comes as a str.)"""
    if not isinstance(completion, ChatCompletion):
        raise AnswerUnavailable(UnavailableReason.MALFORMED, f"a {type(completion).__name__}, not a completion")
    try:
        return _parse(completion)
    except (AttributeError, TypeError, IndexError, KeyError):
        raise AnswerUnavailable(UnavailableReason.MALFORMED, "not the shape of a chat completion") from None


def _parse(completion: ChatCompletion) -> Answer:
    if not isinstance(completion.choices, list) or not completion.choices:
        raise AnswerUnavailable(UnavailableReason.MALFORMED, "no choices")
    choice = completion.choices[0]
    message = choice.message
    if getattr(message, "refusal", None):  # the model declined (OpenAI's structured outputs)
        return Answer(status=AnswerStatus.OUT_OF_SCOPE)
    if message.tool_calls or getattr(message, "function_call", None):
        raise AnswerUnavailable(UnavailableReason.MALFORMED, "tool call")  # none were offered
    if choice.finish_reason == "length":
        raise AnswerUnavailable(UnavailableReason.MALFORMED, "cut off at the token limit")
    if not isinstance(message.content, str):
        raise AnswerUnavailable(UnavailableReason.MALFORMED, "no content")
    try:
        parsed = ModelAnswer.model_validate_json(message.content)
    except ValidationError as error:
        raise AnswerUnavailable(UnavailableReason.MALFORMED, f"{error.error_count()} errors") from None
    return Answer(status=AnswerStatus(parsed.status), text=parsed.text, cited=tuple(parsed.cited))


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asks to wait: retry-after-ms, or retry-after in seconds or as an HTTP date."""
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


class OpenAIAnswerer:
    """flows.core.ports.Answerer through the `openai` SDK (AsyncOpenAI, Chat Completions)."""

    def __init__(self, base_url: str, api_key: str, model: str, timeout_seconds: float = 15.0,
                 max_retries: int = 2, *, tag: Callable[[], str] = new_tag,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if not api_key:
            raise ValueError("an API key is needed (a local server takes any word)")
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.json_schema = True  # until the server refuses response_format json_schema
        self._tag = tag
        self._sleep = sleep
        # Retries are ours (within the time of the whole answer); the SDK makes one attempt per call.
        self._client = AsyncOpenAI(base_url=base_url.rstrip("/"), api_key=api_key, timeout=timeout_seconds,
                                   max_retries=0)
        logging.getLogger("openai").setLevel(logging.WARNING)  # at DEBUG it logs whole requests

    async def close(self) -> None:
        await self._client.close()

    async def answer(self, request: AnswerRequest) -> Answer:
        if not request.passages:  # nothing to answer from: no call, nothing sent
            return Answer(status=AnswerStatus.NOT_IN_KNOWLEDGE)
        messages = render_messages(request, self._tag())
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.timeout_seconds
        attempt = 0
        try:
            async with asyncio.timeout(self.timeout_seconds):
                while True:
                    try:
                        completion = await self._complete(messages, request.passages, deadline - loop.time())
                        answer = parse_completion(completion)
                        log.info("llm answer: status=%s cited=%d attempts=%d ms=%d", answer.status.value,
                                 len(answer.cited), attempt + 1, (loop.time() - started) * 1000)
                        return answer
                    except openai.APIError as error:
                        pause = self._pause(error, attempt, deadline - loop.time())
                        if pause is None:
                            raise unavailable(error) from None
                    attempt += 1
                    await self._sleep(pause)
        except TimeoutError:
            log.warning("llm unavailable: reason=timeout attempts=%d", attempt + 1)
            raise AnswerUnavailable(UnavailableReason.TIMEOUT, f"no answer within {self.timeout_seconds:g} s") from None
        except AnswerUnavailable as error:
            log.warning("llm unavailable: reason=%s %s attempts=%d", error.reason.value, error.detail, attempt + 1)
            raise

    async def _complete(self, messages: list[ChatCompletionMessageParam], passages: tuple[Passage, ...],
                        remaining: float) -> ChatCompletion:
        if self.json_schema:
            try:
                return await self._create(messages, answer_schema(passages), remaining)
            except openai.APIStatusError as error:
                if error.status_code not in (400, 422):
                    raise
                log.warning("llm: the server refused response_format json_schema (%d); using json_object",
                            error.status_code)
                self.json_schema = False
        return await self._create(messages, {"type": "json_object"}, remaining)

    async def _create(self, messages: list[ChatCompletionMessageParam],
                      response_format: ResponseFormatJSONSchema | ResponseFormatJSONObject,
                      remaining: float) -> ChatCompletion:
        if remaining <= 0:
            raise TimeoutError
        return await self._client.chat.completions.create(
            model=self.model, messages=messages, response_format=response_format, max_tokens=MAX_TOKENS, n=1,
            timeout=remaining)

    def _pause(self, error: openai.APIError, attempt: int, remaining: float) -> float | None:
        """Seconds to wait before trying again, or None: give up now."""
        if attempt >= self.max_retries:
            return None
        if isinstance(error, openai.RateLimitError):
            pause = retry_after(error.response.headers)
            pause = BACKOFF_SECONDS * 2 ** attempt if pause is None else pause
        elif isinstance(error, openai.APIConnectionError) or (  # includes APITimeoutError
                isinstance(error, openai.APIStatusError) and (error.status_code >= 500
                                                              or error.status_code in (408, 409))):
            pause = BACKOFF_SECONDS * 2 ** attempt
        else:
            return None
        return pause if pause < remaining else None  # no point waiting past the time of the answer


def unavailable(error: openai.APIError) -> AnswerUnavailable:
    """The SDK's error as the port's: which kind, and the status code (never a body, it may echo input)."""
    if isinstance(error, openai.APITimeoutError):
        return AnswerUnavailable(UnavailableReason.TIMEOUT)
    if isinstance(error, openai.APIConnectionError):
        return AnswerUnavailable(UnavailableReason.CONNECTION, type(error.__cause__).__name__)
    if isinstance(error, openai.RateLimitError):
        return AnswerUnavailable(UnavailableReason.RATE_LIMITED, "429")
    if isinstance(error, openai.APIStatusError):
        reason = UnavailableReason.SERVER_ERROR if error.status_code >= 500 else UnavailableReason.REJECTED
        return AnswerUnavailable(reason, str(error.status_code))
    return AnswerUnavailable(UnavailableReason.MALFORMED, type(error).__name__)  # e.g. a body that is no JSON


def answerer_from(settings: Settings) -> OpenAIAnswerer | None:
    """The answerer the settings ask for; None without OPENAI_API_KEY (the bot answers from its pages)."""
    if settings.openai_api_key is None:
        return None
    return OpenAIAnswerer(base_url=str(settings.openai_base_url), api_key=settings.openai_api_key.get_secret_value(),
                          model=settings.openai_model, timeout_seconds=settings.openai_timeout_seconds)

