"""Money: one half-up rounding to the currency's minor unit; exact parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liftmeter.errors import ValidationFailed
from liftmeter.money import minor_unit, parse_amount, quantize


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.005", "USD", "0.01"),
        ("0.0049", "USD", "0.00"),
        ("2.5", "JPY", "3"),
        ("-0.005", "EUR", "-0.01"),
        ("1.0005", "KWD", "1.001"),
    ],
)
def test_quantize_rounds_half_up_to_the_minor_unit(
    amount: str, currency: str, expected: str
) -> None:
    assert quantize(Decimal(amount), currency) == Decimal(expected)


def test_minor_units() -> None:
    assert minor_unit("USD") == Decimal("0.01")
    assert minor_unit("JPY") == Decimal("1")


@pytest.mark.parametrize("bad", [1.5, "nan", "Infinity", "12,5", None])
def test_parse_amount_rejects_floats_and_non_numbers(bad: object) -> None:
    with pytest.raises(ValidationFailed):
        parse_amount(bad)  # type: ignore[arg-type]


def test_unknown_currency_is_rejected() -> None:
    with pytest.raises(ValidationFailed, match="unknown currency"):
        quantize(Decimal(1), "ABC")


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False))
def test_quantize_moves_an_amount_by_at_most_half_a_cent(amount: Decimal) -> None:
    assert abs(quantize(amount, "USD") - amount) <= Decimal("0.005")
