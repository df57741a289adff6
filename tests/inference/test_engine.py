"""The generation engine on the shipped checkpoint: counts, seeds, stops, batching."""

from __future__ import annotations

import asyncio

import pytest

from inference.catalog import generate_products
from inference.engine import Completion, GenerationEngine, TextDelta
from inference.errors import InvalidGenerationRequest
from inference.prompts import build_prompt
from inference.sampling import SamplingParams

PROMPTS = [build_prompt(p) for p in generate_products(8, seed=21, held_out=True)]


def test_greedy_completion_has_exact_token_counts(engine: GenerationEngine) -> None:
    result = asyncio.run(engine.generate(PROMPTS[0], SamplingParams(max_tokens=6, temperature=0)))
    assert result.prompt_tokens == len(engine.tokenizer.encode(PROMPTS[0]))
    assert result.completion_tokens == 6
    assert result.finish_reason == "length"
    full = asyncio.run(engine.generate(PROMPTS[0], SamplingParams(max_tokens=200, temperature=0)))
    assert full.finish_reason == "stop"
    assert full.text.startswith(result.text)
    assert 6 < full.completion_tokens < 200


def test_same_seed_gives_same_sample(engine: GenerationEngine) -> None:
    params = SamplingParams(max_tokens=30, temperature=1.0, top_p=0.95, seed=11)
    first = asyncio.run(engine.generate(PROMPTS[1], params))
    assert asyncio.run(engine.generate(PROMPTS[1], params)) == first


def test_stop_sequence_truncates_and_is_reported(engine: GenerationEngine) -> None:
    full = asyncio.run(engine.generate(PROMPTS[2], SamplingParams(max_tokens=120, temperature=0)))
    stop = full.text.split()[3]
    cut = asyncio.run(
        engine.generate(PROMPTS[2], SamplingParams(max_tokens=120, temperature=0, stop=(stop,)))
    )
    assert cut.finish_reason == "stop"
    assert cut.stop_reason == stop
    assert cut.text == full.text[: full.text.index(stop)]


def test_concurrent_requests_match_sequential_results(engine: GenerationEngine) -> None:
    params = SamplingParams(max_tokens=40, temperature=0)

    async def run_all() -> list[Completion]:
        return await asyncio.gather(*(engine.generate(p, params) for p in PROMPTS))

    sequential = [asyncio.run(engine.generate(p, params)) for p in PROMPTS]
    assert asyncio.run(run_all()) == sequential


def test_stream_deltas_add_up_to_the_completion(engine: GenerationEngine) -> None:
    async def collect() -> tuple[list[str], Completion]:
        deltas: list[str] = []
        async for event in engine.stream(PROMPTS[3], SamplingParams(max_tokens=50, temperature=0)):
            if isinstance(event, TextDelta):
                deltas.append(event.text)
            else:
                return deltas, event
        raise AssertionError("no completion")

    deltas, completion = asyncio.run(collect())
    assert len(deltas) > 3
    assert "".join(deltas) == completion.text


def test_prompt_beyond_the_context_window_is_rejected(engine: GenerationEngine) -> None:
    too_long = "word " * engine.context_window
    with pytest.raises(InvalidGenerationRequest) as info:
        asyncio.run(engine.generate(too_long, SamplingParams(max_tokens=1)))
    assert info.value.param == "prompt"
    with pytest.raises(InvalidGenerationRequest) as info:
        asyncio.run(engine.generate("hi", SamplingParams(max_tokens=engine.context_window)))
    assert info.value.param == "max_tokens"


def test_tiny_temperatures_and_fully_masked_logits_never_produce_nan() -> None:
    import torch

    from inference.sampling import SamplingParams, sample_token

    generator = torch.Generator().manual_seed(0)
    logits = torch.tensor([1.0, 3.0, 2.0])
    for temperature in (5e-324, 1e-30, 1e-4):
        assert sample_token(logits, SamplingParams(temperature=temperature), generator) == 1
    masked = torch.full((3,), -torch.inf)
    assert sample_token(masked, SamplingParams(temperature=0.7), generator) in (0, 1, 2)
