"""The seeded simulator: reproducible, hash-assigned, truth consistent with the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution.assignment import Arm, assign_arm
from attribution.simulate import SimulationConfig, simulate_arm_totals, simulate_experiment


def test_same_seed_gives_the_same_experiment() -> None:
    config = SimulationConfig(n_units=2_000, seed=42)
    pd.testing.assert_frame_equal(
        simulate_experiment(config).units, simulate_experiment(config).units
    )


def test_arms_come_from_the_published_hash() -> None:
    config = SimulationConfig(n_units=300, holdout_share=0.2, seed=1)
    units = simulate_experiment(config).units
    for row in units.head(50).itertuples():
        arm = assign_arm(
            merchant_id=config.merchant_id,
            experiment_id=config.experiment_id,
            unit_id=str(row.unit_id),
            holdout_share=0.2,
        )
        assert row.arm == arm.value


def test_units_table_has_the_documented_columns_and_no_negative_revenue() -> None:
    units = simulate_experiment(SimulationConfig(n_units=5_000, seed=3)).units
    expected = ["unit_id", "arm", "category", "converted", "revenue", "pre_revenue"]
    assert list(units.columns) == expected
    assert (units["revenue"] >= 0).all()
    assert ((units["revenue"] > 0) == (units["converted"] == 1)).all()


def test_aa_has_no_true_lift() -> None:
    result = simulate_experiment(SimulationConfig(n_units=5_000, aa=True, seed=3))
    assert result.true_relative_lift == 0.0
    assert result.true_incremental_revenue == 0.0


def test_true_incremental_revenue_matches_the_observed_difference_on_average() -> None:
    result = simulate_experiment(SimulationConfig(n_units=200_000, holdout_share=0.5, seed=9))
    units = result.units
    means = units.groupby("arm")["revenue"].mean()
    treated = int((units["arm"] == Arm.TREATMENT.value).sum())
    observed = (means[Arm.TREATMENT.value] - means[Arm.HOLDOUT.value]) * treated
    se = units.groupby("arm")["revenue"].var().div(units.groupby("arm").size()).sum() ** 0.5
    assert abs(observed - result.true_incremental_revenue) < 4 * se * treated


def test_events_hold_exposures_and_conversions_in_time_order() -> None:
    result = simulate_experiment(SimulationConfig(n_units=1_000, with_events=True, seed=2))
    events = result.events
    assert events is not None
    assert (events["event_type"] == "exposure").sum() == 1_000
    assert (events["event_type"] == "conversion").sum() == result.units["converted"].sum()
    assert events["occurred_at"].is_monotonic_increasing
    assert str(events["occurred_at"].dt.tz) == "UTC"


def test_arm_totals_are_vectorised_sufficient_statistics() -> None:
    totals = simulate_arm_totals(np.random.default_rng(0), runs=200, units=10_000, conversion=0.05)
    assert totals.conversions.mean() == pytest.approx(500, rel=0.02)
    stats = totals.revenue_stats(0)
    assert stats.n == 10_000
    assert stats.n_nonzero == totals.conversions[0]
    assert (totals + totals).conversion_stats(1).n == 20_000
