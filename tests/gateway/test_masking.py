"""PII masking: personal data is replaced before the model sees it; product facts are kept."""

from __future__ import annotations

from collections import Counter

import pytest

from gateway.masking import luhn_valid, mask_text, mask_value


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("write to jane.doe+shop@example.co.uk today", "[EMAIL]"),
        ("call +44 20 7946 0958 now", "[PHONE]"),
        ("call (555) 123-4567", "[PHONE]"),
        ("card 4111 1111 1111 1111 on file", "[CARD]"),
        ("card 5500-0000-0000-0004", "[CARD]"),
        ("ship to 221B Baker Street, London", "[ADDRESS]"),
        ("at 1600 Pennsylvania Ave NW", "[ADDRESS]"),
    ],
)
def test_personal_data_is_masked(text: str, placeholder: str) -> None:
    counts: Counter[str] = Counter()
    masked = mask_text(text, counts)
    assert placeholder in masked
    assert sum(counts.values()) == 1


@pytest.mark.parametrize(
    "text",
    [
        "5000 mAh battery",
        "Model 3000 in 42 mm",
        "4111 1111 1111 1112 is not a card",
        "pack of 12, 250 ml each",
        "fits 2 to 4 people",
        "ISO 9001 certified",
    ],
)
def test_product_facts_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_nested_values_are_masked_keys_included() -> None:
    counts: Counter[str] = Counter()
    out = mask_value({"features": ["mail me at a@b.io"], "a@b.io": "x", "n": 3}, counts)
    assert out == {"features": ["mail me at [EMAIL]"], "[EMAIL]": "x", "n": 3}
    assert counts["email"] == 2


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
