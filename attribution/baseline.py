"""Row-level reference of the SQL statistics, in pandas: the cross-check and the baseline.

`row_level_statistics` computes from unit rows and conversion rows what
`repository.experiment_statistics` computes in the database (see its docstring for the
definitions: window, pre-period, pooled percentile cap of non-zero revenue, per
(arm, segment) sums). It holds every row in memory, so it is for tests on small data and
for the side-by-side benchmark, never for production sizes.

Inputs:
- units: columns unit_id, arm, product_id, first_exposed_at (UTC), multiple_arms and
  optionally category (the segment when not null; the product id otherwise);
- conversions: columns key (visitor id, or product id for product-level experiments),
  kind, revenue (float, currency units), occurred_at (UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from attribution.capping import cap_revenue, revenue_cap
from attribution.repository import ExperimentStatistics, SegmentStats
from attribution.sufficient import arm_stats_from_arrays


def per_unit_outcomes(
    units: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    window_days: int,
    pre_period_days: int,
) -> pd.DataFrame:
    """One row per analysed unit: arm, product_id, segment, converted, revenue, pre_revenue."""
    chosen = units[
        (~units["multiple_arms"].astype(bool))
        & (units["first_exposed_at"] >= start)
        & (units["first_exposed_at"] < end)
    ]
    segment = chosen["product_id"]
    if "category" in chosen.columns:
        segment = chosen["category"].where(chosen["category"].notna(), chosen["product_id"])
    chosen = chosen[["unit_id", "arm", "product_id", "first_exposed_at"]].assign(segment=segment)
    purchases = conversions[conversions["kind"] == "purchase"]
    joined = chosen.merge(purchases, left_on="unit_id", right_on="key", how="inner")
    t0, at = joined["first_exposed_at"], joined["occurred_at"]
    in_window = (at >= t0) & (at < t0 + timedelta(days=window_days)) & (at < end)
    in_pre = (at < t0) & (at >= t0 - timedelta(days=pre_period_days))
    joined = joined.assign(
        converted=in_window.astype(np.int64),
        revenue_w=joined["revenue"].where(in_window, 0.0),
        pre_w=joined["revenue"].where(in_pre, 0.0),
    )
    sums = joined.groupby("unit_id").agg(
        converted=("converted", "max"), revenue=("revenue_w", "sum"), pre_revenue=("pre_w", "sum")
    )
    out = chosen.set_index("unit_id").join(sums, how="left")
    return out.fillna({"converted": 0, "revenue": 0.0, "pre_revenue": 0.0}).reset_index()


def row_level_statistics(
    units: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    window_days: int,
    pre_period_days: int,
    cap_percentile: float | None,
) -> ExperimentStatistics:
    """The SQL statistics recomputed row by row (same shape as the SQL result)."""
    table = per_unit_outcomes(
        units,
        conversions,
        start=start,
        end=end,
        window_days=window_days,
        pre_period_days=pre_period_days,
    )
    cap = (
        None if cap_percentile is None else revenue_cap(table["revenue"], percentile=cap_percentile)
    )
    table = table.assign(y=cap_revenue(table["revenue"], cap))
    segments = []
    for (arm, name), rows in table.groupby(["arm", "segment"], sort=True):
        x = rows["pre_revenue"].to_numpy()
        segments.append(
            SegmentStats(
                arm=str(arm),
                segment=str(name),
                conversion=arm_stats_from_arrays(rows["converted"].to_numpy(), x),
                revenue=arm_stats_from_arrays(rows["y"].to_numpy(), x),
                revenue_uncapped=arm_stats_from_arrays(rows["revenue"].to_numpy(), x),
            )
        )
    return ExperimentStatistics(cap, segments)
