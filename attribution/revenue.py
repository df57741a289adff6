"""Incremental revenue over a billing period and the conservative amount billing uses.

From the revenue-per-unit statistics of both arms (currency units per unit, capped per
`attribution.capping` before aggregation):

    Δa        absolute lift in revenue per unit, CUPED-adjusted when a pre-period
              covariate is present (`attribution.metric`)
    IR        = Δa · n_T                  incremental revenue of the treated units
    [lo, hi]  = [Δa_lo · n_T, Δa_hi · n_T] from the interval of Δa: the always-valid
              (sequential) interval by default, because billing looks at the same
              experiment every period; the fixed-horizon one when ``sequential=False``
    conservative amount = max(0, lo), as Decimal quantized to the currency's minor unit
              (ROUND_HALF_UP via `liftmeter.money.quantize`)

The absolute interval is used, not relative lift × baseline, which would ignore the
uncertainty of the baseline. The lower bound of a two-sided 1 − α interval is a one-sided
1 − α/2 bound, so at α = 0.05 a merchant with no true lift is billed anything only with
probability ≤ 2.5 % per look (≤ 5 % over all looks with the sequential interval).

Nothing is billed (amount 0 and a reason) when the SRM check fails, when the minimum-data
rule is not met, or when the statistic is undefined. ``METHOD_VERSION`` names this
method; store it with every result so a changed formula never silently re-prices an
old period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from attribution.lift import LiftEstimate, MetricKind
from attribution.metric import AnalysisOptions, MetricResult, MetricStatus, analyze_metric
from attribution.srm import DEFAULT_SRM_THRESHOLD, SrmResult, check_holdout_srm
from attribution.sufficient import ArmStats
from liftmeter.money import check_currency, quantize

METHOD_VERSION = "liftmeter-attribution/1: abs-lift x treated units, CUPED, mixture CS"


class RevenueReason(StrEnum):
    """Why the conservative amount is what it is."""

    MEASURED = "measured"
    LOWER_BOUND_NOT_POSITIVE = "lower_bound_not_positive"
    SRM_FAILED = "srm_failed"
    INSUFFICIENT_DATA = "insufficient_data"
    UNDEFINED = "undefined"


@dataclass(frozen=True, slots=True)
class IncrementalRevenue:
    """Incremental revenue of a period; floats are statistics, the amount is for billing."""

    method_version: str
    currency: str
    conservative_amount: Decimal
    reason: RevenueReason
    detail: str | None
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    lift_per_unit: float | None
    lift_per_unit_se: float | None
    treated_units: int
    holdout_units: int
    sequential: bool
    alpha: float
    tuning_n: int
    cuped_applied: bool
    srm_p_value: float
    revenue_cap: float | None


def conservative_amount(lower_bound: float, currency: str) -> Decimal:
    """max(0, lower_bound) as a quantized Decimal (0 for NaN)."""
    if math.isnan(lower_bound) or lower_bound <= 0:
        return quantize(Decimal(0), currency)
    return quantize(Decimal(repr(lower_bound)), currency)


def _pick(metric: MetricResult, sequential: bool) -> LiftEstimate | None:
    return metric.absolute_sequential if sequential else metric.absolute


def _refused(metric: MetricResult, srm: SrmResult) -> tuple[RevenueReason, str] | None:
    if not srm.passed:
        return RevenueReason.SRM_FAILED, (
            f"sample ratio mismatch: p = {srm.p_value:.3g} < {srm.threshold}"
        )
    if metric.status is MetricStatus.INSUFFICIENT_DATA:
        return RevenueReason.INSUFFICIENT_DATA, metric.reason or ""
    if metric.status is MetricStatus.UNDEFINED:
        return RevenueReason.UNDEFINED, metric.reason or ""
    return None


def estimate_incremental_revenue(
    holdout: ArmStats,
    treatment: ArmStats,
    *,
    currency: str,
    holdout_share: float,
    options: AnalysisOptions | None = None,
    sequential: bool = True,
    srm_threshold: float = DEFAULT_SRM_THRESHOLD,
    revenue_cap: float | None = None,
) -> IncrementalRevenue:
    """Incremental revenue with its interval and the conservative billable amount.

    ``holdout``/``treatment`` are revenue-per-unit statistics (``n_nonzero`` = buying
    units); ``revenue_cap`` is only recorded (apply it before aggregating).
    """
    check_currency(currency)
    opts = options or AnalysisOptions()
    srm = check_holdout_srm(
        holdout_units=holdout.n,
        treatment_units=treatment.n,
        holdout_share=holdout_share,
        threshold=srm_threshold,
    )
    metric = analyze_metric(holdout, treatment, kind=MetricKind.REVENUE, options=opts)
    lift = _pick(metric, sequential)
    refused = _refused(metric, srm)
    n_t = treatment.n
    reason, detail = refused or (
        (RevenueReason.MEASURED, None)
        if lift is not None and lift.ci_low > 0
        else (RevenueReason.LOWER_BOUND_NOT_POSITIVE, "lower bound of the interval ≤ 0")
    )
    billable = lift is not None and refused is None
    return IncrementalRevenue(
        method_version=METHOD_VERSION,
        currency=currency,
        conservative_amount=conservative_amount(
            lift.ci_low * n_t if billable and lift else 0.0, currency
        ),
        reason=reason,
        detail=detail,
        estimate=lift.estimate * n_t if lift else None,
        ci_low=lift.ci_low * n_t if lift else None,
        ci_high=lift.ci_high * n_t if lift else None,
        lift_per_unit=lift.estimate if lift else None,
        lift_per_unit_se=lift.se if lift else None,
        treated_units=n_t,
        holdout_units=holdout.n,
        sequential=sequential,
        alpha=opts.alpha,
        tuning_n=opts.tuning_n,
        cuped_applied=metric.cuped_applied,
        srm_p_value=srm.p_value,
        revenue_cap=revenue_cap,
    )
