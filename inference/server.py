"""OpenAI-compatible HTTP server for the embedded model, shaped like `vllm serve`.

Routes: `POST /v1/completions`, `POST /v1/chat/completions` (JSON or SSE streaming, with a
final usage chunk when `stream_options.include_usage`), `GET /v1/models`, `GET /health`,
`GET /metrics` (vLLM metric names). Every client error is a 400 in vLLM's flat error shape
naming the offending field; nothing the client sends can produce a 500.

Chat template: the embedded model is a single-turn description model, so the prompt is the
text of the last user message (normally `inference.prompts.build_prompt` output).
For prompts in the product template the number guard (`inference.sampling`) is on unless the
request sends `"guard_numbers": false`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from inference.engine import Completion, GenerationEngine, TextDelta
from inference.errors import InferenceError, InvalidGenerationRequest
from inference.metrics import EngineMetrics
from inference.prompts import number_constraint
from inference.sampling import SamplingParams
from inference.schemas import (
    ChatChoice,
    ChatChunkChoice,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatResponseMessage,
    CompletionChoice,
    CompletionRequest,
    CompletionResponse,
    DeltaMessage,
    ErrorResponse,
    ModelCard,
    ModelList,
    UsageInfo,
)
from liftmeter.settings import Settings

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def create_app(settings: Settings, *, engine: GenerationEngine | None = None) -> FastAPI:
    """Build the app; loads the configured checkpoint unless an `engine` is given."""
    if engine is None:
        engine = _build_engine(settings)
    api_key = settings.inference.api_key

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine.start()
        yield
        engine.close()

    app = FastAPI(title="liftmeter inference", lifespan=lifespan)
    app.state.engine = engine
    _install_error_handlers(app)
    if api_key:
        _install_auth(app, api_key)
    _install_routes(app, engine)
    return app


def _build_engine(settings: Settings) -> GenerationEngine:
    from inference.checkpoint import load_checkpoint

    config = settings.inference
    return GenerationEngine(
        load_checkpoint(config.checkpoint),
        model_name=config.model,
        max_batch_size=config.max_batch_size,
        batch_wait_ms=config.batch_wait_ms,
        metrics=EngineMetrics(config.model),
    )


def error_response(message: str, *, param: str | None, status: int = 400) -> JSONResponse:
    kind = {400: "BadRequestError", 401: "AuthenticationError", 404: "NotFoundError"}.get(
        status, "InternalServerError"
    )
    body = ErrorResponse(message=message, type=kind, param=param, code=status)
    return JSONResponse(body.model_dump(), status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        loc = [str(part) for part in first.get("loc", ()) if part != "body"]
        param = loc[0] if loc and not loc[0].isdigit() else "body"
        return error_response(f"{param}: {first.get('msg', 'invalid')}", param=param)

    @app.exception_handler(InvalidGenerationRequest)
    async def invalid_generation(_: Request, exc: InvalidGenerationRequest) -> JSONResponse:
        return error_response(exc.message, param=exc.param)

    @app.exception_handler(InferenceError)
    async def engine_failed(_: Request, exc: InferenceError) -> JSONResponse:
        return error_response(exc.message, param=None, status=503)


def _install_auth(app: FastAPI, api_key: str) -> None:
    @app.middleware("http")
    async def require_key(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path.startswith("/v1") and (
            request.headers.get("authorization") != f"Bearer {api_key}"
        ):
            return error_response("Unauthorized", param=None, status=401)
        return await call_next(request)


def _install_routes(app: FastAPI, engine: GenerationEngine) -> None:
    @app.get("/health")
    async def health() -> Response:
        alive = engine.healthy and engine.is_running()
        return Response(status_code=200 if alive else 503)

    @app.get("/v1/models")
    async def models() -> ModelList:
        card = ModelCard(
            id=engine.model_name, root=engine.model_name, max_model_len=engine.context_window
        )
        return ModelList(data=[card])

    @app.get("/metrics")
    async def metrics() -> Response:
        if engine.metrics is None:
            return Response(b"", media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(engine.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/completions", response_model=None)
    async def completions(body: CompletionRequest) -> Response | CompletionResponse:
        prompt = _single_prompt(body.prompt)
        params = _sampling(engine, body, prompt, max_tokens=body.max_tokens)
        if body.stream:
            return _sse(_completion_chunks(engine, body, prompt, params))
        result = await engine.generate(prompt, params)
        choice = CompletionChoice(
            text=result.text, finish_reason=result.finish_reason, stop_reason=result.stop_reason
        )
        return CompletionResponse(model=body.model, choices=[choice], usage=_usage(result))

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatCompletionRequest) -> Response | ChatCompletionResponse:
        prompt = _chat_prompt(body)
        params = _sampling(
            engine, body, prompt, max_tokens=body.max_completion_tokens or body.max_tokens
        )
        if body.stream:
            return _sse(_chat_chunks(engine, body, prompt, params))
        result = await engine.generate(prompt, params)
        choice = ChatChoice(
            message=ChatResponseMessage(content=result.text),
            finish_reason=result.finish_reason,
            stop_reason=result.stop_reason,
        )
        return ChatCompletionResponse(model=body.model, choices=[choice], usage=_usage(result))


def _single_prompt(prompt: str | list[str] | list[int] | list[list[int]]) -> str | list[int]:
    if isinstance(prompt, str):
        return prompt
    if prompt and all(isinstance(item, int) for item in prompt):
        return [int(item) for item in prompt]  # type: ignore[arg-type]
    if len(prompt) == 1 and isinstance(prompt[0], str | list):
        return _single_prompt(prompt[0])
    raise InvalidGenerationRequest("exactly one prompt per request is supported", param="prompt")


def _chat_prompt(body: ChatCompletionRequest) -> str:
    users = [message for message in body.messages if message.role == "user"]
    if not users:
        raise InvalidGenerationRequest("messages must contain a user message", param="messages")
    return users[-1].text()


def _sampling(
    engine: GenerationEngine,
    body: CompletionRequest | ChatCompletionRequest,
    prompt: str | list[int],
    *,
    max_tokens: int | None,
) -> SamplingParams:
    """Validate the request against the model and turn it into engine parameters."""
    if body.model != engine.model_name:
        raise InvalidGenerationRequest(f"The model `{body.model}` does not exist.", param="model")
    if body.n != 1:
        raise InvalidGenerationRequest("only n=1 is supported", param="n")
    if body.stream_options is not None and not body.stream:
        raise InvalidGenerationRequest(
            "Stream options can only be defined when `stream=True`.", param="stream_options"
        )
    prompt_ids = engine.encode_prompt(prompt)
    if max_tokens is None:
        max_tokens = max(1, engine.context_window - len(prompt_ids))
    params = SamplingParams(
        max_tokens=max_tokens,
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        stop=body.stop_sequences(),
        seed=body.seed,
        allowed_numbers=number_constraint(prompt, body.guard_numbers),
    )
    engine.check_request(prompt_ids, params)
    return params


def _usage(result: Completion) -> UsageInfo:
    return UsageInfo(
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        total_tokens=result.prompt_tokens + result.completion_tokens,
    )


def _sse(events: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    async def encode() -> AsyncIterator[str]:
        try:
            async for event in events:
                yield f"data: {json.dumps(event)}\n\n"
        except InferenceError as exc:
            error = {"message": exc.message, "type": "InternalServerError", "code": 500}
            yield f"data: {json.dumps({'error': error})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(encode(), media_type="text/event-stream", headers=_SSE_HEADERS)


async def _completion_chunks(
    engine: GenerationEngine,
    body: CompletionRequest,
    prompt: str | list[int],
    params: SamplingParams,
) -> AsyncIterator[dict[str, Any]]:
    base = CompletionResponse(model=body.model, choices=[])
    async for event in engine.stream(prompt, params):
        if isinstance(event, TextDelta):
            choice = CompletionChoice(text=event.text)
        else:
            choice = CompletionChoice(
                text="", finish_reason=event.finish_reason, stop_reason=event.stop_reason
            )
        yield base.model_copy(update={"choices": [choice]}).model_dump(exclude={"usage"})
        if isinstance(event, Completion) and _include_usage(body):
            yield base.model_copy(update={"usage": _usage(event)}).model_dump()


async def _chat_chunks(
    engine: GenerationEngine, body: ChatCompletionRequest, prompt: str, params: SamplingParams
) -> AsyncIterator[dict[str, Any]]:
    chunk = ChatCompletionChunk(id=f"chatcmpl-{uuid.uuid4().hex}", model=body.model, choices=[])
    first = ChatChunkChoice(delta=DeltaMessage(role="assistant", content=""))
    yield chunk.model_copy(update={"choices": [first]}).model_dump(exclude={"usage"})
    async for event in engine.stream(prompt, params):
        if isinstance(event, TextDelta):
            choice = ChatChunkChoice(delta=DeltaMessage(content=event.text))
        else:
            choice = ChatChunkChoice(
                delta=DeltaMessage(),
                finish_reason=event.finish_reason,
                stop_reason=event.stop_reason,
            )
        yield chunk.model_copy(update={"choices": [choice]}).model_dump(exclude={"usage"})
        if isinstance(event, Completion) and _include_usage(body):
            yield chunk.model_copy(update={"usage": _usage(event)}).model_dump()


def _include_usage(body: CompletionRequest | ChatCompletionRequest) -> bool:
    return bool(body.stream_options and body.stream_options.include_usage)
