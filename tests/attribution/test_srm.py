"""Sample-ratio-mismatch check."""

from __future__ import annotations

import pytest
from scipy import stats

from attribution.srm import check_holdout_srm, check_srm
from liftmeter.errors import ValidationFailed


def test_fifty_fifty_observed_at_52_48_with_large_n_fails() -> None:
    result = check_holdout_srm(holdout_units=48_000, treatment_units=52_000, holdout_share=0.5)
    assert not result.passed
    assert result.chi2 == pytest.approx(160.0)
    assert result.p_value < 1e-30


def test_a_correct_split_passes() -> None:
    result = check_holdout_srm(holdout_units=10_030, treatment_units=89_970, holdout_share=0.1)
    assert result.passed
    assert result.expected == pytest.approx((10_000.0, 90_000.0))


def test_statistic_matches_scipy_chisquare() -> None:
    observed, weights = [120, 95, 85], [1.0, 1.0, 1.0]
    result = check_srm(observed, weights)
    reference = stats.chisquare(observed)
    assert result.chi2 == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)


def test_arms_with_zero_weight_are_skipped() -> None:
    result = check_srm([500, 500, 7], [1.0, 1.0, 0.0])
    assert result.passed
    assert result.chi2 == pytest.approx(0.0)


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(ValidationFailed):
        check_srm([1, 2], [1.0])
