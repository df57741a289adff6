"""Always-valid intervals: GrowthBook's published sequential golden cases to 1e-5."""

from __future__ import annotations

import pytest

from attribution.lift import MetricKind, absolute_lift, relative_lift
from attribution.sequential import sequential_halfwidth, sequential_interval
from attribution.sufficient import ArmStats

TOL = 1e-5


def test_sequential_mean_metric_matches_growthbook_with_tuning_1000() -> None:
    control = ArmStats(n=3000, sum_y=1396.87, sum_y2=52377.9767)
    treatment = ArmStats(n=3461, sum_y=2422.7, sum_y2=134698.29)
    base = relative_lift(control, treatment, kind=MetricKind.REVENUE)
    result = sequential_interval(base, n_total=6461, tuning_n=1000)
    assert result.estimate == pytest.approx(0.50336, abs=TOL)
    assert result.se == pytest.approx(0.33341, abs=TOL)
    assert result.ci_low == pytest.approx(-0.55844, abs=TOL)
    assert result.ci_high == pytest.approx(1.56516, abs=TOL)
    assert result.p_value == 1.0
    assert result.sequential


def test_sequential_proportion_matches_growthbook_with_default_tuning() -> None:
    control = ArmStats(n=3000, sum_y=1396, sum_y2=1396)
    treatment = ArmStats(n=3461, sum_y=2422, sum_y2=2422)
    base = relative_lift(control, treatment, kind=MetricKind.CONVERSION)
    result = sequential_interval(base, n_total=6461)
    assert result.estimate == pytest.approx(0.50386, abs=TOL)
    assert result.se == pytest.approx(0.03386, abs=TOL)
    assert result.ci_low == pytest.approx(0.40098, abs=TOL)
    assert result.ci_high == pytest.approx(0.60675, abs=TOL)


def test_sequential_interval_is_wider_than_fixed_horizon() -> None:
    control = ArmStats(n=20_000, sum_y=1000, sum_y2=1000)
    treatment = ArmStats(n=20_000, sum_y=1100, sum_y2=1100)
    base = absolute_lift(control, treatment, kind=MetricKind.CONVERSION)
    seq = sequential_interval(base, n_total=40_000)
    assert seq.ci_low < base.ci_low
    assert seq.ci_high > base.ci_high
    assert seq.p_value >= base.p_value


def test_halfwidth_shrinks_as_data_accumulates_at_fixed_per_unit_sd() -> None:
    sizes = (1_000, 10_000, 100_000)
    widths = [sequential_halfwidth(se=1.0 / n**0.5, n_total=n, alpha=0.05) for n in sizes]
    assert widths[0] > widths[1] > widths[2]
