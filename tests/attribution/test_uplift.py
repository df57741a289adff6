"""Per-category lift and the T-learner uplift ranking."""

from __future__ import annotations

import pandas as pd
import pytest

from attribution.lift import MetricKind
from attribution.metric import MetricStatus
from attribution.simulate import SimulationConfig, simulate_experiment
from attribution.uplift import category_lifts, t_learner_uplift


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    lifts = {"books": 0.0, "shoes": 0.5, "toys": -0.2}
    config = SimulationConfig(n_units=30_000, category_lifts=lifts, seed=5)
    return simulate_experiment(config).units


def test_per_category_lift_finds_the_category_that_benefits(units: pd.DataFrame) -> None:
    results = {
        c.category: c
        for c in category_lifts(units, outcome_col="converted", kind=MetricKind.CONVERSION)
    }
    assert set(results) == {"books", "shoes", "toys"}
    assert results["shoes"].benefits
    assert not results["books"].benefits
    assert not results["toys"].benefits
    shoes = results["shoes"].relative
    assert shoes is not None
    assert shoes.ci_low < 0.5 < shoes.ci_high
    # Bonferroni: three categories, each at alpha / 3
    assert shoes.alpha == pytest.approx(0.05 / 3)


def test_small_categories_report_insufficient_data(units: pd.DataFrame) -> None:
    small = units.groupby("category").head(400)
    results = category_lifts(small, outcome_col="converted", kind=MetricKind.CONVERSION)
    assert all(r.status is MetricStatus.INSUFFICIENT_DATA for r in results)
    assert all(r.absolute is None and not r.benefits for r in results)


def test_t_learner_ranks_categories_by_true_uplift(units: pd.DataFrame) -> None:
    ranking = t_learner_uplift(units, outcome_col="converted", numeric_cols=["pre_revenue"])
    assert [r.category for r in ranking] == ["shoes", "books", "toys"]
    assert ranking[0].predicted_positive
    assert not ranking[-1].predicted_positive
    assert sum(r.units for r in ranking) == len(units)
