"""Lift of a merchant over a period, from SQL aggregates to a stored, immutable result.

`compute_lift` takes a merchant and a period [start, end) and, for every experiment of the
merchant whose window overlaps the period:

1. asks the database for the per-(arm, segment) sufficient statistics of the units first
   exposed in the period (`repository.experiment_statistics`: one aggregation, the unit
   rows never leave the database), with the attribution window, the pre-period and the
   revenue cap percentile from the `attribution` settings;
2. runs the statistics on those aggregates: conversion rate and revenue per unit (capped,
   CUPED on the pre-period revenue; uncapped for context), the SRM check, the minimum-data
   rule and the sequential (always-valid) intervals, then the incremental revenue and its
   conservative billable amount (`attribution.revenue`);
3. computes per-segment lift (segment = the product category of the unit's first exposure,
   or its product when that exposure carried no category; the 20 largest, the rest as
   "(other)") with Bonferroni-adjusted intervals, and marks a segment as benefiting when
   its adjusted interval of the absolute lift lies above 0 (as `attribution.uplift`
   does): shown, never billed;
4. stores one immutable `LiftResult` (`store_lift_result`) whose statistics JSON holds all
   of the above, the settings used and the revenue cap.

Insufficient data, a failed SRM check or an undefined statistic give amount 0 with the
reason (`RevenueReason`) recorded. Flushes, never commits: the caller owns the transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from attribution import repository
from attribution.analyze import to_jsonable
from attribution.assignment import Arm
from attribution.lift import MetricKind
from attribution.metric import AnalysisOptions, MetricResult, analyze_metric
from attribution.models import Experiment
from attribution.repository import ExperimentStatistics, SegmentStats
from attribution.results import LiftResult, store_lift_result
from attribution.revenue import IncrementalRevenue, estimate_incremental_revenue
from attribution.srm import check_holdout_srm
from attribution.sufficient import ArmStats
from liftmeter.errors import NotFound, ValidationFailed
from liftmeter.models import Merchant
from liftmeter.settings import AttributionSettings

MAX_SEGMENTS = 20
OTHER_SEGMENT = "(other)"
_EMPTY = ArmStats(0, 0.0, 0.0, n_nonzero=0)
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_METRICS = ("conversion", "revenue", "revenue_uncapped")


def month_period(text: str) -> tuple[datetime, datetime]:
    """`YYYY-MM` as the UTC range [first day, first day of the next month)."""
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValidationFailed(f"expected YYYY-MM, got {text!r}", param="period")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def experiments_in_period(
    session: Session, merchant_id: str, start: datetime, end: datetime
) -> list[Experiment]:
    """The merchant's experiments whose window [starts_at, ends_at) overlaps [start, end)."""
    stmt = (
        select(Experiment)
        .where(Experiment.merchant_id == merchant_id, Experiment.starts_at < end)
        .where(or_(Experiment.ends_at.is_(None), Experiment.ends_at > start))
        .order_by(Experiment.starts_at, Experiment.id)
    )
    return list(session.scalars(stmt))


def _arm(rows: Sequence[SegmentStats], arm: Arm, metric: str) -> ArmStats:
    total = _EMPTY
    for row in rows:
        if row.arm == arm.value:
            total = total + getattr(row, metric)
    return total


@dataclass(frozen=True)
class ExperimentLift:
    """Everything one experiment's computation concluded (the stored row and its parts)."""

    experiment: Experiment
    revenue: IncrementalRevenue
    statistics: dict[str, Any]


def _segment_groups(rows: Sequence[SegmentStats]) -> dict[str, list[SegmentStats]]:
    units: dict[str, int] = {}
    for row in rows:
        units[row.segment] = units.get(row.segment, 0) + row.conversion.n
    ranked = sorted(units, key=lambda s: (-units[s], s))
    top = set(ranked[:MAX_SEGMENTS])
    groups: dict[str, list[SegmentStats]] = {}
    for row in rows:
        groups.setdefault(row.segment if row.segment in top else OTHER_SEGMENT, []).append(row)
    return groups


def _benefits(result: MetricResult) -> bool:
    return result.absolute is not None and result.absolute.ci_low > 0


def _segments(rows: Sequence[SegmentStats], options: AnalysisOptions) -> list[dict[str, Any]]:
    groups = _segment_groups(rows)
    adjusted = AnalysisOptions(
        alpha=options.alpha / max(len(groups), 1),
        min_converting_units=options.min_converting_units,
        use_cuped=False,
        tuning_n=options.tuning_n,
    )
    out = []
    for name in sorted(groups):
        group = groups[name]
        holdout = {m: _arm(group, Arm.HOLDOUT, m) for m in _METRICS[:2]}
        treatment = {m: _arm(group, Arm.TREATMENT, m) for m in _METRICS[:2]}
        conversion = analyze_metric(
            holdout["conversion"],
            treatment["conversion"],
            kind=MetricKind.CONVERSION,
            options=adjusted,
        )
        revenue = analyze_metric(
            holdout["revenue"], treatment["revenue"], kind=MetricKind.REVENUE, options=adjusted
        )
        out.append(
            {
                "segment": name,
                "units": {"holdout": holdout["revenue"].n, "treatment": treatment["revenue"].n},
                "conversion_rate": conversion,
                "revenue_per_unit": revenue,
                "benefits": {
                    "conversion_rate": _benefits(conversion),
                    "revenue_per_unit": _benefits(revenue),
                },
            }
        )
    return out


