"""Lift over time within a period: the conversion lift as it stood at the end of each day.

For an experiment and a period [start, end), day d's numbers are those of the units first
exposed before the end of day d (UTC; or `end`, whichever is first) and of their purchases
in their attribution window before that same instant: exactly what `compute` would have
stored had the period ended then. The last day of a finished period therefore reproduces
the stored `LiftResult`'s conversion statistics.

The database returns per-(arm, day) increments of the sufficient statistics
(`repository.daily_conversion_statistics`: one aggregation, unit rows never leave it);
this module adds them up day by day and runs `attribution.metric.analyze_metric` on each
cumulative pair, so every day carries both arms' rates, the minimum-data rule and the
always-valid (sequential) intervals that make looking every day legitimate. Days before
the data suffice have rates but no interval. Shown, never billed. Reads only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from attribution import repository
from attribution.assignment import Arm
from attribution.lift import MetricKind
from attribution.metric import AnalysisOptions, MetricResult, analyze_metric
from attribution.models import Experiment
from attribution.repository import DailyConversionStats
from attribution.sufficient import ArmStats

_EMPTY = ArmStats(0, 0.0, 0.0, n_nonzero=0)


@dataclass(frozen=True, slots=True)
class DailyLift:
    """The cumulative conversion statistics and lift as of `as_of` (the end of `day`)."""

    day: date
    as_of: datetime
    holdout: ArmStats
    treatment: ArmStats
    conversion: MetricResult


def _days(start: datetime, last: datetime) -> Iterator[tuple[date, datetime]]:
    """Each UTC day touching [start, last) with the instant its numbers stand at."""
    day = start.date()
    while datetime.combine(day, time(), UTC) < last:
        following = datetime.combine(day + timedelta(days=1), time(), UTC)
        yield day, min(following, last)
        day += timedelta(days=1)


def _add(total: ArmStats, step: DailyConversionStats) -> ArmStats:
    converted = float(step.converted)
    return total + ArmStats(
        n=step.exposed,
        sum_y=converted,
        sum_y2=converted,  # y is 0/1
        sum_x=step.x_sum,
        sum_x2=step.x_sum2,
        sum_xy=step.xy_sum,
        n_nonzero=step.converted,
    )


def cumulate(
    increments: Sequence[DailyConversionStats],
    *,
    start: datetime,
    last: datetime,
    options: AnalysisOptions,
) -> list[DailyLift]:
    """Add the per-day increments up and analyse the conversion metric at every day's end."""
    by_day: dict[date, list[DailyConversionStats]] = {}
    for step in increments:
        by_day.setdefault(step.day, []).append(step)
    totals = {Arm.HOLDOUT.value: _EMPTY, Arm.TREATMENT.value: _EMPTY}
    out: list[DailyLift] = []
    for day, as_of in _days(start, last):
        for step in by_day.get(day, []):
            totals[step.arm] = _add(totals[step.arm], step)
        holdout, treatment = totals[Arm.HOLDOUT.value], totals[Arm.TREATMENT.value]
        result = analyze_metric(holdout, treatment, kind=MetricKind.CONVERSION, options=options)
        out.append(DailyLift(day, as_of, holdout, treatment, result))
    return out


def lift_over_time(
    session: Session,
    *,
    experiment: Experiment,
    start: datetime,
    end: datetime,
    window_days: int,
    pre_period_days: int,
    options: AnalysisOptions,
    now: datetime | None = None,
) -> list[DailyLift]:
    """One `DailyLift` per UTC day of [start, min(end, now)), oldest first.

    Use the settings and options the period's stored result was computed with (its
    statistics JSON holds them) for the last day to match it.
    """
    start, end = repository.as_utc(start), repository.as_utc(end)
    last = min(end, repository.as_utc(now or datetime.now(UTC)))
    if last <= start:
        return []
    increments = repository.daily_conversion_statistics(
        session,
        experiment=experiment,
        start=start,
        end=end,
        window_days=window_days,
        pre_period_days=pre_period_days,
    )
    return cumulate(increments, start=start, last=last, options=options)
