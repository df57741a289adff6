"""One metric of one experiment: the minimum-data rule, then lift with its intervals.

Order of decisions:

1. Minimum data: each arm needs at least ``min_converting_units`` units with a non-zero
   outcome (converting units; default 100). Below that the delta-method intervals
   under-cover (≈ 0.88 coverage with 25 converters per arm in simulation) and the
   confidence sequence has no burn-in, so the result is ``insufficient_data`` and carries
   no interval at all.
2. Lift: absolute and relative (`attribution.lift`); CUPED-adjusted when the statistics
   carry a pre-period covariate with positive variance (`attribution.cuped`). The
   unadjusted absolute lift is kept for the CUPED on/off comparison.
3. Sequential: always-valid versions of both intervals (`attribution.sequential`), valid
   when the experiment is looked at repeatedly (every billing period).

A statistic that cannot be computed (zero variance, zero holdout mean) gives status
``undefined`` with the reason, never an exception, so one metric cannot sink a report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from attribution.cuped import cuped_absolute_lift, cuped_relative_lift, cuped_theta
from attribution.errors import UndefinedStatistic
from attribution.lift import LiftEstimate, MetricKind, absolute_lift, relative_lift
from attribution.sequential import DEFAULT_TUNING_N, sequential_interval
from attribution.sufficient import ArmStats
from liftmeter.errors import ValidationFailed

DEFAULT_MIN_CONVERTING_UNITS = 100


class MetricStatus(StrEnum):
    """Whether a metric has intervals."""

    OK = "ok"
    INSUFFICIENT_DATA = "insufficient_data"
    UNDEFINED = "undefined"


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """Knobs of the analysis; store them with every result."""

    alpha: float = 0.05
    min_converting_units: int = DEFAULT_MIN_CONVERTING_UNITS
    use_cuped: bool = True
    tuning_n: int = DEFAULT_TUNING_N


@dataclass(frozen=True, slots=True)
class MetricResult:
    """Lift of one metric. Interval fields are None unless ``status`` is ``ok``."""

    kind: MetricKind
    status: MetricStatus
    reason: str | None
    holdout_mean: float | None
    treatment_mean: float | None
    converting_units: tuple[int, int]
    cuped_applied: bool
    cuped_theta: float
    absolute: LiftEstimate | None = None
    relative: LiftEstimate | None = None
    absolute_sequential: LiftEstimate | None = None
    relative_sequential: LiftEstimate | None = None
    absolute_unadjusted: LiftEstimate | None = None


def converting_units(arm: ArmStats, kind: MetricKind) -> int:
    """Units with a non-zero outcome: ``n_nonzero``, or Σy for a 0/1 conversion metric."""
    if arm.n_nonzero is not None:
        return arm.n_nonzero
    if kind is MetricKind.CONVERSION:
        return round(arm.sum_y)
    raise ValidationFailed("n_nonzero is required for revenue metrics", param="n_nonzero")


def check_minimum_data(
    holdout: ArmStats, treatment: ArmStats, *, kind: MetricKind, min_converting_units: int
) -> str | None:
    """None when both arms have enough converting units, else the reason why not."""
    counts = converting_units(holdout, kind), converting_units(treatment, kind)
    if min(counts) >= min_converting_units:
        return None
    return (
        f"insufficient data: {counts[0]} converting units in holdout and {counts[1]} in "
        f"treatment; at least {min_converting_units} per arm are needed"
    )


def _uses_cuped(holdout: ArmStats, treatment: ArmStats, options: AnalysisOptions) -> bool:
    return options.use_cuped and cuped_theta(holdout, treatment) != 0.0


def _lifts(
    holdout: ArmStats, treatment: ArmStats, kind: MetricKind, options: AnalysisOptions
) -> tuple[LiftEstimate, LiftEstimate, LiftEstimate]:
    alpha = options.alpha
    plain = absolute_lift(holdout, treatment, kind=kind, alpha=alpha)
    if not _uses_cuped(holdout, treatment, options):
        return plain, relative_lift(holdout, treatment, kind=kind, alpha=alpha), plain
    absolute = cuped_absolute_lift(holdout, treatment, kind=kind, alpha=alpha)
    relative = cuped_relative_lift(holdout, treatment, kind=kind, alpha=alpha)
    return absolute, relative, plain


def _empty_result(
    holdout: ArmStats, treatment: ArmStats, kind: MetricKind, options: AnalysisOptions
) -> MetricResult:
    cuped = _uses_cuped(holdout, treatment, options)
    return MetricResult(
        kind=kind,
        status=MetricStatus.OK,
        reason=None,
        holdout_mean=holdout.mean_y if holdout.n else None,
        treatment_mean=treatment.mean_y if treatment.n else None,
        converting_units=(converting_units(holdout, kind), converting_units(treatment, kind)),
        cuped_applied=cuped,
        cuped_theta=cuped_theta(holdout, treatment) if cuped else 0.0,
    )


def analyze_metric(
    holdout: ArmStats,
    treatment: ArmStats,
    *,
    kind: MetricKind,
    options: AnalysisOptions | None = None,
) -> MetricResult:
    """Minimum-data rule, lift (CUPED when possible) and sequential intervals of one metric."""
    opts = options or AnalysisOptions()
    result = _empty_result(holdout, treatment, kind, opts)
    reason = check_minimum_data(
        holdout, treatment, kind=kind, min_converting_units=opts.min_converting_units
    )
    if reason is not None:
        return replace(result, status=MetricStatus.INSUFFICIENT_DATA, reason=reason)
    try:
        absolute, relative, plain = _lifts(holdout, treatment, kind, opts)
    except UndefinedStatistic as exc:
        return replace(result, status=MetricStatus.UNDEFINED, reason=str(exc))
    n_total = holdout.n + treatment.n
    return replace(
        result,
        absolute=absolute,
        relative=relative,
        absolute_sequential=sequential_interval(absolute, n_total=n_total, tuning_n=opts.tuning_n),
        relative_sequential=sequential_interval(relative, n_total=n_total, tuning_n=opts.tuning_n),
        absolute_unadjusted=plain,
    )
