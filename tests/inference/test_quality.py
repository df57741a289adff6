"""Quality gate: the checks themselves, and the shipped model on held-out and unseen products."""

from __future__ import annotations

import asyncio

from inference.catalog import generate_products, generate_unseen_products
from inference.client import LocalBackend
from inference.engine import GenerationEngine
from inference.quality import MIN_ATTRIBUTE_RECALL, check_description, evaluate_quality
from tests.inference.factories import make_product


def test_check_finds_missing_slots_invented_numbers_and_prices() -> None:
    product = make_product()
    good = (
        "Meet the Trail Pro backpack from Nordvik. It offers 30 L capacity in charcoal. "
        "Features: padded laptop sleeve and reflective trim."
    )
    assert check_description(product, good).passed
    bad = check_description(product, "Nordvik Trail Pro backpack, 40 L, only $89.99!")
    assert "charcoal" in bad.missing
    assert bad.unsupported_numbers == ("40", "89.99")
    assert bad.states_price


def test_invented_attributes_and_memorised_names_are_counted() -> None:
    product = make_product(
        brand="Miracle Cure Co",
        title="Herbal tea that cures arthritis",
        category="tea",
        attributes={"color": "green"},
        features=["loose leaf", "green tea extract"],
    )
    bad = check_description(
        product,
        "Meet the Trail Pro backpack from Harbor & Pine. It offers forest green color and "
        "a material of 30 L. Features: reflective trim.",
    )
    assert set(bad.invented_attributes) == {"forest green", "material", "30 l"}
    assert {"harbor & pine", "trail", "reflective trim"} <= set(bad.memorised_names)
    good = check_description(
        product,
        "Miracle Cure Co presents the Herbal tea that cures arthritis. It offers color: green. "
        "Features: loose leaf and green tea extract.",
    )
    assert good.passed
    assert good.invented_attributes == good.memorised_names == ()


def test_shipped_model_passes_the_gate_on_held_out_products(engine: GenerationEngine) -> None:
    products = list(generate_products(100, seed=77, held_out=True))
    report = asyncio.run(evaluate_quality(LocalBackend(engine), products))
    assert report.attribute_recall >= MIN_ATTRIBUTE_RECALL, report.summary()
    assert report.unsupported_number_rate == 0.0, report.failures
    assert report.price_mention_rate == 0.0


def test_shipped_model_copies_unseen_vocabulary(engine: GenerationEngine) -> None:
    products = list(generate_unseen_products(20, seed=77))
    report = asyncio.run(evaluate_quality(LocalBackend(engine), products))
    assert report.attribute_recall >= MIN_ATTRIBUTE_RECALL, report.summary()
    assert report.unsupported_number_rate == 0.0
    assert report.price_mention_rate == 0.0
    assert report.invented_attribute_rate == 0.0
    assert report.memorised_name_rate == 0.0
