"""Incremental revenue and the conservative billable amount."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.assignment import Arm
from attribution.metric import AnalysisOptions
from attribution.revenue import (
    METHOD_VERSION,
    RevenueReason,
    conservative_amount,
    estimate_incremental_revenue,
)
from attribution.simulate import SimulationConfig, simulate_experiment
from attribution.sufficient import ArmStats, arm_stats_by_arm, arm_stats_from_arrays


def _arms(config: SimulationConfig) -> dict[Arm, ArmStats]:
    units = simulate_experiment(config).units
    return arm_stats_by_arm(units, outcome_col="revenue", covariate_col="pre_revenue")


def test_a_real_lift_is_billed_on_the_lower_bound() -> None:
    config = SimulationConfig(n_units=60_000, true_relative_lift=0.3, seed=2)
    arms = _arms(config)
    result = estimate_incremental_revenue(
        arms[Arm.HOLDOUT], arms[Arm.TREATMENT], currency="USD", holdout_share=0.5
    )
    assert result.reason is RevenueReason.MEASURED
    assert result.ci_low is not None
    assert result.estimate is not None
    assert result.conservative_amount == Decimal(repr(result.ci_low)).quantize(Decimal("0.01"))
    assert Decimal(0) < result.conservative_amount < Decimal(repr(result.estimate))
    assert result.method_version == METHOD_VERSION
    assert result.sequential
    assert result.cuped_applied


def test_sample_ratio_mismatch_bills_nothing() -> None:
    rng = np.random.default_rng(1)
    holdout = arm_stats_from_arrays(rng.lognormal(3, 1, 48_000) * (rng.random(48_000) < 0.05))
    treatment = arm_stats_from_arrays(rng.lognormal(3, 1, 52_000) * (rng.random(52_000) < 0.08))
    result = estimate_incremental_revenue(holdout, treatment, currency="USD", holdout_share=0.5)
    assert result.reason is RevenueReason.SRM_FAILED
    assert result.conservative_amount == Decimal("0.00")
    assert result.srm_p_value < 0.001


def test_insufficient_data_bills_nothing_and_says_so() -> None:
    arms = _arms(SimulationConfig(n_units=1_000, seed=4))
    result = estimate_incremental_revenue(
        arms[Arm.HOLDOUT], arms[Arm.TREATMENT], currency="EUR", holdout_share=0.5
    )
    assert result.reason is RevenueReason.INSUFFICIENT_DATA
    assert result.detail is not None
    assert "insufficient data" in result.detail
    assert result.conservative_amount == Decimal("0.00")
    assert result.ci_low is None


def test_an_aa_test_is_not_billed() -> None:
    arms = _arms(SimulationConfig(n_units=40_000, aa=True, seed=8))
    result = estimate_incremental_revenue(
        arms[Arm.HOLDOUT], arms[Arm.TREATMENT], currency="JPY", holdout_share=0.5
    )
    assert result.reason is RevenueReason.LOWER_BOUND_NOT_POSITIVE
    assert result.conservative_amount == Decimal("0")


def test_fixed_horizon_bound_is_tighter_than_the_sequential_one() -> None:
    arms = _arms(SimulationConfig(n_units=60_000, true_relative_lift=0.3, seed=2))
    seq = estimate_incremental_revenue(
        arms[Arm.HOLDOUT], arms[Arm.TREATMENT], currency="USD", holdout_share=0.5
    )
    fixed = estimate_incremental_revenue(
        arms[Arm.HOLDOUT],
        arms[Arm.TREATMENT],
        currency="USD",
        holdout_share=0.5,
        sequential=False,
        options=AnalysisOptions(use_cuped=False),
    )
    assert not fixed.cuped_applied
    assert fixed.conservative_amount > seq.conservative_amount


def test_conservative_amount_rounds_half_up_and_floors_at_zero() -> None:
    assert conservative_amount(12.345, "USD") == Decimal("12.35")
    assert conservative_amount(-3.0, "USD") == Decimal("0.00")
    assert conservative_amount(float("nan"), "USD") == Decimal("0.00")


@settings(max_examples=60, deadline=None)
@given(
    n_h=st.integers(min_value=2, max_value=3000),
    n_t=st.integers(min_value=2, max_value=3000),
    p_h=st.floats(min_value=0.0, max_value=1.0),
    p_t=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_conservative_revenue_is_never_negative(
    n_h: int, n_t: int, p_h: float, p_t: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    holdout = arm_stats_from_arrays(rng.lognormal(3, 1.2, n_h) * (rng.random(n_h) < p_h))
    treatment = arm_stats_from_arrays(rng.lognormal(3, 1.2, n_t) * (rng.random(n_t) < p_t))
    result = estimate_incremental_revenue(
        holdout,
        treatment,
        currency="USD",
        holdout_share=n_h / (n_h + n_t),
        options=AnalysisOptions(min_converting_units=1),
    )
    assert result.conservative_amount >= Decimal(0)
    if result.ci_low is not None and result.estimate is not None and result.ci_high is not None:
        assert result.ci_low <= result.estimate <= result.ci_high
