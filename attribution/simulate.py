"""Seeded simulation of experiments with a known true lift (tests, demos, calibration).

Data-generating process for one experiment (`simulate_experiment`), per unit i:

    z_i        ~ N(0, 1)                        latent propensity of the visitor
    p_i        = min(p0 · exp(s z_i − s²/2), 0.5)     baseline conversion probability,
                                                      E[p_i] ≈ p0 (s = ``propensity_sd``)
    arm_i      by the published hash (`attribution.assignment`) of the unit id
    converted  ~ Bernoulli(min(1, p_i · (1 + L_i · T_i)))   L_i = true relative lift of
               the unit's category (or ``true_relative_lift``; 0 in an A/A test)
    revenue    = converted · LogNormal(μ + b z_i, σ)       order value, heavy-tailed
    pre-period orders ~ Poisson(k · p_i), pre_revenue = Σ LogNormal(μ + b z_i, σ)
               (k = ``pre_periods`` windows of history, before any exposure), which is
               correlated with the outcome through z_i — the signal CUPED uses.

Truth returned with the data (conditional on the simulated units):

    true incremental conversions = Σ_{i ∈ T} (p_i^T − p_i)
    true incremental revenue     = Σ_{i ∈ T} (p_i^T − p_i) · exp(μ + b z_i + σ²/2)

Money here is float currency units: simulated data are statistics inputs, not invoices.

`simulate_arm_totals` is the fast path for calibration studies: the sufficient statistics
of many independent experiments at once (homogeneous population, no per-unit table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from attribution.assignment import Arm, buckets_many, experiment_seed
from attribution.sufficient import ArmStats

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Parameters of `simulate_experiment` (see module docstring for the model)."""

    n_units: int = 20_000
    holdout_share: float = 0.5
    base_conversion: float = 0.05
    true_relative_lift: float = 0.10
    aa: bool = False
    revenue_log_mean: float = 3.0
    revenue_log_sd: float = 1.2
    value_propensity_link: float = 0.5
    propensity_sd: float = 1.2
    pre_periods: float = 8.0
    category_lifts: Mapping[str, float] = field(default_factory=dict)
    merchant_id: str = "merchant-sim"
    experiment_id: str = "experiment-sim"
    days: int = 28
    window_days: int = 7
    with_events: bool = False
    seed: int = 0


@dataclass(frozen=True, slots=True)
class SimulatedExperiment:
    """Per-unit table, optional event table, and the true values behind them."""

    units: pd.DataFrame
    events: pd.DataFrame | None
    true_relative_lift: float
    true_incremental_conversions: float
    true_incremental_revenue: float
    category_lifts: Mapping[str, float]


def _unit_lifts(config: SimulationConfig, rng: np.random.Generator) -> tuple[FloatArray, list[str]]:
    if config.aa:
        return np.zeros(config.n_units), ["all"] * config.n_units
    if not config.category_lifts:
        return np.full(config.n_units, config.true_relative_lift), ["all"] * config.n_units
    names = sorted(config.category_lifts)
    picks = rng.integers(0, len(names), size=config.n_units)
    lifts = np.array([config.category_lifts[n] for n in names])[picks]
    return lifts.astype(np.float64), [names[i] for i in picks]


def _sum_lognormal_orders(
    rng: np.random.Generator, counts: IntArray, log_means: FloatArray, sd: float
) -> FloatArray:
    owner = np.repeat(np.arange(counts.size), counts)
    draws = rng.lognormal(log_means[owner], sd)
    return np.bincount(owner, weights=draws, minlength=counts.size).astype(np.float64)


def _assign(config: SimulationConfig, unit_ids: list[str]) -> NDArray[np.bool_]:
    seed = experiment_seed(config.merchant_id, config.experiment_id)
    return buckets_many(seed, unit_ids) >= config.holdout_share


