"""CUPED: regression adjustment on a pre-period covariate (GrowthBook's formulas).

With outcome Y and pre-period covariate X (for example revenue per unit in the weeks
before first exposure, same currency unit):

    θ        = Cov(Y, X) / Var(X), pooled over both arms (sums added, n = n_C + n_T);
               θ = 0 (no adjustment) when the pooled Var(X) or Var(Y) is 0
    adjusted μ̃ = Ȳ − θ X̄                 σ̃² = σ²_Y + θ² σ²_X − 2 θ σ_XY     (per arm)
    absolute Δ = μ̃_T − μ̃_C,               Var = σ̃²_T/n_T + σ̃²_C/n_C
    relative Δr = (μ̃_T − μ̃_C)/|Ȳ_C|       (denominator: the UNadjusted holdout mean)
             Var = σ̃²_T/(n_T Ȳ_C²)
                 + (σ²_YC Ȳ_T²/Ȳ_C² − 2θ σ_XY,C Ȳ_T/Ȳ_C + θ² σ²_XC)/(n_C Ȳ_C²)
    dof      Welch on the adjusted σ̃².

σ²_Y is the metric's own variance (p(1 − p) for conversions); σ²_X and σ_XY use n − 1.
The variance reduction is about 1 − ρ² where ρ is the correlation of X and Y. Because
X is measured before exposure, θ does not depend on the arm and the estimate stays
unbiased.
"""

from __future__ import annotations

from dataclasses import dataclass

from attribution.errors import UndefinedStatistic
from attribution.lift import LiftEstimate, MetricKind, arm_variance, t_interval, welch_dof
from attribution.sufficient import ArmStats


@dataclass(frozen=True, slots=True)
class AdjustedArm:
    """One arm after CUPED: adjusted mean μ̃ and per-unit variance σ̃²."""

    mean: float
    variance: float
    n: int


def cuped_theta(control: ArmStats, treatment: ArmStats) -> float:
    """θ = pooled Cov(Y, X)/Var(X); 0 when either pooled variance is 0."""
    pooled = control + treatment
    if pooled.var_x <= 0 or pooled.var_y <= 0:
        return 0.0
    return pooled.cov_xy / pooled.var_x


def adjust_arm(arm: ArmStats, *, theta: float, kind: MetricKind) -> AdjustedArm:
    """μ̃ = Ȳ − θX̄ and σ̃² = σ²_Y + θ²σ²_X − 2θσ_XY for one arm."""
    variance = arm_variance(arm, kind) + theta**2 * arm.var_x - 2.0 * theta * arm.cov_xy
    return AdjustedArm(arm.mean_y - theta * arm.mean_x, max(variance, 0.0), arm.n)


def _adjusted(
    control: ArmStats, treatment: ArmStats, kind: MetricKind
) -> tuple[float, AdjustedArm, AdjustedArm]:
    if control.n < 2 or treatment.n < 2:
        raise UndefinedStatistic("each arm needs at least two units", param="n")
    theta = cuped_theta(control, treatment)
    return (
        theta,
        adjust_arm(control, theta=theta, kind=kind),
        adjust_arm(treatment, theta=theta, kind=kind),
    )


def cuped_absolute_lift(
    control: ArmStats, treatment: ArmStats, *, kind: MetricKind, alpha: float = 0.05
) -> LiftEstimate:
    """CUPED-adjusted Δ = μ̃_T − μ̃_C with a Welch t interval."""
    _, adj_c, adj_t = _adjusted(control, treatment, kind)
    return t_interval(
        estimate=adj_t.mean - adj_c.mean,
        variance=adj_t.variance / adj_t.n + adj_c.variance / adj_c.n,
        dof=welch_dof(adj_c.variance, adj_c.n, adj_t.variance, adj_t.n),
        alpha=alpha,
    )


def cuped_relative_lift(
    control: ArmStats, treatment: ArmStats, *, kind: MetricKind, alpha: float = 0.05
) -> LiftEstimate:
    """CUPED-adjusted Δr = (μ̃_T − μ̃_C)/|Ȳ_C| with the delta-method variance above."""
    theta, adj_c, adj_t = _adjusted(control, treatment, kind)
    y_c, y_t = control.mean_y, treatment.mean_y
    if y_c == 0:
        raise UndefinedStatistic("holdout mean is zero; relative lift is undefined", param="mean")
    ratio = y_t / y_c
    control_part = (
        arm_variance(control, kind) * ratio**2
        - 2.0 * theta * control.cov_xy * ratio
        + theta**2 * control.var_x
    )
    variance = adj_t.variance / (adj_t.n * y_c**2) + control_part / (control.n * y_c**2)
    return t_interval(
        estimate=(adj_t.mean - adj_c.mean) / abs(y_c),
        variance=variance,
        dof=welch_dof(adj_c.variance, adj_c.n, adj_t.variance, adj_t.n),
        alpha=alpha,
    )
