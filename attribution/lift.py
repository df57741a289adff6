"""Absolute and relative lift with fixed-horizon confidence intervals.

Formulas (GrowthBook's frequentist engine; T = treatment, C = holdout/control):

    per arm          μ = Σy/n
                     σ² = μ(1 − μ)                  conversion (proportion) metrics
                     σ² = (Σy² − (Σy)²/n)/(n − 1)   revenue (mean) metrics
    absolute lift    Δa = μ_T − μ_C,     Var = σ²_T/n_T + σ²_C/n_C
    relative lift    Δr = (μ_T − μ_C)/|μ_C|   (delta method, arms independent)
                     Var = σ²_T/(n_T μ_C²) + σ²_C μ_T²/(n_C μ_C⁴)
    Welch dof        ν = (σ²_T/n_T + σ²_C/n_C)² / (σ⁴_T/(n_T²(n_T−1)) + σ⁴_C/(n_C²(n_C−1)))
    interval         Δ ± t_{1−α/2, ν} · √Var
    p-value          2 · (1 − F_t(|Δ|/√Var; ν))

Units: absolute lift is in the metric's unit per unit of randomisation (conversions per
visitor, currency per visitor); relative lift is a fraction (0.05 = +5 %). ν always comes
from the per-unit variances, also for the relative lift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from scipy import stats

from attribution.errors import UndefinedStatistic
from attribution.sufficient import ArmStats


class MetricKind(StrEnum):
    """Conversion rate per unit (0/1 outcome) or revenue per unit (non-negative amount)."""

    CONVERSION = "conversion"
    REVENUE = "revenue"


@dataclass(frozen=True, slots=True)
class LiftEstimate:
    """A point estimate with its standard error, interval and two-sided p-value."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    dof: float
    alpha: float
    sequential: bool = False


def arm_variance(arm: ArmStats, kind: MetricKind) -> float:
    """Per-unit variance σ² of the outcome in one arm (see module docstring)."""
    if kind is MetricKind.CONVERSION:
        p = arm.mean_y
        return p * (1.0 - p)
    return arm.var_y


def welch_dof(var_c: float, n_c: int, var_t: float, n_t: int) -> float:
    """Welch–Satterthwaite degrees of freedom from per-unit variances and counts."""
    num = (var_t / n_t + var_c / n_c) ** 2
    den = var_t**2 / (n_t**2 * (n_t - 1)) + var_c**2 / (n_c**2 * (n_c - 1))
    return num / den if den > 0 else math.inf


def t_interval(*, estimate: float, variance: float, dof: float, alpha: float) -> LiftEstimate:
    """Two-sided t interval and p-value for ``estimate`` with ``variance``."""
    if not variance > 0:
        raise UndefinedStatistic("variance of the estimate is not positive", param="variance")
    se = math.sqrt(variance)
    half = float(stats.t.ppf(1.0 - alpha / 2.0, dof)) * se
    p_value = float(2.0 * stats.t.sf(abs(estimate) / se, dof))
    return LiftEstimate(estimate, se, estimate - half, estimate + half, p_value, dof, alpha)


def _check_arms(control: ArmStats, treatment: ArmStats) -> None:
    if control.n < 2 or treatment.n < 2:
        raise UndefinedStatistic("each arm needs at least two units", param="n")


def absolute_lift(
    control: ArmStats, treatment: ArmStats, *, kind: MetricKind, alpha: float = 0.05
) -> LiftEstimate:
    """Δa = μ_T − μ_C with a Welch t interval."""
    _check_arms(control, treatment)
    var_c, var_t = arm_variance(control, kind), arm_variance(treatment, kind)
    return t_interval(
        estimate=treatment.mean_y - control.mean_y,
        variance=var_t / treatment.n + var_c / control.n,
        dof=welch_dof(var_c, control.n, var_t, treatment.n),
        alpha=alpha,
    )


def variance_of_ratio(
    mean_num: float, var_num: float, mean_den: float, var_den: float, cov: float = 0.0
) -> float:
    """Delta-method variance of m/d: vm/d² + vd·m²/d⁴ − 2·c·m/d³ (vm, vd, c of the means)."""
    return (
        var_num / mean_den**2
        + var_den * mean_num**2 / mean_den**4
        - 2.0 * cov * mean_num / mean_den**3
    )


def relative_lift(
    control: ArmStats, treatment: ArmStats, *, kind: MetricKind, alpha: float = 0.05
) -> LiftEstimate:
    """Δr = (μ_T − μ_C)/|μ_C| with a delta-method Welch t interval."""
    _check_arms(control, treatment)
    mu_c, mu_t = control.mean_y, treatment.mean_y
    if mu_c == 0:
        raise UndefinedStatistic("holdout mean is zero; relative lift is undefined", param="mean")
    var_c, var_t = arm_variance(control, kind), arm_variance(treatment, kind)
    variance = variance_of_ratio(mu_t, var_t / treatment.n, mu_c, var_c / control.n)
    return t_interval(
        estimate=(mu_t - mu_c) / abs(mu_c),
        variance=variance,
        dof=welch_dof(var_c, control.n, var_t, treatment.n),
        alpha=alpha,
    )


def with_interval(
    base: LiftEstimate, *, ci_low: float, ci_high: float, p_value: float
) -> LiftEstimate:
    """A copy of ``base`` with another interval (used by the sequential module)."""
    return replace(base, ci_low=ci_low, ci_high=ci_high, p_value=p_value, sequential=True)
