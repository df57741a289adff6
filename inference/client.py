"""One interface to text generation, whichever backend serves it.

- `OpenAIBackend` talks to any OpenAI-compatible server (`vllm serve`, `liftmeter inference
  serve`): bounded retries with exponential backoff on connection errors and 5xx, streaming
  with `stream_options.include_usage` always sent, both error shapes of vLLM understood.
- `LocalBackend` runs the generation engine in this process with the same interface.

`build_backend(settings)` picks one from `settings.inference.backend`. Failures surface as
`InferenceUnavailable` (cannot reach a working backend) or `InferenceError` (it answered
something that is not a completion); a rejected request is `InvalidGenerationRequest` with
the server's `param`. Token counts the server did not report are `None` (unknown), never 0.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from inference.errors import InferenceError, InferenceUnavailable, InvalidGenerationRequest
from inference.prompts import number_constraint
from liftmeter.settings import InferenceSettings, Settings

_RETRY_BASE_S = 0.2
_RETRY_MAX_S = 2.0


@dataclass(frozen=True)
class GenerationRequest:
    """A prompt (completions API) or chat messages (chat API), with sampling fields."""

    prompt: str | None = None
    messages: tuple[Mapping[str, str], ...] | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    guard_numbers: bool | None = None

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of prompt or messages")


@dataclass(frozen=True)
class GenerationResult:
    """The generated text and what the backend reported about it."""

    text: str
    model: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None or self.completion_tokens is None:
            return None
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class TextChunk:
    """Text streamed before the result."""

    text: str


StreamItem = TextChunk | GenerationResult


class InferenceBackend(Protocol):
    """What the gateway needs from a model server."""

    model: str

    async def generate(self, request: GenerationRequest) -> GenerationResult: ...

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]: ...

    async def health(self) -> bool: ...

    async def aclose(self) -> None: ...


class OpenAIBackend:
    """Async client for an OpenAI-compatible server (vLLM's protocol)."""

    def __init__(
        self, settings: InferenceSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ):
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self.model = settings.model
        self._retries = settings.max_retries
        self._http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_s),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def health(self) -> bool:
        """True when `/health` (beside `/v1`) answers 200."""
        url = str(self._http.base_url).rstrip("/").removesuffix("/v1") + "/health"
        try:
            return (await self._http.get(url)).status_code == 200
        except httpx.HTTPError:
            return False

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        started = time.perf_counter()
        path, body = self._body(request, stream=False)
        payload = await self._send(path, body)
        return _parse_result(payload, chat=request.messages is not None, started=started)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        started = time.perf_counter()
        path, body = self._body(request, stream=True)
        parts: list[str] = []
        finish: str | None = None
        usage: Mapping[str, Any] | None = None
        async with self._open_stream(path, body) as response:
            async for event in _sse_events(response):
                text, reason, event_usage = _parse_chunk(event, chat=request.messages is not None)
                finish = reason or finish
                usage = event_usage or usage
                if text:
                    parts.append(text)
                    yield TextChunk(text)
        yield _result(
            text="".join(parts), model=self.model, finish=finish, usage=usage, started=started
        )

    def _body(self, request: GenerationRequest, *, stream: bool) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": stream,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if request.guard_numbers is not None:
            body["guard_numbers"] = request.guard_numbers  # liftmeter extra; vLLM ignores it
        if request.messages is not None:
            return "chat/completions", {**body, "messages": [dict(m) for m in request.messages]}
        return "completions", {**body, "prompt": request.prompt}

    async def _send(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = await self._http.post(path, json=body)
            except httpx.TransportError as exc:
                if last:
                    raise InferenceUnavailable(f"cannot reach the model server: {exc!r}") from exc
            else:
                if response.status_code < 500 or last:
                    return _decode_response(response)
            await _backoff(attempt)
        raise AssertionError("unreachable")

    def _open_stream(self, path: str, body: dict[str, Any]) -> _StreamContext:
        return _StreamContext(self, path, body)

    async def _connect_stream(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """Open a streaming response, retrying until the first byte (never mid-stream)."""
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = await self._http.send(
                    self._http.build_request("POST", path, json=body), stream=True
                )
            except httpx.TransportError as exc:
                if last:
                    raise InferenceUnavailable(f"cannot reach the model server: {exc!r}") from exc
            else:
                if response.status_code == 200:
                    return response
                await response.aread()
                await response.aclose()
                if response.status_code < 500 or last:
                    _decode_response(response)
                    raise InferenceError(f"unexpected status {response.status_code}")
            await _backoff(attempt)
        raise AssertionError("unreachable")


class _StreamContext:
    def __init__(self, backend: OpenAIBackend, path: str, body: dict[str, Any]) -> None:
        self._args = (backend, path, body)
        self._response: httpx.Response | None = None

    async def __aenter__(self) -> httpx.Response:
        backend, path, body = self._args
        self._response = await backend._connect_stream(path, body)
        return self._response

    async def __aexit__(self, *exc: object) -> None:
        if self._response is not None:
            await self._response.aclose()


async def _backoff(attempt: int) -> None:
    delay = min(_RETRY_MAX_S, _RETRY_BASE_S * 2**attempt)
    await asyncio.sleep(delay * (0.5 + random.random() / 2))


def _decode_response(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a 2xx, or the matching error for anything else."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code >= 500:
        raise InferenceUnavailable(f"the model server failed with {response.status_code}")
    if response.status_code >= 400:
        raise _error_from(payload, response.status_code)
    if not isinstance(payload, dict):
        raise InferenceError("the model server returned a body that is not a JSON object")
    return payload


def _error_from(payload: Any, status: int) -> InferenceError:
    """Map both vLLM error shapes (`{"error": {...}}` and flat `{"object": "error"}`)."""
    error = payload.get("error", payload) if isinstance(payload, dict) else {}
    if not isinstance(error, dict):
        error = {"message": str(error)}
    message = str(error.get("message") or f"the model server answered {status}")
    param = error.get("param") if isinstance(error.get("param"), str) else None
    if status in (400, 404, 422):
        return InvalidGenerationRequest(message, param=param)
    return InferenceError(message, param=param)


async def _sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """JSON events of an SSE body up to `[DONE]`; raise on error events or early end."""
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError as exc:
            raise InferenceError("the model server streamed an invalid event") from exc
        if not isinstance(event, dict):
            raise InferenceError("the model server streamed an invalid event")
        if "error" in event or event.get("object") == "error":
            raise _error_from(event, 500)
        yield event
    raise InferenceError("the stream ended before [DONE]")


def _parse_chunk(
    event: Mapping[str, Any], *, chat: bool
) -> tuple[str, str | None, Mapping[str, Any] | None]:
    usage = event.get("usage") if isinstance(event.get("usage"), dict) else None
    choices = event.get("choices") or []
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return "", None, usage
    choice = choices[0]
    delta = choice.get("delta") if chat else choice
    text = delta.get("content") if chat and isinstance(delta, dict) else choice.get("text")
    return (text if isinstance(text, str) else ""), choice.get("finish_reason"), usage


def _parse_result(payload: Mapping[str, Any], *, chat: bool, started: float) -> GenerationResult:
    try:
        choice = payload["choices"][0]
        text = choice["message"]["content"] if chat else choice["text"]
    except (KeyError, IndexError, TypeError) as exc:
        raise InferenceError("the model server returned a response without choices") from exc
    if not isinstance(text, str):
        raise InferenceError("the model server returned a choice without text")
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else None
    return _result(
        text=text,
        model=str(payload.get("model", "")),
        finish=choice.get("finish_reason"),
        usage=usage,
        started=started,
        extra={"metrics": payload.get("metrics")},
    )


def _count(usage: Mapping[str, Any] | None, key: str) -> int | None:
    value = usage.get(key) if usage else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _result(
    *,
    text: str,
    model: str,
    finish: str | None,
    usage: Mapping[str, Any] | None,
    started: float,
    extra: Mapping[str, Any] | None = None,
) -> GenerationResult:
    return GenerationResult(
        text=text,
        model=model,
        finish_reason=finish,
        prompt_tokens=_count(usage, "prompt_tokens"),
        completion_tokens=_count(usage, "completion_tokens"),
        latency_ms=(time.perf_counter() - started) * 1000.0,
        extra={k: v for k, v in (extra or {}).items() if v is not None},
    )


class LocalBackend:
    """The embedded engine in this process, behind the same interface."""

    def __init__(self, engine: Any) -> None:
        from inference.engine import GenerationEngine

        if not isinstance(engine, GenerationEngine):
            raise TypeError("LocalBackend needs a GenerationEngine")
        self._engine = engine.start()
        self.model = engine.model_name

    @classmethod
    def from_settings(cls, settings: InferenceSettings) -> LocalBackend:
        from inference.checkpoint import load_checkpoint
        from inference.engine import GenerationEngine

        engine = GenerationEngine(
            load_checkpoint(settings.checkpoint),
            model_name=settings.model,
            max_batch_size=settings.max_batch_size,
            batch_wait_ms=settings.batch_wait_ms,
        )
        return cls(engine)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._engine.close)

    async def health(self) -> bool:
        return self._engine.is_running()

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        result: GenerationResult | None = None
        async for item in self.stream(request):
            if isinstance(item, GenerationResult):
                result = item
        if result is None:
            raise InferenceError("the engine finished without a result")
        return result

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        from inference.engine import Completion

        started = time.perf_counter()
        prompt = request.prompt if request.prompt is not None else _last_user(request.messages)
        params = _local_params(request, number_constraint(prompt, request.guard_numbers))
        async for event in self._engine.stream(prompt, params):
            if isinstance(event, Completion):
                usage = {
                    "prompt_tokens": event.prompt_tokens,
                    "completion_tokens": event.completion_tokens,
                }
                yield _result(
                    text=event.text,
                    model=self.model,
                    finish=event.finish_reason,
                    usage=usage,
                    started=started,
                )
            else:
                yield TextChunk(event.text)


def _last_user(messages: Sequence[Mapping[str, str]] | None) -> str:
    users = [m.get("content", "") for m in messages or () if m.get("role") == "user"]
    if not users:
        raise InvalidGenerationRequest("messages must contain a user message", param="messages")
    return users[-1]


def _local_params(request: GenerationRequest, allowed: frozenset[str] | None) -> Any:
    from inference.sampling import SamplingParams

    try:
        return SamplingParams(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop=request.stop,
            seed=request.seed,
            allowed_numbers=allowed,
        )
    except ValueError as exc:
        raise InvalidGenerationRequest(str(exc)) from exc


def build_backend(settings: Settings) -> InferenceBackend:
    """The backend `settings.inference.backend` names: `local` or `openai`."""
    if settings.inference.backend == "local":
        return LocalBackend.from_settings(settings.inference)
    return OpenAIBackend(settings.inference)