def analyze_statistics(
    stats: ExperimentStatistics,
    *,
    experiment: Experiment,
    currency: str,
    settings: AttributionSettings,
    options: AnalysisOptions,
) -> tuple[IncrementalRevenue, dict[str, Any]]:
    """The incremental revenue and the statistics JSON from the SQL aggregates."""
    share = float(experiment.holdout_share)
    arms = {
        metric: (
            _arm(stats.segments, Arm.HOLDOUT, metric),
            _arm(stats.segments, Arm.TREATMENT, metric),
        )
        for metric in _METRICS
    }
    metrics: dict[str, MetricResult] = {
        "conversion_rate": analyze_metric(
            *arms["conversion"], kind=MetricKind.CONVERSION, options=options
        ),
        "revenue_per_unit": analyze_metric(
            *arms["revenue"], kind=MetricKind.REVENUE, options=options
        ),
        "revenue_per_unit_uncapped": analyze_metric(
            *arms["revenue_uncapped"], kind=MetricKind.REVENUE, options=options
        ),
    }
    holdout, treatment = arms["revenue"]
    revenue = estimate_incremental_revenue(
        holdout,
        treatment,
        currency=currency,
        holdout_share=share,
        options=options,
        revenue_cap=stats.cap,
    )
    billed = metrics["revenue_per_unit"]
    statistics = {
        "experiment_id": experiment.id,
        "unit_type": experiment.unit_type,
        "holdout_share": share,
        "units": {"holdout": holdout.n, "treatment": treatment.n},
        "settings": {
            "window_days": settings.window_days,
            "pre_period_days": settings.pre_period_days,
            "cap_percentile": settings.cap_percentile,
            "conversion_kind": "purchase",
        },
        "options": options,
        "srm": check_holdout_srm(
            holdout_units=holdout.n, treatment_units=treatment.n, holdout_share=share
        ),
        "sufficiency": {
            "status": billed.status,
            "reason": billed.reason,
            "min_converting_units": options.min_converting_units,
            "converting_units": {
                "holdout": billed.converting_units[0],
                "treatment": billed.converting_units[1],
            },
        },
        "revenue_cap": {"percentile": settings.cap_percentile, "value": stats.cap},
        "metrics": metrics,
        "incremental_revenue": revenue,
        "segments": {
            "by": "category of first exposure (product_id where it carried none)",
            "billed": False,
            "lifts": _segments(stats.segments, options),
        },
    }
    return revenue, dict(to_jsonable(statistics))


def compute_experiment(
    session: Session,
    *,
    experiment: Experiment,
    currency: str,
    period_start: datetime,
    period_end: datetime,
    settings: AttributionSettings,
    alpha: float = 0.05,
) -> tuple[LiftResult, IncrementalRevenue]:
    """Compute and store one experiment's lift over [period_start, period_end)."""
    stats = repository.experiment_statistics(
        session,
        experiment=experiment,
        start=period_start,
        end=period_end,
        window_days=settings.window_days,
        pre_period_days=settings.pre_period_days,
        cap_percentile=None if settings.cap_percentile >= 100 else settings.cap_percentile,
    )
    options = AnalysisOptions(alpha=alpha, min_converting_units=settings.min_converting_units)
    revenue, statistics = analyze_statistics(
        stats, experiment=experiment, currency=currency, settings=settings, options=options
    )
    statistics["units_in_both_arms"] = repository.units_in_both_arms(session, experiment.id)
    row = store_lift_result(
        session,
        merchant_id=experiment.merchant_id,
        experiment_id=experiment.id,
        period_start=period_start,
        period_end=period_end,
        revenue=revenue,
        statistics=statistics,
    )
    return row, revenue


def compute_lift(
    session: Session,
    *,
    merchant_id: str,
    period_start: datetime,
    period_end: datetime,
    settings: AttributionSettings,
    alpha: float = 0.05,
) -> list[LiftResult]:
    """Compute and store the lift of every experiment of the merchant overlapping the period.

    Returns the new rows (none when the merchant ran no experiment in the period).
    """
    if period_start.tzinfo is None or period_end.tzinfo is None:
        raise ValidationFailed("must carry a timezone", param="period")
    if period_end <= period_start:
        raise ValidationFailed("the period must end after it starts", param="period")
    period_start, period_end = repository.as_utc(period_start), repository.as_utc(period_end)
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("no such merchant", param="merchant_id")
    return [
        compute_experiment(
            session,
            experiment=experiment,
            currency=merchant.currency,
            period_start=period_start,
            period_end=period_end,
            settings=settings,
            alpha=alpha,
        )[0]
        for experiment in experiments_in_period(session, merchant_id, period_start, period_end)
    ]


def latest_results(
    session: Session,
    *,
    merchant_id: str | None,
    experiment_id: str | None,
    start: datetime,
    end: datetime,
) -> list[LiftResult]:
    """Stored results whose period lies in [start, end): the newest per (experiment, period).

    `merchant_id` None means every merchant (staff). Oldest period first.
    """
    stmt = select(LiftResult).where(LiftResult.period_start >= start, LiftResult.period_end <= end)
    if merchant_id is not None:
        stmt = stmt.where(LiftResult.merchant_id == merchant_id)
    if experiment_id is not None:
        stmt = stmt.where(LiftResult.experiment_id == experiment_id)
    stmt = stmt.order_by(LiftResult.computed_at.desc(), LiftResult.id.desc())
    newest: dict[tuple[str, datetime, datetime], LiftResult] = {}
    for row in session.scalars(stmt):
        key = (
            row.experiment_id,
            repository.as_utc(row.period_start),
            repository.as_utc(row.period_end),
        )
        newest.setdefault(key, row)
    return sorted(
        newest.values(), key=lambda r: (repository.as_utc(r.period_start), r.experiment_id)
    )
