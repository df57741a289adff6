"""Per-request decoding rules: sampling parameters, token sampling, stops and the number guard.

The number guard is constrained decoding for one rule of the quality gate: a description may
only state numbers that appear in the product data (`inference.prompts.allowed_numbers`). A
sampled token that would start or extend a number outside that set is masked and the step is
re-sampled; after `_GUARD_RETRIES` rejections every digit-bearing token is masked for the step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from inference.prompts import numbers_in

_GUARD_RETRIES = 8
_OPEN_NUMBER = re.compile(r"\d[.,]?$")


@dataclass(frozen=True)
class SamplingParams:
    """OpenAI/vLLM sampling fields. `temperature == 0` means greedy decoding."""

    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    allowed_numbers: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be >= 1")
        if not 0.0 <= self.temperature <= 10.0:
            raise ValueError("temperature must be in [0, 10]")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError("top_p must be in (0, 1]")


# Below this, dividing fp32 logits overflows to inf (NaN after softmax); it is greedy anyway.
MIN_TEMPERATURE = 1e-3


def sample_token(logits: Tensor, params: SamplingParams, generator: torch.Generator) -> int:
    """One token id from `logits` `[vocab]` with temperature and nucleus (top-p) filtering."""
    if params.temperature < MIN_TEMPERATURE:
        return int(logits.argmax())
    probs = (logits.float() / params.temperature).softmax(-1)
    if not bool(torch.isfinite(probs).all()):  # e.g. every token masked by the number guard
        return int(logits.argmax())
    if params.top_p < 1.0:
        sorted_probs, order = probs.sort(descending=True)
        outside = sorted_probs.cumsum(-1) - sorted_probs >= params.top_p
        sorted_probs[outside] = 0.0
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))


def numbers_allowed(text: str, allowed: frozenset[str]) -> bool:
    """Whether `text` states only allowed numbers; a number still being written may be a prefix."""
    found = numbers_in(text)
    if not found:
        return True
    *complete, last = found
    if any(number not in allowed for number in complete):
        return False
    if text.rstrip(".,").endswith(last):
        return any(candidate.startswith(last) for candidate in allowed)
    return last in allowed


class NumberGuard:
    """Constrained sampling against `SamplingParams.allowed_numbers` (see module docstring)."""

    def __init__(self, digit_token_mask: Tensor) -> None:
        self._digit_mask = digit_token_mask

    def sample(
        self,
        logits: Tensor,
        params: SamplingParams,
        generator: torch.Generator,
        *,
        text: str,
        render: Callable[[int], str],
        check_all: bool = False,
    ) -> int:
        """Sample a token that keeps the completion valid.

        `text` is the completion so far and `render(id)` the completion with token `id` added,
        both as the client sees them. Digit tokens are checked, and so is any token that ends
        a number being written (a number is only complete once a non-digit follows it); with
        `check_all` every token is (a slot placeholder can write a value with digits in it).
        """
        allowed = params.allowed_numbers
        if allowed is None:
            return sample_token(logits, params, generator)
        in_number = check_all or _OPEN_NUMBER.search(text) is not None
        logits = logits.clone()
        for _ in range(_GUARD_RETRIES):
            token = sample_token(logits, params, generator)
            checked = in_number or bool(self._digit_mask[token])
            if not checked or numbers_allowed(render(token), allowed):
                return token
            logits[token] = -torch.inf
        logits[self._digit_mask] = -torch.inf
        return sample_token(logits, params, generator)


def find_stop(text: str, stops: tuple[str, ...]) -> tuple[int, str] | None:
    """Earliest occurrence of any stop string in `text`: (index, stop)."""
    hits = [(text.find(stop), stop) for stop in stops if stop and stop in text]
    return min(hits) if hits else None


def safe_prefix_length(text: str, stops: tuple[str, ...]) -> int:
    """How much of `text` can be streamed: none of it may be the start of a stop string."""
    for size in range(max((len(s) for s in stops), default=1) - 1, 0, -1):
        tail = text[-size:]
        if any(stop.startswith(tail) for stop in stops):
            return len(text) - size
    return len(text)
