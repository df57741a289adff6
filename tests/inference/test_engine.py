"""The generation engine on the shipped checkpoint: counts, seeds, stops, batching, slots."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from inference.catalog import generate_products, generate_unseen_products
from inference.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from inference.delex import delexicalize_prompt
from inference.engine import Completion, GenerationEngine, TextDelta
from inference.errors import InvalidGenerationRequest
from inference.prompts import build_prompt, number_constraint
from inference.sampling import SamplingParams
from tests.inference.factories import make_product

PROMPTS = [build_prompt(p) for p in generate_products(8, seed=21, held_out=True)]


def test_greedy_completion_has_exact_token_counts(engine: GenerationEngine) -> None:
    result = asyncio.run(engine.generate(PROMPTS[0], SamplingParams(max_tokens=6, temperature=0)))
    assert result.prompt_tokens == len(engine.encode_prompt(PROMPTS[0]))
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


UNSEEN = list(generate_unseen_products(4, seed=31))


def _delexicalized_ids(engine: GenerationEngine, prompt: str) -> list[int]:
    result = delexicalize_prompt(prompt)
    assert result is not None
    return engine.tokenizer.encode(result[0])


def test_shipped_checkpoint_is_delexicalized_and_counts_the_tokens_it_processed(
    engine: GenerationEngine,
) -> None:
    assert engine.delexicalized
    product = UNSEEN[0]
    prompt = build_prompt(product)
    result = asyncio.run(engine.generate(prompt, SamplingParams(max_tokens=200, temperature=0)))
    assert result.prompt_tokens == len(_delexicalized_ids(engine, prompt))
    assert engine.encode_prompt(prompt) == _delexicalized_ids(engine, prompt)
    assert result.finish_reason == "stop"
    assert product.brand in result.text
    assert product.title in result.text
    assert "@" not in result.text.replace(product.title, "").replace(product.brand, "")
    # free text is not in the template: it reaches the model as it is
    assert engine.encode_prompt("free text") == engine.tokenizer.encode("free text")


def test_stop_strings_apply_to_the_text_with_the_values(engine: GenerationEngine) -> None:
    product = UNSEEN[1]
    prompt = build_prompt(product)
    full = asyncio.run(engine.generate(prompt, SamplingParams(max_tokens=200, temperature=0)))
    stop = product.brand
    cut = asyncio.run(
        engine.generate(prompt, SamplingParams(max_tokens=200, temperature=0, stop=(stop,)))
    )
    assert (cut.finish_reason, cut.stop_reason) == ("stop", stop)
    assert cut.text == full.text[: full.text.index(stop)]


def test_streamed_deltas_carry_the_values_and_add_up(engine: GenerationEngine) -> None:
    async def collect(prompt: str) -> tuple[list[str], Completion]:
        deltas: list[str] = []
        async for event in engine.stream(prompt, SamplingParams(max_tokens=200, temperature=0)):
            if isinstance(event, TextDelta):
                deltas.append(event.text)
            else:
                return deltas, event
        raise AssertionError("no completion")

    for product in UNSEEN[2:]:
        deltas, completion = asyncio.run(collect(build_prompt(product)))
        assert "".join(deltas) == completion.text
        assert not any(delta.endswith("@") for delta in deltas)
        assert product.title in completion.text


def test_number_guard_checks_values_written_through_placeholders(
    engine: GenerationEngine,
) -> None:
    # an attribute named "price" is on a price line, so its number is not allowed
    product = make_product(attributes={"price": "75 units", "color": "teal"}, price=None)
    prompt = build_prompt(product)
    allowed = number_constraint(prompt)
    assert allowed is not None
    assert "75" not in allowed
    guarded = SamplingParams(max_tokens=200, temperature=0, allowed_numbers=allowed)
    free = SamplingParams(max_tokens=200, temperature=0)
    assert "75 units" in asyncio.run(engine.generate(prompt, free)).text
    assert "75" not in asyncio.run(engine.generate(prompt, guarded)).text


def test_a_checkpoint_without_the_flag_reads_prompts_as_they_are(
    checkpoint: Checkpoint, tmp_path: Path
) -> None:
    save_checkpoint(checkpoint, tmp_path / "old")
    config_path = tmp_path / "old" / "config.json"
    config = json.loads(config_path.read_text())
    del config["delexicalized"]
    config_path.write_text(json.dumps(config))
    old = load_checkpoint(tmp_path / "old")
    assert old.model.config.delexicalized is False
    engine = GenerationEngine(old, model_name="old").start()
    try:
        prompt = PROMPTS[0]
        result = asyncio.run(engine.generate(prompt, SamplingParams(max_tokens=3, temperature=0)))
        assert result.prompt_tokens == len(old.tokenizer.encode(prompt))
        assert engine.encode_prompt(prompt) == old.tokenizer.encode(prompt)
    finally:
        engine.close()
