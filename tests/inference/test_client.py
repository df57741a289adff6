"""The client against a live server on loopback, the local backend, and broken backends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from inference.catalog import generate_products
from inference.client import (
    GenerationRequest,
    GenerationResult,
    LocalBackend,
    OpenAIBackend,
    TextChunk,
    build_backend,
)
from inference.engine import GenerationEngine
from inference.errors import InferenceError, InferenceUnavailable, InvalidGenerationRequest
from inference.prompts import build_prompt
from liftmeter.errors import LiftmeterError
from liftmeter.settings import InferenceSettings, load_settings
from tests.inference.conftest import MODEL, LiveServer

from support import free_port

PROMPT = build_prompt(next(iter(generate_products(1, seed=9, held_out=True))))


def _settings(base_url: str, **overrides: Any) -> InferenceSettings:
    fields: dict[str, Any] = {
        "backend": "openai",
        "base_url": base_url,
        "model": MODEL,
        "timeout_s": 10,
        "max_retries": 1,
    }
    return InferenceSettings(**{**fields, **overrides})


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _generate(settings: InferenceSettings, request: GenerationRequest) -> GenerationResult:
    backend = OpenAIBackend(settings)
    try:
        return await backend.generate(request)
    finally:
        await backend.aclose()


async def _stream(settings: InferenceSettings, request: GenerationRequest) -> list[Any]:
    backend = OpenAIBackend(settings)
    try:
        return [item async for item in backend.stream(request)]
    finally:
        await backend.aclose()


def test_completion_through_the_live_server(live_server: LiveServer) -> None:
    request = GenerationRequest(prompt=PROMPT, max_tokens=12, temperature=0)
    result = _run(_generate(_settings(live_server.base_url), request))
    assert result.completion_tokens == 12
    assert result.prompt_tokens is not None
    assert result.total_tokens == result.prompt_tokens + 12
    assert result.finish_reason == "length"
    assert result.text


def test_chat_stream_reports_usage_and_matches_non_stream(live_server: LiveServer) -> None:
    messages = ({"role": "user", "content": PROMPT},)
    request = GenerationRequest(messages=messages, max_tokens=200, temperature=0)
    settings = _settings(live_server.base_url)
    items = _run(_stream(settings, request))
    *chunks, result = items
    assert all(isinstance(c, TextChunk) for c in chunks)
    assert isinstance(result, GenerationResult)
    assert "".join(c.text for c in chunks) == result.text
    assert result.finish_reason == "stop"
    plain = _run(_generate(settings, request))
    assert plain.text == result.text
    assert plain.completion_tokens == result.completion_tokens


def test_local_backend_gives_the_same_answer_as_the_server(
    live_server: LiveServer, engine: GenerationEngine
) -> None:
    request = GenerationRequest(prompt=PROMPT, max_tokens=200, temperature=0)
    remote = _run(_generate(_settings(live_server.base_url), request))
    local = _run(LocalBackend(engine).generate(request))
    assert (local.text, local.prompt_tokens, local.completion_tokens) == (
        remote.text,
        remote.prompt_tokens,
        remote.completion_tokens,
    )


def test_rejected_request_names_the_field(live_server: LiveServer) -> None:
    settings = _settings(live_server.base_url, model="no-such-model")
    with pytest.raises(InvalidGenerationRequest) as info:
        _run(_generate(settings, GenerationRequest(prompt="x", max_tokens=2)))
    assert info.value.param == "model"
    assert isinstance(info.value, LiftmeterError)


def test_server_down_is_unavailable_after_bounded_retries() -> None:
    settings = _settings(f"http://127.0.0.1:{free_port()}/v1", max_retries=2)
    with pytest.raises(InferenceUnavailable):
        _run(_generate(settings, GenerationRequest(prompt="x")))
    with pytest.raises(InferenceUnavailable):
        _run(_stream(settings, GenerationRequest(prompt="x")))
    backend = OpenAIBackend(settings)
    assert _run(backend.health()) is False


def _broken_app() -> FastAPI:
    app = FastAPI()
    calls = {"flaky": 0}

    @app.post("/garbage/v1/completions")
    async def garbage() -> Response:
        return PlainTextResponse("<html>proxy error</html>")

    @app.post("/down/v1/completions")
    async def down() -> Response:
        return PlainTextResponse("overloaded", status_code=503)

    @app.post("/flaky/v1/completions")
    async def flaky(request: Request) -> Any:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            return PlainTextResponse("try again", status_code=502)
        return {"model": MODEL, "choices": [{"text": "ok", "finish_reason": "stop"}]}

    @app.post("/cut/v1/completions")
    async def cut() -> Response:
        return PlainTextResponse(
            'data: {"choices": [{"text": "par"}]}\n\n', media_type="text/event-stream"
        )

    @app.post("/nested-error/v1/completions")
    async def nested_error() -> Response:
        error = {"message": "bad top_p", "type": "BadRequestError", "param": "top_p", "code": 400}
        return JSONResponse({"error": error}, status_code=400)

    return app


@pytest.fixture(scope="module")
def broken() -> Iterator[LiveServer]:
    with LiveServer(_broken_app()) as server:
        yield server


def _url(server: LiveServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}/{path}/v1"


def test_garbage_body_is_an_inference_error(broken: LiveServer) -> None:
    with pytest.raises(InferenceError, match="JSON"):
        _run(_generate(_settings(_url(broken, "garbage")), GenerationRequest(prompt="x")))


def test_persistent_5xx_is_unavailable(broken: LiveServer) -> None:
    with pytest.raises(InferenceUnavailable):
        _run(_generate(_settings(_url(broken, "down")), GenerationRequest(prompt="x")))


def test_transient_5xx_is_retried_and_missing_usage_is_unknown(broken: LiveServer) -> None:
    result = _run(_generate(_settings(_url(broken, "flaky")), GenerationRequest(prompt="x")))
    assert result.text == "ok"
    assert result.prompt_tokens is None
    assert result.completion_tokens is None
    assert result.total_tokens is None


def test_stream_cut_before_done_is_an_error(broken: LiveServer) -> None:
    with pytest.raises(InferenceError, match="DONE"):
        _run(_stream(_settings(_url(broken, "cut")), GenerationRequest(prompt="x")))


def test_nested_error_shape_is_understood(broken: LiveServer) -> None:
    with pytest.raises(InvalidGenerationRequest) as info:
        _run(_generate(_settings(_url(broken, "nested-error")), GenerationRequest(prompt="x")))
    assert info.value.param == "top_p"


def test_build_backend_follows_settings() -> None:
    remote = build_backend(load_settings(inference={"backend": "openai"}))
    assert isinstance(remote, OpenAIBackend)
    _run(remote.aclose())
    local = build_backend(load_settings())
    assert isinstance(local, LocalBackend)
    _run(local.aclose())


def test_request_needs_exactly_one_of_prompt_or_messages() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        GenerationRequest()
