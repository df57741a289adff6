"""Fixed-horizon lift: GrowthBook's published golden cases to 1e-5, edge cases."""

from __future__ import annotations

import pytest

from attribution.errors import UndefinedStatistic
from attribution.lift import LiftEstimate, MetricKind, absolute_lift, relative_lift
from attribution.sufficient import ArmStats, arm_stats_from_arrays

TOL = 1e-5
MEAN_C = ArmStats(n=3407, sum_y=1396.87, sum_y2=52377.9767)
MEAN_T = ArmStats(n=3461, sum_y=2422.7, sum_y2=134698.29)


def _check(result: LiftEstimate, estimate: float, se: float, ci: tuple[float, float]) -> None:
    assert result.estimate == pytest.approx(estimate, abs=TOL)
    assert result.se == pytest.approx(se, abs=TOL)
    assert result.ci_low == pytest.approx(ci[0], abs=TOL)
    assert result.ci_high == pytest.approx(ci[1], abs=TOL)


def test_relative_lift_of_a_mean_metric_matches_growthbook() -> None:
    result = relative_lift(MEAN_C, MEAN_T, kind=MetricKind.REVENUE)
    _check(result, 0.70732, 0.37879, (-0.03526, 1.44989))
    assert result.p_value == pytest.approx(0.06191, abs=TOL)


def test_absolute_lift_of_a_mean_metric_matches_growthbook() -> None:
    result = absolute_lift(MEAN_C, MEAN_T, kind=MetricKind.REVENUE)
    _check(result, 0.29, 0.12478, (0.04538, 0.53462))
    assert result.p_value == pytest.approx(0.02016, abs=TOL)


def test_relative_lift_of_a_proportion_matches_growthbook() -> None:
    control = ArmStats(n=28, sum_y=14, sum_y2=14)
    treatment = ArmStats(n=30, sum_y=16, sum_y2=16)
    result = relative_lift(control, treatment, kind=MetricKind.CONVERSION)
    _check(result, 0.06667, 0.2717, (-0.47767, 0.61101))
    assert result.p_value == pytest.approx(0.80707, abs=TOL)


def test_interval_contains_the_estimate() -> None:
    result = absolute_lift(MEAN_C, MEAN_T, kind=MetricKind.REVENUE)
    assert result.ci_low < result.estimate < result.ci_high


def test_zero_holdout_mean_makes_relative_lift_undefined() -> None:
    control = arm_stats_from_arrays([0.0] * 50)
    treatment = arm_stats_from_arrays([0.0, 1.0] * 25)
    with pytest.raises(UndefinedStatistic):
        relative_lift(control, treatment, kind=MetricKind.CONVERSION)


def test_constant_outcomes_make_the_interval_undefined() -> None:
    arm = arm_stats_from_arrays([2.0] * 10)
    with pytest.raises(UndefinedStatistic):
        absolute_lift(arm, arm, kind=MetricKind.REVENUE)


def test_arm_stats_add_up_across_shards() -> None:
    whole = arm_stats_from_arrays([0, 1, 5, 2, 0, 3], [1, 0, 2, 2, 1, 0])
    parts = arm_stats_from_arrays([0, 1, 5], [1, 0, 2]) + arm_stats_from_arrays(
        [2, 0, 3], [2, 1, 0]
    )
    assert parts == whole
    assert whole.n_nonzero == 4
