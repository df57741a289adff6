"""Quality gate for generated descriptions: slot fidelity and no invented numbers.

For each product the description must contain, verbatim (case-insensitive), the brand, the
title, every attribute value and every feature: *attribute recall* is the share of those
slots present over all products. It must never state the price, nor any number that is not in
the product data. The gate runs through any `InferenceBackend`, so it measures the embedded
model and a vLLM deployment alike, with greedy decoding and the template prompt.

It also counts *invented attributes*: a known attribute name or value (every attribute name
and value of the catalogue, and every open-vocabulary attribute name) that occurs in the text
as a whole phrase (case-insensitive, word boundaries) at a position not covered by an
occurrence of the product's own text (title, brand, category, attribute names and values,
features). So "material of 30 L" for a product without a material, or "forest green" for a
product whose colour is "green", is invented; "green" inside the product's own feature "green
tea extract" is not. *Memorised names* are the same check for the catalogue's brands, series
and features (what a model that recalls instead of copying writes).

Two product sets: `held-out` (catalogue products of unseen (brand, category) pairs) and
`unseen vocabulary` (`catalog.generate_unseen_products`: brand, title, attribute values and
features are random strings in the held-out split, never in training).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from inference.catalog import BRANDS, CATEGORIES, OPEN_ATTRIBUTE_NAMES
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
    invented_attributes: tuple[str, ...] = ()
    memorised_names: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unsupported_numbers and not self.states_price


def required_slots(product: ProductInput) -> list[str]:
    return [product.brand, product.title, *product.attributes.values(), *product.features]


def _phrases(*groups: object) -> tuple[str, ...]:
    found: set[str] = set()
    for group in groups:
        found.update(str(item).lower() for item in group)  # type: ignore[attr-defined]
    return tuple(sorted(found, key=len, reverse=True))


ATTRIBUTE_VOCABULARY = _phrases(
    OPEN_ATTRIBUTE_NAMES,
    *(category.attributes for category in CATEGORIES),
    *(value for category in CATEGORIES for value in category.attributes.values()),
)
NAME_VOCABULARY = _phrases(
    BRANDS,
    *(category.series for category in CATEGORIES),
    *(category.features for category in CATEGORIES),
)


def _spans(text: str, phrase: str) -> list[tuple[int, int]]:
    pattern = r"(?<!\w)" + re.escape(phrase) + r"(?!\w)"
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


def _uncovered(text: str, vocabulary: Sequence[str], own: Sequence[str]) -> tuple[str, ...]:
    covered = [span for phrase in own if phrase for span in _spans(text, phrase)]
    found = []
    for phrase in vocabulary:
        for start, end in _spans(text, phrase):
            if not any(a <= start and end <= b for a, b in covered):
                found.append(phrase)
                break
    return tuple(found)


def invented_terms(product: ProductInput, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(invented attribute names/values, memorised catalogue names) in `text`; see the top."""
    lowered = text.lower()
    own = [
        product.title,
        product.brand,
        product.category,
        *product.attributes,
        *product.attributes.values(),
        *product.features,
    ]
    own_lowered = [item.lower() for item in own]
    return (
        _uncovered(lowered, ATTRIBUTE_VOCABULARY, own_lowered),
        _uncovered(lowered, NAME_VOCABULARY, own_lowered),
    )


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
    invented, memorised = invented_terms(product, text)
    return DescriptionCheck(
        product.id, len(slots), missing, unsupported, price_stated, invented, memorised
    )


@dataclass(frozen=True)
class QualityReport:
    """Aggregate of a gate run; `passed` applies the thresholds."""

    products: int
    attribute_recall: float
    products_all_slots: float
    unsupported_number_rate: float
    price_mention_rate: float
    invented_attribute_rate: float = 0.0
    memorised_name_rate: float = 0.0
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
            "invented_attribute_rate": round(self.invented_attribute_rate, 4),
            "memorised_name_rate": round(self.memorised_name_rate, 4),
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
        invented_attribute_rate=sum(bool(c.invented_attributes) for c in checks) / count,
        memorised_name_rate=sum(bool(c.memorised_names) for c in checks) / count,
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
