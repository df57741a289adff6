"""Revenue outlier capping (winsorisation) at a pooled percentile.

Per-unit revenue is heavy-tailed: one wholesale order can move a holdout mean more than
the whole lift. Before the statistics, per-unit revenue (currency units, one value per
unit over its attribution window) is capped:

    cap      = the `percentile` (default 99.9) of the NON-ZERO per-unit values of BOTH arms
               pooled (linear interpolation, numpy's default). Zeros are ignored so the
               cap does not collapse to 0 when most units never buy; pooling keeps one
               cap for both arms so capping cannot create a difference between them.
    capped y = min(y, cap)

The cap is computed on the experiment's own data for the analysed period and must be
recorded with the result (billing stores it with the invoice). Capping trades a small
bias (towards 0 when the lift lives in the tail) for a much smaller variance; the
uncapped numbers should be shown next to the capped ones. Negative values (refunds) are
not capped here; they are netted or rejected upstream.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from liftmeter.errors import ValidationFailed

DEFAULT_CAP_PERCENTILE = 99.9


def revenue_cap(values: ArrayLike, *, percentile: float = DEFAULT_CAP_PERCENTILE) -> float | None:
    """The pooled cap: ``percentile`` of the non-zero values; None when all are zero."""
    if not 0.0 < percentile <= 100.0:
        raise ValidationFailed("must be in (0, 100]", param="percentile")
    data = np.asarray(values, dtype=np.float64)
    nonzero = data[data != 0]
    if nonzero.size == 0:
        return None
    return float(np.percentile(nonzero, percentile))


def cap_revenue(values: ArrayLike, cap: float | None) -> NDArray[np.float64]:
    """Per-unit values with everything above ``cap`` replaced by ``cap`` (no-op when None)."""
    data = np.asarray(values, dtype=np.float64)
    return data.copy() if cap is None else np.minimum(data, cap)
