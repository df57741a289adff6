"""The OpenAI-compatible server: vLLM response shapes, SSE, usage, errors, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from inference.catalog import generate_products, generate_unseen_products
from inference.checkpoint import Checkpoint
from inference.delex import delexicalize_prompt
from inference.engine import GenerationEngine
from inference.metrics import EngineMetrics
from inference.prompts import build_prompt
from inference.server import create_app
from liftmeter.settings import Settings
from tests.inference.conftest import MODEL

PROMPT = build_prompt(next(iter(generate_products(1, seed=5, held_out=True))))


@pytest.fixture(scope="module")
def client(settings: Settings, checkpoint: Checkpoint) -> Iterator[TestClient]:
    engine = GenerationEngine(checkpoint, model_name=MODEL, metrics=EngineMetrics(MODEL))
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def _events(body: str) -> list[Any]:
    lines = [line[len("data: ") :] for line in body.split("\n\n") if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def test_completion_returns_text_and_exact_usage(client: TestClient) -> None:
    body = {"model": MODEL, "prompt": PROMPT, "max_tokens": 8, "temperature": 0}
    data = client.post("/v1/completions", json=body).json()
    assert data["object"] == "text_completion"
    assert data["id"].startswith("cmpl-")
    choice = data["choices"][0]
    assert choice["finish_reason"] == "length"
    assert set(choice) >= {"index", "text", "logprobs", "finish_reason", "stop_reason"}
    usage = data["usage"]
    assert usage["completion_tokens"] == 8
    assert usage["total_tokens"] == usage["prompt_tokens"] + 8


def test_chat_completion_uses_the_last_user_message(client: TestClient) -> None:
    body = {
        "model": MODEL,
        "temperature": 0,
        "max_completion_tokens": 200,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": PROMPT},
        ],
    }
    data = client.post("/v1/chat/completions", json=body).json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"]["role"] == "assistant"
    assert data["choices"][0]["finish_reason"] == "stop"
    completion = client.post(
        "/v1/completions",
        json={"model": MODEL, "prompt": PROMPT, "max_tokens": 200, "temperature": 0},
    ).json()
    assert data["choices"][0]["message"]["content"] == completion["choices"][0]["text"]
    assert data["usage"] == completion["usage"]


def test_chat_stream_ends_with_a_usage_chunk_and_done(client: TestClient) -> None:
    body = {
        "model": MODEL,
        "temperature": 0,
        "max_tokens": 20,
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": PROMPT}],
    }
    response = client.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert events[-2]["choices"][0]["finish_reason"] == "length"
    assert events[-1]["choices"] == []
    assert events[-1]["usage"]["completion_tokens"] == 20
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    plain = client.post(
        "/v1/completions",
        json={"model": MODEL, "prompt": PROMPT, "max_tokens": 20, "temperature": 0},
    ).json()
    assert text == plain["choices"][0]["text"]


def test_completion_stream_without_usage_option_has_no_usage(client: TestClient) -> None:
    body = {"model": MODEL, "prompt": PROMPT, "max_tokens": 5, "stream": True}
    events = _events(client.post("/v1/completions", json=body).text)
    assert all("usage" not in e for e in events)
    assert events[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "gpt-4", "prompt": "x"}, "model"),
        ({"model": MODEL, "prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"model": MODEL, "prompt": "x", "max_tokens": 10_000}, "max_tokens"),
        ({"model": MODEL, "prompt": "word " * 1000}, "prompt"),
        ({"model": MODEL, "prompt": "x", "temperature": -1}, "temperature"),
        (
            {"model": MODEL, "prompt": "x", "stream_options": {"include_usage": True}},
            "stream_options",
        ),
        ({"model": MODEL, "prompt": ["a", "b"]}, "prompt"),
        ({"model": MODEL, "prompt": [999_999]}, "prompt"),
        ({"prompt": "x"}, "model"),
    ],
)
def test_bad_requests_are_400_in_vllm_error_shape(
    client: TestClient, body: dict[str, Any], param: str
) -> None:
    response = client.post("/v1/completions", json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["object"] == "error"
    assert error["type"] == "BadRequestError"
    assert error["code"] == 400
    assert error["param"] == param
    assert error["message"]


def test_malformed_json_is_a_400_naming_the_body(client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["param"] == "body"


def test_chat_without_user_message_is_rejected(client: TestClient) -> None:
    body = {"model": MODEL, "messages": [{"role": "system", "content": "x"}]}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["param"] == "messages"


def test_models_health_and_metrics(client: TestClient) -> None:
    models = client.get("/v1/models").json()
    assert models["object"] == "list"
    assert models["data"][0]["id"] == MODEL
    assert models["data"][0]["max_model_len"] > 0
    assert client.get("/health").status_code == 200
    client.post("/v1/completions", json={"model": MODEL, "prompt": PROMPT, "max_tokens": 3})
    metrics = client.get("/metrics").text
    for name in (
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:e2e_request_latency_seconds",
        "vllm:num_requests_running",
        'vllm:request_success_total{finished_reason="length"',
    ):
        assert name in metrics


def test_api_key_is_required_when_configured(checkpoint: Checkpoint) -> None:
    from liftmeter.settings import load_settings

    settings = load_settings(inference={"api_key": "secret"})
    engine = GenerationEngine(checkpoint, model_name=MODEL)
    with TestClient(create_app(settings, engine=engine)) as client:
        assert client.get("/v1/models").status_code == 401
        headers = {"Authorization": "Bearer secret"}
        assert client.get("/v1/models", headers=headers).status_code == 200
        assert client.get("/health").status_code == 200


def test_streamed_description_of_unseen_values_matches_the_plain_one(client: TestClient) -> None:
    product = next(iter(generate_unseen_products(1, seed=41)))
    prompt = build_prompt(product)
    body = {"model": MODEL, "prompt": prompt, "max_tokens": 200, "temperature": 0}
    plain = client.post("/v1/completions", json=body).json()
    stream = {**body, "stream": True, "stream_options": {"include_usage": True}}
    events = _events(client.post("/v1/completions", json=stream).text)
    text = "".join(e["choices"][0]["text"] for e in events[:-1])
    assert text == plain["choices"][0]["text"]
    assert product.brand in text
    assert product.title in text
    assert events[-1]["usage"] == plain["usage"]
    delexicalized = delexicalize_prompt(prompt)
    assert delexicalized is not None
    engine = client.app.state.engine  # type: ignore[attr-defined]
    assert plain["usage"]["prompt_tokens"] == len(engine.tokenizer.encode(delexicalized[0]))
