"""Quality gate for generated descriptions: slot fidelity and no invented numbers.

For each product the description must contain, verbatim (case-insensitive), the brand, the
title, every attribute value and every feature: *attribute recall* is the share of those
slots present over all products. It must never state the price, nor any number that is not in
the product data. The gate runs through any `InferenceBackend`, so it measures the embedded
model and a vLLM deployment alike, with greedy decoding and the template prompt.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from inference.client import GenerationRequest, InferenceBackend
from inference.prompts import ProductInput, allowed_numbers, build_prompt, numbers_in

MIN_ATTRIBUTE_RECALL = 0.95
_CURRENCY = re.compile(r"[$€£¥]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:USD|EUR|GBP|dollars?|euros?)\b", re.I)


@dataclass(frozen=True)
class DescriptionCheck:
    """What one description got right and wrong."""

    product_id: str
    slots: int
    missing: tuple[str, ...]
    unsupported_numbers: tuple[str, ...]
    states_price: bool

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unsupported_numbers and not self.states_price


def required_slots(product: ProductInput) -> list[str]:
    return [product.brand, product.title, *product.attributes.values(), *product.features]


def check_description(product: ProductInput, text: str) -> DescriptionCheck:
    """Check one generated description against its product."""
    lowered = text.lower()
    slots = required_slots(product)
    missing = tuple(slot for slot in slots if slot.lower() not in lowered)
    allowed = allowed_numbers(build_prompt(product))
    unsupported = tuple(n for n in numbers_in(text) if n not in allowed)
    price_stated = bool(_CURRENCY.search(text)) or (
        product.price is not None and str(product.price) in text
    )
    return DescriptionCheck(product.id, len(slots), missing, unsupported, price_stated)


@dataclass(frozen=True)
class QualityReport:
    """Aggregate of a gate run; `passed` applies the thresholds."""

    products: int
    attribute_recall: float
    products_all_slots: float
    unsupported_number_rate: float
    price_mention_rate: float
    failures: list[DescriptionCheck] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            self.attribute_recall >= MIN_ATTRIBUTE_RECALL
            and self.unsupported_number_rate == 0.0
            and self.price_mention_rate == 0.0
        )

    def summary(self) -> dict[str, object]:
        return {
            "products": self.products,
            "attribute_recall": round(self.attribute_recall, 4),
            "products_with_all_slots": round(self.products_all_slots, 4),
            "unsupported_number_rate": round(self.unsupported_number_rate, 4),
            "price_mention_rate": round(self.price_mention_rate, 4),
            "passed": self.passed,
        }


def summarise(checks: Sequence[DescriptionCheck], texts: Sequence[str]) -> QualityReport:
    count = max(len(checks), 1)
    slots = sum(check.slots for check in checks)
    missing = sum(len(check.missing) for check in checks)
    return QualityReport(
        products=len(checks),
        attribute_recall=1.0 - missing / max(slots, 1),
        products_all_slots=sum(not check.missing for check in checks) / count,
        unsupported_number_rate=sum(bool(c.unsupported_numbers) for c in checks) / count,
        price_mention_rate=sum(check.states_price for check in checks) / count,
        failures=[check for check in checks if not check.passed],
        samples=list(texts[:3]),
    )


async def evaluate_quality(
    backend: InferenceBackend,
    products: Sequence[ProductInput],
    *,
    style: str | None = None,
    max_tokens: int = 160,
    guard_numbers: bool | None = None,
    concurrency: int = 8,
) -> QualityReport:
    """Generate a description per product (greedy) and check each one."""
    semaphore = asyncio.Semaphore(concurrency)

    async def describe(product: ProductInput) -> str:
        request = GenerationRequest(
            prompt=build_prompt(product, style),
            max_tokens=max_tokens,
            temperature=0.0,
            guard_numbers=guard_numbers,
        )
        async with semaphore:
            return (await backend.generate(request)).text

    texts = await asyncio.gather(*(describe(product) for product in products))
    checks = [check_description(p, text) for p, text in zip(products, texts, strict=True)]
    return summarise(checks, texts)
