"""The simulated world of `liftmeter demo`: merchants, their plans, catalogues and shoppers.

Everything here is data, seeded and reproducible: who the merchants are, what they pay
(`billing` plan specs), which products they sell (`inference.catalog`), and how their
shoppers behave (`attribution.simulate`, with a known true lift per merchant). The demo
(`gateway.demo`) sends it through the product's real interfaces.

Simulated time is mapped onto the current month: experiments start at the month's first
instant, first exposures spread over the month so far and conversions follow within the
attribution window, never after "now". Compressing a short month keeps every conversion
inside the window; clipping at "now" censors both arms alike, so the relative lift the
simulation was given is still the truth to compare with.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from attribution.simulate import START, SimulationConfig, simulate_experiment
from inference.catalog import generate_products
from inference.prompts import ProductInput


@dataclass(frozen=True, slots=True)
class MerchantProfile:
    """A demo merchant: name, currency, plan and the lift its descriptions truly cause."""

    name: str
    currency: str
    true_relative_lift: float
    base_conversion: float
    plan: dict[str, Any]


def _plan(currency: str, *, per_call: str, share: str, minimum: str) -> dict[str, Any]:
    return {
        "currency": currency,
        "charges": {
            "prompt_tokens": {"unit_price": "0.0020", "included_units": 2000},
            "completion_tokens": {"unit_price": "0.0060"},
            "calls": {
                "mode": "graduated",
                "tiers": [
                    {"up_to": 10, "unit_price": per_call},
                    {"up_to": None, "unit_price": str(Decimal(per_call) / 2)},
                ],
            },
            "cache_hits": {"unit_price": "0.001"},
        },
        "minimum_commitment": minimum,
        "revenue_share": {"percent": share, "cap": "5000.00"},
        "monthly_spend_cap": "2500.00",
    }


PROFILES: tuple[MerchantProfile, ...] = (
    MerchantProfile(
        "Nordvik Outdoor",
        "USD",
        0.30,
        0.06,
        _plan("USD", per_call="0.04", share="10", minimum="5.00"),
    ),
    MerchantProfile(
        "Crema & Co", "EUR", 0.15, 0.05, _plan("EUR", per_call="0.05", share="12.5", minimum="0")
    ),
    MerchantProfile(
        "Lumen Home", "USD", 0.0, 0.05, _plan("USD", per_call="0.03", share="8", minimum="20.00")
    ),
    MerchantProfile(
        "Harbor Kids", "GBP", 0.20, 0.04, _plan("GBP", per_call="0.05", share="10", minimum="0")
    ),
)


def world_ids(index: int, seed: int) -> tuple[str, str]:
    """The `index`-th demo merchant's id and its experiment's id, fixed by the seed.

    The assignment hash is seeded with both ids (`attribution.assignment`), so generated
    ids would put other shoppers in the holdout on every run and the same seed would
    measure a different lift each time.
    """
    return f"mer_demo{seed}m{index}", f"exp_demo{seed}m{index}"


def profile(index: int) -> MerchantProfile:
    """The `index`-th demo merchant (profiles repeat with a numbered name after the list)."""
    base = PROFILES[index % len(PROFILES)]
    if index < len(PROFILES):
        return base
    return MerchantProfile(
        f"{base.name} {index // len(PROFILES) + 1}",
        base.currency,
        base.true_relative_lift,
        base.base_conversion,
        base.plan,
    )


def catalogue(merchant_index: int, count: int, seed: int) -> list[ProductInput]:
    """`count` products for one merchant, with merchant-unique product ids.

    From three products on, the last one is listed under `health`, a sensitive category
    whose descriptions the risk policy always sends to the human review queue.
    """
    products = [
        p.model_copy(update={"id": f"sku-{merchant_index}-{i:03d}"})
        for i, p in enumerate(generate_products(count, seed=seed * 1000 + merchant_index))
    ]
    if count >= 3:
        products[-1] = products[-1].model_copy(update={"category": "health"})
    return products


@dataclass(frozen=True, slots=True)
class Shoppers:
    """Storefront traffic of one merchant: exposure and purchase rows for the intake APIs."""

    exposures: list[dict[str, Any]]
    conversions: list[dict[str, Any]]
    true_relative_lift: float
    visitors: int


class _Clock:
    """Maps simulated seconds since `attribution.simulate.START` onto [month start, now)."""

    def __init__(self, month_start: datetime, now: datetime, simulated: timedelta) -> None:
        self._start = month_start
        self._scale = (
            max((now - month_start) - timedelta(minutes=5), timedelta(minutes=1)) / simulated
        )

    def __call__(self, moment: pd.Timestamp) -> str:
        offset: timedelta = moment.to_pydatetime(warn=False) - START
        return (self._start + offset * self._scale).isoformat()


def shoppers(
    *,
    merchant_id: str,
    experiment_id: str,
    merchant_index: int,
    profile: MerchantProfile,
    products: Sequence[ProductInput],
    descriptions: dict[str, str],
    visitors: int,
    month_start: datetime,
    now: datetime,
    seed: int,
) -> Shoppers:
    """Simulate `visitors` shoppers of one merchant with its true lift (seeded)."""
    config = SimulationConfig(
        n_units=visitors,
        holdout_share=0.5,
        base_conversion=profile.base_conversion,
        true_relative_lift=profile.true_relative_lift,
        merchant_id=merchant_id,
        experiment_id=experiment_id,
        days=20,
        window_days=6,
        revenue_log_sd=0.9,  # < the 7-day attribution window, with room for the time scaling
        with_events=True,
        seed=seed * 7919 + merchant_index,
    )
    sim = simulate_experiment(config)
    assert sim.events is not None
    clock = _Clock(month_start, now, timedelta(days=config.days + config.window_days))
    rng = random.Random(f"shoppers:{seed}:{merchant_index}")
    product_of = {unit: rng.choice(products) for unit in sim.units["unit_id"]}
    exposures: list[dict[str, Any]] = []
    conversions: list[dict[str, Any]] = []
    for row in sim.events.itertuples(index=False):
        product = product_of[row.unit_id]
        product_id = product.id
        description_id = descriptions.get(product_id) if row.arm == "treatment" else None
        if row.event_type == "exposure":
            exposures.append(
                _without_none(
                    experiment_id=experiment_id,
                    unit_type="visitor",
                    unit_id=row.unit_id,
                    product_id=product_id,
                    arm=row.arm,
                    description_id=description_id,
                    category=product.category,
                    occurred_at=clock(row.occurred_at),
                )
            )
        else:
            conversions.append(
                _without_none(
                    kind="purchase",
                    visitor_id=row.unit_id,
                    product_id=product_id,
                    order_id=f"order-{merchant_index}-{len(conversions):06d}",
                    revenue=str(Decimal(repr(row.revenue)).quantize(Decimal("0.01"))),
                    currency=profile.currency,
                    description_id=description_id,
                    occurred_at=clock(row.occurred_at),
                )
            )
    return Shoppers(exposures, conversions, sim.true_relative_lift, visitors)


def _without_none(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def batches(rows: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])
