"""Sampling rules: greedy, top-p, seeds, stops and the number guard."""

from __future__ import annotations

import pytest
import torch

from inference.sampling import (
    NumberGuard,
    SamplingParams,
    find_stop,
    numbers_allowed,
    safe_prefix_length,
    sample_token,
)


def test_temperature_zero_is_greedy() -> None:
    logits = torch.tensor([0.1, 3.0, 2.9])
    assert sample_token(logits, SamplingParams(temperature=0.0), torch.Generator()) == 1


def test_top_p_keeps_only_the_nucleus() -> None:
    logits = torch.log(torch.tensor([0.6, 0.3, 0.05, 0.05]))
    params = SamplingParams(temperature=1.0, top_p=0.8)
    gen = torch.Generator().manual_seed(0)
    assert {sample_token(logits, params, gen) for _ in range(300)} == {0, 1}


def test_same_seed_same_samples() -> None:
    logits = torch.zeros(50)
    params = SamplingParams(temperature=1.0)

    def draw(seed: int) -> list[int]:
        gen = torch.Generator().manual_seed(seed)
        return [sample_token(logits, params, gen) for _ in range(20)]

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


def test_invalid_sampling_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        SamplingParams(max_tokens=0)
    with pytest.raises(ValueError, match="top_p"):
        SamplingParams(top_p=0.0)


def test_numbers_allowed_accepts_prefixes_of_allowed_numbers_only() -> None:
    allowed = frozenset({"1.5", "30"})
    assert numbers_allowed("holds 1.", allowed)
    assert numbers_allowed("holds 1.5 L and 30", allowed)
    assert not numbers_allowed("holds 2", allowed)
    assert not numbers_allowed("holds 30 and 31 ", allowed)


def test_number_guard_replaces_a_disallowed_number_token() -> None:
    vocab = ["a", "7", "3"]
    digit_mask = torch.tensor([False, True, True])
    guard = NumberGuard(digit_mask)
    logits = torch.tensor([0.0, 10.0, 5.0])  # "7" is by far the likeliest
    params = SamplingParams(temperature=0.0, allowed_numbers=frozenset({"3"}))
    token = guard.sample(
        logits, params, torch.Generator(), text="x ", render=lambda t: "x " + vocab[t]
    )
    assert vocab[token] == "3"


def test_number_guard_does_not_let_a_non_digit_token_close_a_bad_number() -> None:
    vocab = ["L", " L", "5"]
    guard = NumberGuard(torch.tensor([False, False, True]))
    logits = torch.tensor([0.0, 10.0, 5.0])  # " L" would close the number "1"
    params = SamplingParams(temperature=0.0, allowed_numbers=frozenset({"1.5"}))
    token = guard.sample(
        logits, params, torch.Generator(), text="holds 1.", render=lambda t: "holds 1." + vocab[t]
    )
    assert vocab[token] == "5"


def test_stop_strings_are_found_and_never_streamed_early() -> None:
    assert find_stop("hello END there", ("END",)) == (6, "END")
    assert safe_prefix_length("hello EN", ("END",)) == len("hello ")
    assert safe_prefix_length("hello", ()) == 5
