"""CUPED: narrower intervals on correlated pre-period data, same answer without a covariate."""

from __future__ import annotations

import numpy as np
import pytest

from attribution.assignment import Arm
from attribution.cuped import cuped_absolute_lift, cuped_relative_lift, cuped_theta
from attribution.lift import MetricKind, absolute_lift, relative_lift
from attribution.simulate import SimulationConfig, simulate_experiment
from attribution.sufficient import ArmStats, arm_stats_by_arm, arm_stats_from_arrays


def _correlated_stats() -> dict[Arm, ArmStats]:
    config = SimulationConfig(
        n_units=40_000, propensity_sd=1.5, value_propensity_link=0.6, pre_periods=12, seed=3
    )
    units = simulate_experiment(config).units
    return arm_stats_by_arm(units, outcome_col="revenue", covariate_col="pre_revenue")


def test_cuped_narrows_the_revenue_interval_on_correlated_data() -> None:
    arms = _correlated_stats()
    plain = absolute_lift(arms[Arm.HOLDOUT], arms[Arm.TREATMENT], kind=MetricKind.REVENUE)
    adjusted = cuped_absolute_lift(arms[Arm.HOLDOUT], arms[Arm.TREATMENT], kind=MetricKind.REVENUE)
    assert adjusted.se < 0.98 * plain.se
    rel_plain = relative_lift(arms[Arm.HOLDOUT], arms[Arm.TREATMENT], kind=MetricKind.REVENUE)
    rel_adj = cuped_relative_lift(arms[Arm.HOLDOUT], arms[Arm.TREATMENT], kind=MetricKind.REVENUE)
    assert rel_adj.se < rel_plain.se


def test_cuped_variance_falls_by_about_one_minus_rho_squared() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(2, 50_000))
    y = 0.9 * x + np.sqrt(1 - 0.81) * rng.normal(size=x.shape) + 5.0
    control, treatment = arm_stats_from_arrays(y[0], x[0]), arm_stats_from_arrays(y[1], x[1])
    plain = absolute_lift(control, treatment, kind=MetricKind.REVENUE)
    adjusted = cuped_absolute_lift(control, treatment, kind=MetricKind.REVENUE)
    assert (adjusted.se / plain.se) ** 2 == pytest.approx(1 - 0.81, abs=0.01)


def test_cuped_estimate_is_the_regression_adjusted_difference() -> None:
    rng = np.random.default_rng(5)
    x = rng.gamma(2.0, size=(2, 2000))
    y = 0.5 * x + rng.normal(size=x.shape) + np.array([[0.0], [0.2]])
    control, treatment = arm_stats_from_arrays(y[0], x[0]), arm_stats_from_arrays(y[1], x[1])
    theta = cuped_theta(control, treatment)
    pooled_x, pooled_y = x.ravel(), y.ravel()
    assert theta == pytest.approx(np.cov(pooled_x, pooled_y)[0, 1] / pooled_x.var(ddof=1))
    expected = (y[1].mean() - y[0].mean()) - theta * (x[1].mean() - x[0].mean())
    result = cuped_absolute_lift(control, treatment, kind=MetricKind.REVENUE)
    assert result.estimate == pytest.approx(expected)


def test_without_a_covariate_cuped_equals_the_plain_lift() -> None:
    control = ArmStats(n=3407, sum_y=1396.87, sum_y2=52377.9767)
    treatment = ArmStats(n=3461, sum_y=2422.7, sum_y2=134698.29)
    assert cuped_theta(control, treatment) == 0.0
    kind = MetricKind.REVENUE
    assert cuped_relative_lift(control, treatment, kind=kind) == relative_lift(
        control, treatment, kind=kind
    )
    assert cuped_absolute_lift(control, treatment, kind=kind) == absolute_lift(
        control, treatment, kind=kind
    )
