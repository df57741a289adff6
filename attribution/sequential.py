"""Always-valid (sequential) confidence intervals for repeated looks.

Billing looks at the same cumulative experiment every period; a fixed-horizon interval
checked monthly has a false-positive rate well above α. A confidence sequence keeps
P(the true lift is ever outside the interval) ≤ α over all looks.

liftmeter uses the asymptotic mixture-of-normals confidence sequence of Howard et al.
(2021) / Waudby-Smith et al. (2023), as GrowthBook does. With N = n_C + n_T units,
the fixed-horizon standard error SE of the estimate, and s² = SE² · N:

    ρ  = sqrt((−2 ln α + ln(−2 ln α + 1)) / N*)
    hw = s · sqrt( 2 (N ρ² + 1) · ln( sqrt(N ρ² + 1) / α ) / (N² ρ²) )
    interval = Δ ± hw
    p  = min(1, 1/e),  e = exp(ρ² S² / (2 (N ρ² + 1))) / sqrt(N ρ² + 1),  S² = N Δ² / SE²

Tuning parameter N* (``tuning_n``, default 5000 units): the total sample size at which
the sequence is tightest relative to a fixed-horizon interval. Choose it near the
number of units expected at the first look that matters; the width is not very
sensitive to it (within a factor of ~10). It must be fixed before the first look.

The sequence is asymptotic: it needs a burn-in, which liftmeter's minimum-data rule
(≥ 100 converting units per arm) provides; with fewer, false positives rise.
"""

from __future__ import annotations

import math

from attribution.lift import LiftEstimate, with_interval

DEFAULT_TUNING_N = 5000


def sequential_rho(*, alpha: float, tuning_n: int = DEFAULT_TUNING_N) -> float:
    """Mixture scale ρ = sqrt((−2 ln α + ln(−2 ln α + 1)) / N*)."""
    log_term = -2.0 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1.0)) / tuning_n)


def sequential_halfwidth(
    *, se: float, n_total: int, alpha: float, tuning_n: int = DEFAULT_TUNING_N
) -> float:
    """Half-width of the always-valid interval around an estimate with standard error ``se``."""
    rho = sequential_rho(alpha=alpha, tuning_n=tuning_n)
    s = se * math.sqrt(n_total)
    growth = n_total * rho**2 + 1.0
    return s * math.sqrt(2.0 * growth * math.log(math.sqrt(growth) / alpha) / (n_total**2 * rho**2))


def sequential_p_value(
    *, estimate: float, se: float, n_total: int, alpha: float, tuning_n: int = DEFAULT_TUNING_N
) -> float:
    """Always-valid p-value min(1, 1/e) of the mixture e-value for Δ = 0."""
    rho = sequential_rho(alpha=alpha, tuning_n=tuning_n)
    growth = n_total * rho**2 + 1.0
    stat2 = n_total * estimate**2 / se**2
    log_e = rho**2 * stat2 / (2.0 * growth) - 0.5 * math.log(growth)
    return 1.0 if log_e <= 0 else min(1.0, math.exp(-log_e))


def sequential_interval(
    base: LiftEstimate, *, n_total: int, tuning_n: int = DEFAULT_TUNING_N
) -> LiftEstimate:
    """``base`` with its interval and p-value replaced by the always-valid ones."""
    half = sequential_halfwidth(se=base.se, n_total=n_total, alpha=base.alpha, tuning_n=tuning_n)
    p_value = sequential_p_value(
        estimate=base.estimate, se=base.se, n_total=n_total, alpha=base.alpha, tuning_n=tuning_n
    )
    return with_interval(
        base, ci_low=base.estimate - half, ci_high=base.estimate + half, p_value=p_value
    )
