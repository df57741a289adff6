"""The per-arm sufficient statistics computed by one SQL aggregation equal a row-level
pandas computation on the same rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from attribution.baseline import row_level_statistics
from attribution.models import Experiment
from attribution.repository import ExperimentStatistics, experiment_statistics
from attribution.service import record_events
from liftmeter.runtime import open_runtime

from attribution_support import (
    START,
    add_experiment,
    add_merchant,
    frames,
    synthetic_events,
    with_categories,
)
from support import make_settings

END = START + timedelta(days=16)


def _as_dict(stats: ExperimentStatistics) -> dict[tuple[str, str, str], tuple[float, ...]]:
    out = {}
    for seg in stats.segments:
        for metric in ("conversion", "revenue", "revenue_uncapped"):
            s = getattr(seg, metric)
            out[(seg.arm, seg.segment, metric)] = (
                s.n,
                s.sum_y,
                s.sum_y2,
                s.sum_x,
                s.sum_x2,
                s.sum_xy,
                s.n_nonzero,
            )
    return out


@pytest.mark.parametrize("cap_percentile", [99.0, None])
def test_sql_statistics_equal_a_row_level_pandas_computation(
    db_url: str, cap_percentile: float | None
) -> None:
    rt = open_runtime(make_settings(db_url))
    add_merchant(rt.sessions, "mer_a")
    add_experiment(rt.sessions, "mer_a", "exp_1")
    events = synthetic_events("mer_a", "exp_1", units=1500, seed=3)
    with rt.sessions.begin() as session:
        assert record_events(session, events) == []
    kwargs = dict(start=START, end=END, window_days=7, pre_period_days=3)
    with rt.sessions() as session:
        experiment = session.get(Experiment, "exp_1")
        assert experiment is not None
        sql = experiment_statistics(
            session, experiment=experiment, cap_percentile=cap_percentile, **kwargs
        )
    units, conversions = frames(rt.engine, "exp_1", "mer_a")
    baseline = row_level_statistics(units, conversions, cap_percentile=cap_percentile, **kwargs)
    rt.close()
    got, want = _as_dict(sql), _as_dict(baseline)
    assert got.keys() == want.keys()
    assert len(got) == 2 * 5 * 3
    for key, values in want.items():
        assert got[key] == pytest.approx(values, rel=1e-9, abs=1e-6), key
    if cap_percentile is None:
        assert sql.cap is None
    else:
        assert sql.cap == pytest.approx(baseline.cap, rel=1e-12)
        # the cap binds: some capped sums differ from the uncapped ones
        assert any(s.revenue.sum_y < s.revenue_uncapped.sum_y for s in sql.segments)
    # the window, the pre-period and the period end all matter on this data
    assert sum(s.conversion.sum_y for s in sql.segments) > 0
    assert sum(s.revenue.sum_x for s in sql.segments) > 0


def test_units_are_segmented_by_category_and_by_product_without_one(db_url: str) -> None:
    rt = open_runtime(make_settings(db_url))
    add_merchant(rt.sessions, "mer_a")
    add_experiment(rt.sessions, "mer_a", "exp_1")
    categories = {"sku-0": "shoes", "sku-1": "shoes", "sku-2": "home", "sku-3": "home"}
    events = with_categories(synthetic_events("mer_a", "exp_1", units=1500, seed=5), categories)
    with rt.sessions.begin() as session:
        assert record_events(session, events) == []
    kwargs = dict(start=START, end=END, window_days=7, pre_period_days=3, cap_percentile=99.0)
    with rt.sessions() as session:
        experiment = session.get(Experiment, "exp_1")
        assert experiment is not None
        sql = experiment_statistics(session, experiment=experiment, **kwargs)
    units, conversions = frames(rt.engine, "exp_1", "mer_a")
    baseline = row_level_statistics(units, conversions, **kwargs)
    rt.close()
    assert {s.segment for s in sql.segments} == {"shoes", "home", "sku-4"}
    got, want = _as_dict(sql), _as_dict(baseline)
    assert got.keys() == want.keys()
    for key, values in want.items():
        assert got[key] == pytest.approx(values, rel=1e-9, abs=1e-6), key