def simulate_experiment(config: SimulationConfig) -> SimulatedExperiment:
    """One experiment drawn from the model in the module docstring (seeded)."""
    rng = np.random.default_rng(config.seed)
    n, s = config.n_units, config.propensity_sd
    unit_ids = [f"visitor-{i:07d}" for i in range(n)]
    treated = _assign(config, unit_ids)
    z = rng.standard_normal(n)
    p_base = np.minimum(config.base_conversion * np.exp(s * z - s * s / 2), 0.5)
    lifts, categories = _unit_lifts(config, rng)
    p_actual = np.where(treated, np.minimum(1.0, p_base * (1.0 + lifts)), p_base)
    converted = rng.random(n) < p_actual
    log_means = config.revenue_log_mean + config.value_propensity_link * z
    order_value = rng.lognormal(log_means, config.revenue_log_sd)
    pre_orders = rng.poisson(config.pre_periods * p_base).astype(np.int64)
    pre_revenue = _sum_lognormal_orders(rng, pre_orders, log_means, config.revenue_log_sd)
    units = pd.DataFrame(
        {
            "unit_id": unit_ids,
            "arm": np.where(treated, Arm.TREATMENT.value, Arm.HOLDOUT.value),
            "category": categories,
            "converted": converted.astype(np.int64),
            "revenue": np.where(converted, order_value, 0.0),
            "pre_revenue": pre_revenue,
        }
    )
    expected_value = np.exp(log_means + config.revenue_log_sd**2 / 2)
    extra = np.where(treated, p_actual - p_base, 0.0)
    return SimulatedExperiment(
        units=units,
        events=_events(units, config, rng) if config.with_events else None,
        true_relative_lift=0.0 if config.aa else config.true_relative_lift,
        true_incremental_conversions=float(extra.sum()),
        true_incremental_revenue=float((extra * expected_value).sum()),
        category_lifts=dict(config.category_lifts),
    )


def _timestamps(seconds: FloatArray) -> pd.DatetimeIndex:
    return pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s")


def _events(
    units: pd.DataFrame, config: SimulationConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Exposure events (first exposure uniform over the run) and conversions inside the window."""
    n = len(units)
    exposed_s = rng.uniform(0, config.days * 86_400, size=n)
    delay_s = rng.uniform(0, config.window_days * 86_400, size=n)
    exposures = pd.DataFrame(
        {
            "unit_id": units["unit_id"],
            "arm": units["arm"],
            "event_type": "exposure",
            "occurred_at": _timestamps(exposed_s),
            "revenue": 0.0,
        }
    )
    bought = units["converted"].to_numpy() == 1
    conversions = pd.DataFrame(
        {
            "unit_id": units["unit_id"][bought],
            "arm": units["arm"][bought],
            "event_type": "conversion",
            "occurred_at": _timestamps((exposed_s + delay_s)[bought]),
            "revenue": units["revenue"][bought],
        }
    )
    events = pd.concat([exposures, conversions], ignore_index=True)
    return events.sort_values("occurred_at", kind="stable").reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class ArmTotals:
    """Sufficient statistics of one arm in many simulated experiments (arrays, one per run)."""

    n: IntArray
    conversions: IntArray
    revenue_sum: FloatArray
    revenue_sum2: FloatArray

    def __add__(self, other: ArmTotals) -> ArmTotals:
        return ArmTotals(
            self.n + other.n,
            self.conversions + other.conversions,
            self.revenue_sum + other.revenue_sum,
            self.revenue_sum2 + other.revenue_sum2,
        )

    def conversion_stats(self, run: int) -> ArmStats:
        """`ArmStats` of the 0/1 conversion metric in experiment ``run``."""
        c = float(self.conversions[run])
        return ArmStats(n=int(self.n[run]), sum_y=c, sum_y2=c, n_nonzero=int(c))

    def revenue_stats(self, run: int) -> ArmStats:
        """`ArmStats` of revenue per unit in experiment ``run``."""
        return ArmStats(
            n=int(self.n[run]),
            sum_y=float(self.revenue_sum[run]),
            sum_y2=float(self.revenue_sum2[run]),
            n_nonzero=int(self.conversions[run]),
        )


def simulate_arm_totals(
    rng: np.random.Generator,
    *,
    runs: int,
    units: int,
    conversion: float,
    revenue_log_mean: float = 3.0,
    revenue_log_sd: float = 1.2,
) -> ArmTotals:
    """Totals of one arm in ``runs`` independent experiments of ``units`` units each.

    Each unit converts with probability ``conversion`` and then spends a
    LogNormal(``revenue_log_mean``, ``revenue_log_sd``) amount; vectorised over runs.
    """
    conversions = rng.binomial(units, conversion, size=runs).astype(np.int64)
    owner = np.repeat(np.arange(runs), conversions)
    values = rng.lognormal(revenue_log_mean, revenue_log_sd, size=owner.size)
    return ArmTotals(
        n=np.full(runs, units, dtype=np.int64),
        conversions=conversions,
        revenue_sum=np.bincount(owner, weights=values, minlength=runs).astype(np.float64),
        revenue_sum2=np.bincount(owner, weights=values**2, minlength=runs).astype(np.float64),
    )
