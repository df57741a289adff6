"""Conversion intake rules, without I/O: exact revenue, currency, time, dedupe in a batch."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from attribution.errors import Rejection
from attribution.intake import Conversion, check_conversion, check_conversions

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "kind": "purchase",
        "visitor_id": "v",
        "product_id": "p",
        "order_id": "o",
        "revenue": "10.00",
        "currency": "JPY",
        "occurred_at": "2026-11-28T11:00:00+09:00",
    }
    row.update(overrides)
    return row


def _check(**overrides: object) -> Conversion | Rejection:
    return check_conversion(_row(**overrides), position=0, merchant_currency="JPY", now=NOW)


@pytest.mark.parametrize(
    ("revenue", "expected"),
    [
        ("10", "10"),
        ("10.0", "10.0"),
        (" 7 ", "7"),
        (Decimal("3"), "3"),
        ("0", "0"),
        ("-0.00", "0.00"),
    ],
)
def test_revenue_is_kept_exact(revenue: object, expected: str) -> None:
    checked = _check(revenue=revenue)
    assert isinstance(checked, Conversion)
    assert checked.event("mer_1").revenue == expected


@pytest.mark.parametrize(
    ("revenue", "reason"),
    [
        ("10.5", "too_precise"),
        ("+1", "not_a_decimal"),
        ("1_000", "not_a_decimal"),
        ("Infinity", "not_a_decimal"),
        (Decimal("NaN"), "not_a_decimal"),
        (True, "not_a_string"),
        (10, "not_a_string"),
        ("-1", "negative"),
    ],
)
def test_inexact_or_negative_revenue_is_rejected(revenue: object, reason: str) -> None:
    checked = _check(revenue=revenue)
    assert isinstance(checked, Rejection)
    assert (checked.field, checked.reason) == ("revenue", reason)


def test_timestamps_are_normalised_to_utc() -> None:
    checked = _check()
    assert isinstance(checked, Conversion)
    assert checked.occurred_at == datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def test_views_default_to_the_merchants_currency_and_zero_revenue() -> None:
    checked = check_conversion(
        {"kind": "view", "visitor_id": "v", "product_id": "p", "occurred_at": NOW},
        position=3,
        merchant_currency="EUR",
        now=NOW,
    )
    assert isinstance(checked, Conversion)
    assert (checked.position, checked.currency, checked.revenue, checked.order_id) == (
        3,
        "EUR",
        Decimal(0),
        None,
    )


def test_a_batch_keeps_the_first_of_each_order_and_kind() -> None:
    rows = [_row(), _row(kind="add_to_cart"), _row(), _row(order_id="o2"), "junk"]
    result = check_conversions(rows, merchant_currency="JPY", now=NOW)
    assert [c.position for c in result.valid] == [0, 1, 3]
    assert [c.position for c in result.duplicates] == [2]
    assert [(r.position, r.field) for r in result.rejected] == [(4, "row")]
    assert result.rows == 5
