"""Per-arm sufficient statistics: the only input the lift statistics need.

For one arm with outcome ``y`` (conversion 0/1 or revenue per unit, in currency units) and
an optional pre-period covariate ``x`` (same unit as ``y``; 0 when absent):

    n         number of units
    sum_y     Σ y            sum_y2  Σ y²
    sum_x     Σ x            sum_x2  Σ x²          sum_xy  Σ x·y
    n_nonzero number of units with y ≠ 0 (the converting units)

SQL produces exactly these per arm (``count(*)``, ``sum(y)``, ``sum(y*y)``, ...,
``count(*) filter (where y <> 0)``). They are additive, so shards and days combine with
``+``. Moments derived here use the unbiased (n − 1) denominators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from attribution.assignment import Arm
from liftmeter.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class ArmStats:
    """Sufficient statistics of one arm for one metric (see module docstring)."""

    n: int
    sum_y: float
    sum_y2: float
    sum_x: float = 0.0
    sum_x2: float = 0.0
    sum_xy: float = 0.0
    n_nonzero: int | None = None

    def __add__(self, other: ArmStats) -> ArmStats:
        nonzero = (
            None
            if self.n_nonzero is None or other.n_nonzero is None
            else self.n_nonzero + other.n_nonzero
        )
        return ArmStats(
            n=self.n + other.n,
            sum_y=self.sum_y + other.sum_y,
            sum_y2=self.sum_y2 + other.sum_y2,
            sum_x=self.sum_x + other.sum_x,
            sum_x2=self.sum_x2 + other.sum_x2,
            sum_xy=self.sum_xy + other.sum_xy,
            n_nonzero=nonzero,
        )

    @property
    def mean_y(self) -> float:
        return self.sum_y / self.n

    @property
    def mean_x(self) -> float:
        return self.sum_x / self.n

    @property
    def var_y(self) -> float:
        """Sample variance of y, (Σy² − (Σy)²/n)/(n − 1)."""
        return max(_sample_cov(self.sum_y2, self.sum_y, self.sum_y, self.n), 0.0)

    @property
    def var_x(self) -> float:
        """Sample variance of x."""
        return max(_sample_cov(self.sum_x2, self.sum_x, self.sum_x, self.n), 0.0)

    @property
    def cov_xy(self) -> float:
        """Sample covariance of x and y, (Σxy − ΣxΣy/n)/(n − 1)."""
        return _sample_cov(self.sum_xy, self.sum_x, self.sum_y, self.n)


def _sample_cov(sum_ab: float, sum_a: float, sum_b: float, n: int) -> float:
    if n < 2:
        return 0.0
    return (sum_ab - sum_a * sum_b / n) / (n - 1)


def arm_stats_from_arrays(y: ArrayLike, x: ArrayLike | None = None) -> ArmStats:
    """Sufficient statistics of one arm from per-unit outcomes ``y`` and covariate ``x``."""
    ys = np.asarray(y, dtype=np.float64)
    xs = np.zeros_like(ys) if x is None else np.asarray(x, dtype=np.float64)
    if xs.shape != ys.shape:
        raise ValidationFailed("covariate and outcome lengths differ", param="x")
    return ArmStats(
        n=int(ys.size),
        sum_y=float(ys.sum()),
        sum_y2=float(ys @ ys),
        sum_x=float(xs.sum()),
        sum_x2=float(xs @ xs),
        sum_xy=float(xs @ ys),
        n_nonzero=int(np.count_nonzero(ys)),
    )


def arm_stats_by_arm(
    frame: pd.DataFrame,
    *,
    outcome_col: str,
    arm_col: str = "arm",
    covariate_col: str | None = None,
) -> dict[Arm, ArmStats]:
    """Per-arm statistics of a per-unit table whose ``arm_col`` holds `Arm` values."""
    result: dict[Arm, ArmStats] = {}
    for arm in Arm:
        rows = frame[frame[arm_col] == arm.value]
        x = None if covariate_col is None else rows[covariate_col].to_numpy()
        result[arm] = arm_stats_from_arrays(rows[outcome_col].to_numpy(), x)
    return result
