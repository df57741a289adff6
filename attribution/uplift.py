"""Heterogeneous lift per product category and a T-learner uplift model (shown, never billed).

Per-category lift: the per-unit table is split by category and each slice gets the
same analysis as the whole experiment (`attribution.metric.analyze_metric`, no CUPED,
fixed horizon), including the minimum-data rule. Intervals are Bonferroni-adjusted:
each uses α/k for k categories, so all k hold together with probability ≥ 1 − α. A
category "benefits" when its adjusted interval lies above 0.

T-learner: two gradient-boosted regressors (scikit-learn ``HistGradientBoostingRegressor``)
fitted to the outcome, one on treatment units and one on holdout units, with the
category (one-hot) and any numeric features (for example pre-period revenue). The
predicted uplift of a unit is ``m_T(x) − m_H(x)`` in outcome units per unit (conversion
probability or currency); the report gives its mean per category and whether it is
positive. A positive prediction is a ranking signal, not evidence: use the per-category
interval (``CategoryLift.benefits``) for claims. Models are seeded
(``random_state``) so reports are reproducible. Per-category lift is for exploration:
billing uses only the overall experiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from attribution.assignment import Arm
from attribution.lift import LiftEstimate, MetricKind
from attribution.metric import AnalysisOptions, MetricStatus, analyze_metric
from attribution.sufficient import arm_stats_by_arm


@dataclass(frozen=True, slots=True)
class CategoryLift:
    """Lift of one category; intervals are None when its data are insufficient."""

    category: str
    units: int
    status: MetricStatus
    reason: str | None
    absolute: LiftEstimate | None
    relative: LiftEstimate | None
    benefits: bool


def category_lifts(
    units: pd.DataFrame,
    *,
    outcome_col: str,
    kind: MetricKind,
    category_col: str = "category",
    arm_col: str = "arm",
    options: AnalysisOptions | None = None,
) -> list[CategoryLift]:
    """Per-category lift with Bonferroni-adjusted intervals, sorted by category."""
    opts = options or AnalysisOptions()
    groups = sorted(units.groupby(category_col, sort=True), key=lambda g: str(g[0]))
    adjusted = AnalysisOptions(
        alpha=opts.alpha / max(len(groups), 1),
        min_converting_units=opts.min_converting_units,
        use_cuped=False,
        tuning_n=opts.tuning_n,
    )
    return [
        _category_lift(str(name), frame, outcome_col, kind, arm_col, adjusted)
        for name, frame in groups
    ]


def _category_lift(
    name: str,
    frame: pd.DataFrame,
    outcome_col: str,
    kind: MetricKind,
    arm_col: str,
    options: AnalysisOptions,
) -> CategoryLift:
    arms = arm_stats_by_arm(frame, outcome_col=outcome_col, arm_col=arm_col)
    result = analyze_metric(arms[Arm.HOLDOUT], arms[Arm.TREATMENT], kind=kind, options=options)
    return CategoryLift(
        category=name,
        units=len(frame),
        status=result.status,
        reason=result.reason,
        absolute=result.absolute,
        relative=result.relative,
        benefits=result.absolute is not None and result.absolute.ci_low > 0,
    )


@dataclass(frozen=True, slots=True)
class CategoryUplift:
    """Mean T-learner uplift of one category, in outcome units per unit."""

    category: str
    units: int
    predicted_uplift: float
    predicted_positive: bool


def _features(
    units: pd.DataFrame, category_col: str, numeric_cols: Sequence[str], categories: list[str]
) -> np.ndarray:
    dummies = pd.get_dummies(
        pd.Categorical(units[category_col].astype(str), categories=categories)
    ).to_numpy(dtype=np.float64)
    numeric = units[list(numeric_cols)].to_numpy(dtype=np.float64)
    return np.hstack([dummies, numeric])


def _fit(features: np.ndarray, outcome: np.ndarray, seed: int) -> HistGradientBoostingRegressor:
    model = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, random_state=seed)
    return model.fit(features, outcome)


def t_learner_uplift(
    units: pd.DataFrame,
    *,
    outcome_col: str,
    category_col: str = "category",
    numeric_cols: Sequence[str] = (),
    arm_col: str = "arm",
    seed: int = 0,
) -> list[CategoryUplift]:
    """Mean predicted uplift m_T(x) − m_H(x) per category, sorted by uplift (largest first)."""
    categories = sorted(units[category_col].astype(str).unique())
    features = _features(units, category_col, numeric_cols, categories)
    outcome = units[outcome_col].to_numpy(dtype=np.float64)
    treated = (units[arm_col] == Arm.TREATMENT.value).to_numpy()
    m_t = _fit(features[treated], outcome[treated], seed)
    m_h = _fit(features[~treated], outcome[~treated], seed)
    uplift = m_t.predict(features) - m_h.predict(features)
    per_category = pd.DataFrame({"c": units[category_col].astype(str), "u": uplift})
    summary = per_category.groupby("c")["u"].agg(["mean", "size"])
    rows = [
        CategoryUplift(str(name), int(row["size"]), float(row["mean"]), float(row["mean"]) > 0)
        for name, row in summary.iterrows()
    ]
    return sorted(rows, key=lambda r: r.predicted_uplift, reverse=True)
