"""The lift pages' numbers: experiments and their stored lift results, read as they are.

Nothing is recomputed here: every figure comes from `attribution.results.LiftResult` rows
(immutable; one per computation). When a period was computed more than once, the newest
computation of that period is shown, the one billing would use.

From each result's statistics JSON (the report shape of `attribution.analyze`) the page
reads, when present:

- `metrics.conversion_rate`: `holdout_mean`, `treatment_mean`, `relative` and `absolute`
  (each `{estimate, ci_low, ci_high}`; the `*_sequential` variants are preferred, as billing
  looks every period), `status`, `reason`;
- `srm`: `{p_value, passed, threshold}`; `options.alpha` (the intervals' level);
- `categories`: `{name: <a metric of the same shape>}` for the per-category lift, or
  `segments.lifts` (`attribution.compute`: `[{segment, conversion_rate, ...}]`, segments
  being product categories, or products where exposures carried no category);
- `settings` (`window_days`, `pre_period_days`) and `options` (the analysis options): with
  them, `lift_timeline` reads the period's lift day by day (`attribution.timeline`, from
  the attribution tables, with the result's own settings), so its last day is the result.

A missing part is shown as "—", never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attribution.metric import AnalysisOptions
from attribution.models import Experiment
from attribution.results import LiftResult
from attribution.timeline import DailyLift, lift_over_time

STATUS = {
    # reason -> (label, tone): tones are the badge colours of dashboards.css
    "measured": ("Lift measured", "good"),
    "lower_bound_not_positive": ("No lift proven: nothing billed", "neutral"),
    "srm_failed": ("SRM failed: nothing billed", "bad"),
    "insufficient_data": ("Insufficient data: nothing billed", "warn"),
    "undefined": ("Undefined statistic: nothing billed", "warn"),
}


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Interval:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class MetricView:
    """One metric of a result: both arms' means and the lift with its interval."""

    holdout_mean: float | None
    treatment_mean: float | None
    absolute: Interval
    relative: Interval
    status: str | None
    reason: str | None


@dataclass(frozen=True)
class LiftPoint:
    """One stored result, as the pages show it."""

    result_id: str
    period_start: datetime
    period_end: datetime
    computed_at: datetime
    reason: str
    detail: str | None
    currency: str
    revenue: Interval
    conservative_amount: Decimal
    treated_units: int
    holdout_units: int
    conversion: MetricView | None
    srm_p_value: float | None
    srm_passed: bool | None
    alpha: float | None = None
    categories: dict[str, MetricView] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def status_label(self) -> str:
        return STATUS.get(self.reason, (self.reason, "neutral"))[0]

    @property
    def tone(self) -> str:
        return STATUS.get(self.reason, (self.reason, "neutral"))[1]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _interval(metric: dict[str, Any], name: str) -> Interval:
    raw = metric.get(f"{name}_sequential") or metric.get(name) or {}
    if not isinstance(raw, dict):
        raw = {}
    return Interval(
        _number(raw.get("estimate")), _number(raw.get("ci_low")), _number(raw.get("ci_high"))
    )


def metric_view(raw: Any) -> MetricView | None:
    """A metric dict of the statistics JSON as a view (None when it is not a dict)."""
    if not isinstance(raw, dict):
        return None
    return MetricView(
        holdout_mean=_number(raw.get("holdout_mean")),
        treatment_mean=_number(raw.get("treatment_mean")),
        absolute=_interval(raw, "absolute"),
        relative=_interval(raw, "relative"),
        status=raw.get("status") if isinstance(raw.get("status"), str) else None,
        reason=raw.get("reason") if isinstance(raw.get("reason"), str) else None,
    )


def _section(stats: dict[str, Any], name: str) -> dict[str, Any]:
    value = stats.get(name)
    return value if isinstance(value, dict) else {}


def _categories(stats: dict[str, Any]) -> dict[str, MetricView]:
    raw = dict(_section(stats, "categories"))
    lifts = _section(stats, "segments").get("lifts")
    for item in lifts if isinstance(lifts, list) else []:
        if isinstance(item, dict) and isinstance(item.get("segment"), str):
            raw.setdefault(item["segment"], item.get("conversion_rate"))
    return {str(name): view for name, value in sorted(raw.items()) if (view := metric_view(value))}


def lift_point(row: LiftResult) -> LiftPoint:
    stats = row.statistics
    metrics, srm = _section(stats, "metrics"), _section(stats, "srm")
    passed = srm.get("passed")
    return LiftPoint(
        result_id=row.id,
        period_start=as_utc(row.period_start),
        period_end=as_utc(row.period_end),
        computed_at=as_utc(row.computed_at),
        reason=row.reason,
        detail=row.detail,
        currency=row.currency,
        revenue=Interval(row.estimate, row.ci_low, row.ci_high),
        conservative_amount=row.conservative_amount,
        treated_units=row.treated_units,
        holdout_units=row.holdout_units,
        conversion=metric_view(metrics.get("conversion_rate")),
        srm_p_value=_number(srm.get("p_value")),
        srm_passed=passed if isinstance(passed, bool) else None,
        alpha=_number(_section(stats, "options").get("alpha")),
        categories=_categories(stats),
        settings=_section(stats, "settings"),
        options=_section(stats, "options"),
    )


def lift_history(session: Session, experiment_id: str) -> list[LiftPoint]:
    """The newest result of every period of an experiment, in period order."""
    rows = session.scalars(
        select(LiftResult)
        .where(LiftResult.experiment_id == experiment_id)
        .order_by(LiftResult.computed_at, LiftResult.id)
    )
    newest: dict[tuple[datetime, datetime], LiftResult] = {}
    for row in rows:
        newest[(as_utc(row.period_start), as_utc(row.period_end))] = row
    return [lift_point(newest[key]) for key in sorted(newest, key=lambda k: (k[1], k[0]))]


def latest_results(session: Session, experiment_ids: list[str]) -> dict[str, LiftPoint]:
    """The most recently computed result of each experiment that has one."""
    if not experiment_ids:
        return {}
    rows = session.scalars(
        select(LiftResult)
        .where(LiftResult.experiment_id.in_(experiment_ids))
        .order_by(LiftResult.computed_at, LiftResult.id)
    )
    latest: dict[str, LiftResult] = {}
    for row in rows:
        latest[row.experiment_id] = row
    return {eid: lift_point(row) for eid, row in latest.items()}


def _options(raw: dict[str, Any]) -> AnalysisOptions:
    """The stored analysis options (fields the result lacks keep their defaults)."""
    known = {f.name for f in fields(AnalysisOptions)}
    return AnalysisOptions(**{k: v for k, v in raw.items() if k in known})


def lift_timeline(session: Session, experiment: Experiment, point: LiftPoint) -> list[DailyLift]:
    """The period of `point`, day by day, with the settings it was computed with.

    Empty when the result does not say its attribution window and pre-period (a result
    not computed from the attribution tables), or when no unit was exposed in the period.
    """
    window, pre = point.settings.get("window_days"), point.settings.get("pre_period_days")
    if not isinstance(window, int) or not isinstance(pre, int):
        return []
    days = lift_over_time(
        session,
        experiment=experiment,
        start=point.period_start,
        end=point.period_end,
        window_days=window,
        pre_period_days=pre,
        options=_options(point.options),
    )
    return days if any(d.holdout.n + d.treatment.n for d in days) else []
