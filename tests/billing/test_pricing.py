"""Pricing rules: pure, no I/O. Tiers at their bounds, free units, minimum, cap, rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.plans import UNIT_SIZE, Component, parse_plan, plan_to_json
from billing.pricing import (
    LineKind,
    price_charge,
    price_late_usage,
    price_period,
    price_usage,
    total,
)
from liftmeter.errors import ValidationFailed
from liftmeter.money import minor_unit, quantize

D = Decimal


def _plan(**overrides: object):  # type: ignore[no-untyped-def]
    spec: dict[str, object] = {
        "currency": "USD",
        "charges": {
            "calls": {
                "tiers": [
                    {"up_to": 100, "unit_price": "0.10"},
                    {"up_to": 1000, "unit_price": "0.05"},
                    {"up_to": None, "unit_price": "0.01"},
                ]
            }
        },
    }
    spec.update(overrides)
    return parse_plan(spec)


def _amounts(plan, quantity: int) -> list[Decimal]:  # type: ignore[no-untyped-def]
    charge = plan.charge(Component.CALLS)
    return [line.amount for line in price_charge(charge, quantity, "USD")]


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        (0, []),
        (1, [D("0.10")]),
        (100, [D("10.00")]),  # bound is inclusive: unit 100 is still tier 1
        (101, [D("10.00"), D("0.05")]),
        (1000, [D("10.00"), D("45.00")]),
        (1001, [D("10.00"), D("45.00"), D("0.01")]),
    ],
)
def test_graduated_tiers_price_each_slice_at_the_bounds(quantity: int, expected: list[Decimal]):
    assert _amounts(_plan(), quantity) == expected


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(100, D("10.00")), (101, D("5.05")), (1000, D("50.00")), (1001, D("10.01"))],
)
def test_volume_tiers_price_every_unit_at_the_tier_of_the_total(quantity: int, expected: Decimal):
    spec = plan_to_json(_plan())
    spec["charges"]["calls"]["mode"] = "volume"
    assert _amounts(parse_plan(spec), quantity) == [expected]


def test_included_units_are_free_and_tiers_count_billable_units():
    spec = plan_to_json(_plan())
    spec["charges"]["calls"]["included_units"] = 50
    lines = price_charge(parse_plan(spec).charge(Component.CALLS), 160, "USD")
    assert [(line.kind, line.quantity, line.amount) for line in lines] == [
        (LineKind.INCLUDED, D(50), D("0.00")),
        (LineKind.USAGE, D(100), D("10.00")),
        (LineKind.USAGE, D(10), D("0.50")),
    ]
    assert [
        line.kind for line in price_charge(parse_plan(spec).charge(Component.CALLS), 50, "USD")
    ] == [LineKind.INCLUDED]


def test_tokens_are_priced_per_thousand_and_rounded_half_up_once_per_line():
    plan = parse_plan({"currency": "USD", "charges": {"prompt_tokens": {"unit_price": "0.003"}}})
    # 1,500 tokens × 0.003 / 1000 = 0.0045 -> 0.00 ; 1,667 tokens -> 0.005001 -> 0.01
    assert [line.amount for line in price_usage(plan, {Component.PROMPT_TOKENS: 1500})] == [
        D("0.00")
    ]
    assert [line.amount for line in price_usage(plan, {Component.PROMPT_TOKENS: 1667})] == [
        D("0.01")
    ]
    half = price_usage(
        parse_plan({"currency": "USD", "charges": {"calls": {"unit_price": "0.005"}}}),
        {Component.CALLS: 1},
    )
    assert half[0].amount == D("0.01")  # exactly half a cent rounds up


def test_zero_usage_gives_no_lines_except_the_minimum_true_up():
    assert price_period(_plan(), {}, None) == []
    lines = price_period(_plan(minimum_commitment="25"), {}, None)
    assert [(line.kind, line.amount) for line in lines] == [(LineKind.MINIMUM, D("25.00"))]


def test_minimum_true_up_lifts_the_subtotal_exactly_to_the_minimum():
    lines = price_period(_plan(minimum_commitment="25.00"), {Component.CALLS: 150}, None)
    assert total(lines) == D("25.00")
    assert lines[-1].kind is LineKind.MINIMUM
    assert lines[-1].amount == D("12.50")
    above = price_period(_plan(minimum_commitment="5"), {Component.CALLS: 150}, None)
    assert all(line.kind is not LineKind.MINIMUM for line in above)


def test_revenue_share_is_percent_of_conservative_amount_and_capped():
    plan = _plan(revenue_share={"percent": "10", "cap": "50.00"})
    (line,) = price_period(plan, {}, D("123.45"))
    assert (line.kind, line.amount) == (LineKind.REVENUE_SHARE, D("12.35"))  # 12.345 half-up
    (capped,) = price_period(plan, {}, D("10000"))
    assert capped.amount == D("50.00")
    assert capped.detail["cap_applied"] is True


def test_late_usage_continues_the_tiers_and_lowers_the_true_up():
    plan = _plan(minimum_commitment="20")
    lines = price_late_usage(plan, {Component.CALLS: 90}, {Component.CALLS: 20})
    usage, true_up = lines
    assert usage.amount == D("1.50")  # 10 units at 0.10 + 10 at 0.05
    assert true_up.amount == D("-1.50")  # minimum still met, true-up shrinks by the same
    assert total(lines) == D("0.00")


@pytest.mark.parametrize(
    ("spec", "param"),
    [
        (
            {"currency": "USD", "charges": {"calls": {"unit_price": "-1"}}},
            "charges.calls.unit_price",
        ),
        ({"currency": "XXX"}, "currency"),
        ({"currency": "USD", "minimum_commitment": "-5"}, "minimum_commitment"),
        (
            {
                "currency": "USD",
                "charges": {
                    "calls": {
                        "tiers": [
                            {"up_to": 10, "unit_price": "1"},
                            {"up_to": 5, "unit_price": "1"},
                            {"up_to": None, "unit_price": "1"},
                        ]
                    }
                },
            },
            "charges.calls.tiers[1].up_to",
        ),
        (
            {
                "currency": "USD",
                "charges": {"calls": {"tiers": [{"up_to": 10, "unit_price": "1"}]}},
            },
            "charges.calls.tiers[0].up_to",
        ),
        (
            {
                "currency": "USD",
                "charges": {
                    "calls": {
                        "tiers": [
                            {"up_to": None, "unit_price": "1"},
                            {"up_to": None, "unit_price": "1"},
                        ]
                    }
                },
            },
            "charges.calls.tiers[0].up_to",
        ),
        (
            {
                "currency": "USD",
                "charges": {"calls": {"tiers": [{"up_to": None, "unit_price": "-0.1"}]}},
            },
            "charges.calls.tiers[0].unit_price",
        ),
        ({"currency": "USD", "revenue_share": {"percent": "101"}}, "revenue_share.percent"),
        ({"currency": "USD", "revenue_share": {"percent": "5", "cap": "-1"}}, "revenue_share.cap"),
        ({"currency": "USD", "charges": {"minutes": {}}}, "charges.minutes"),
        ({"currency": "USD", "monthly_spend_cap": "abc"}, "monthly_spend_cap"),
    ],
)
def test_invalid_plans_are_rejected_naming_the_field(spec: dict[str, object], param: str):
    with pytest.raises(ValidationFailed) as raised:
        parse_plan(spec)
    assert raised.value.param == param


def test_plan_currency_must_equal_the_merchants():
    with pytest.raises(ValidationFailed) as raised:
        parse_plan({"currency": "EUR"}, merchant_currency="USD")
    assert raised.value.param == "currency"


def test_canonical_json_round_trips():
    plan = _plan(
        minimum_commitment="10",
        revenue_share={"percent": "2.5", "cap": "99"},
        monthly_spend_cap="1000",
    )
    assert parse_plan(plan_to_json(plan)) == plan


_price = st.decimals(min_value=0, max_value=10, places=6, allow_nan=False, allow_infinity=False)
_quantity = st.integers(min_value=0, max_value=10**9)


@settings(max_examples=200, deadline=None)
@given(
    prices=st.lists(_price, min_size=3, max_size=3),
    bounds=st.lists(st.integers(min_value=1, max_value=10**6), min_size=2, max_size=2, unique=True),
    quantities=st.lists(_quantity, min_size=4, max_size=4),
    included=st.integers(min_value=0, max_value=10**5),
    minimum=_price,
    conservative=st.one_of(st.none(), st.decimals(min_value=0, max_value=10**6, places=2)),
    share=st.decimals(min_value=0, max_value=100, places=2),
    mode=st.sampled_from(["graduated", "volume"]),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_lines_sum_to_the_total_with_no_drift(
    prices, bounds, quantities, included, minimum, conservative, share, mode, currency
):  # type: ignore[no-untyped-def]
    low, high = sorted(bounds)
    tiers = [
        {"up_to": low, "unit_price": str(prices[0])},
        {"up_to": high, "unit_price": str(prices[1])},
        {"up_to": None, "unit_price": str(prices[2])},
    ]
    plan = parse_plan(
        {
            "currency": currency,
            "charges": {
                "prompt_tokens": {"unit_price": str(prices[0]), "included_units": included},
                "completion_tokens": {"tiers": tiers, "mode": mode},
                "calls": {"tiers": tiers, "mode": mode, "included_units": included},
                "cache_hits": {"unit_price": str(prices[1])},
            },
            "minimum_commitment": str(minimum),
            "revenue_share": {"percent": str(share)},
        }
    )
    usage = dict(zip(Component, quantities, strict=True))
    lines = price_period(plan, usage, conservative)
    half_unit = minor_unit(currency) / 2
    for line in lines:
        assert line.amount == quantize(line.amount, currency)  # every line at the minor unit
        assert line.amount >= 0
        if line.kind is LineKind.USAGE:  # rounded once, half-up: off by at most half a unit
            size = UNIT_SIZE[Component(line.component)]
            exact = line.quantity * line.unit_price / size
            assert abs(line.amount - exact) <= half_unit
    grand = total(lines)
    assert grand == sum((line.amount for line in lines), D(0))
    assert grand >= quantize(minimum, currency)
    # graduated tiers: the quantities of the usage lines add up to the billable units
    for component in (Component.CALLS, Component.COMPLETION_TOKENS):
        qty = sum(line.quantity for line in lines if line.component == component.value)
        assert qty == usage[component]
