"""The minimum-data rule and the per-metric analysis."""

from __future__ import annotations

import pytest

from attribution.lift import MetricKind
from attribution.metric import AnalysisOptions, MetricStatus, analyze_metric, check_minimum_data
from attribution.sufficient import ArmStats
from liftmeter.errors import ValidationFailed


def _conv(n: int, conversions: int) -> ArmStats:
    return ArmStats(n=n, sum_y=conversions, sum_y2=conversions, n_nonzero=conversions)


def test_too_few_converting_units_gives_insufficient_data_without_an_interval() -> None:
    result = analyze_metric(_conv(1000, 40), _conv(1000, 150), kind=MetricKind.CONVERSION)
    assert result.status is MetricStatus.INSUFFICIENT_DATA
    assert result.reason is not None
    assert "insufficient data" in result.reason
    assert "40 converting units in holdout" in result.reason
    assert result.absolute is None
    assert result.absolute_sequential is None


def test_threshold_is_configurable() -> None:
    options = AnalysisOptions(min_converting_units=30)
    result = analyze_metric(
        _conv(1000, 40), _conv(1000, 55), kind=MetricKind.CONVERSION, options=options
    )
    assert result.status is MetricStatus.OK
    assert result.absolute is not None
    assert result.absolute_sequential is not None


def test_enough_data_gives_fixed_and_sequential_intervals() -> None:
    result = analyze_metric(_conv(20_000, 1000), _conv(20_000, 1150), kind=MetricKind.CONVERSION)
    assert result.status is MetricStatus.OK
    assert result.absolute is not None
    assert result.absolute_sequential is not None
    assert result.absolute_sequential.ci_low < result.absolute.ci_low
    assert result.relative is not None
    assert result.relative.estimate == pytest.approx(0.15)
    assert not result.cuped_applied


def test_conversion_counts_default_to_the_sum_of_conversions() -> None:
    arm = ArmStats(n=500, sum_y=120, sum_y2=120)
    reason = check_minimum_data(arm, arm, kind=MetricKind.CONVERSION, min_converting_units=100)
    assert reason is None


def test_revenue_metric_needs_the_count_of_buying_units() -> None:
    arm = ArmStats(n=500, sum_y=1200.0, sum_y2=90_000.0)
    with pytest.raises(ValidationFailed) as info:
        analyze_metric(arm, arm, kind=MetricKind.REVENUE)
    assert info.value.param == "n_nonzero"


def test_undefined_statistic_becomes_a_status_not_an_exception() -> None:
    arm = ArmStats(n=500, sum_y=500.0, sum_y2=500.0, n_nonzero=500)
    result = analyze_metric(arm, arm, kind=MetricKind.REVENUE)
    assert result.status is MetricStatus.UNDEFINED
