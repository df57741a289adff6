"""Sample-ratio-mismatch (SRM) check: were units split in the configured proportions?

Pearson chi-square goodness of fit over the arms:

    e_i = w_i / Σw · Σo          (expected units in arm i; arms with w_i ≤ 0 are skipped)
    X²  = Σ (o_i − e_i)² / e_i,   p = P(χ²_{k−1} > X²)

The check fails when p < threshold (default 0.001, GrowthBook's default): with that
threshold a correct split fails once in a thousand experiments, while a real mismatch
(a broken hash, bots, lost exposures in one arm) is caught quickly at large n. A failed
check means the lift cannot be trusted and nothing is billed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from liftmeter.errors import ValidationFailed

DEFAULT_SRM_THRESHOLD = 0.001


@dataclass(frozen=True, slots=True)
class SrmResult:
    """Outcome of the SRM check: statistic, p-value and whether the split looks right."""

    chi2: float
    p_value: float
    threshold: float
    passed: bool
    observed: tuple[int, ...]
    expected: tuple[float, ...]


def check_srm(
    observed: Sequence[int], weights: Sequence[float], *, threshold: float = DEFAULT_SRM_THRESHOLD
) -> SrmResult:
    """Chi-square test of ``observed`` unit counts against the configured ``weights``."""
    if len(observed) != len(weights) or len(observed) < 2:
        raise ValidationFailed("need matching counts and weights for ≥ 2 arms", param="weights")
    pairs = [(o, w) for o, w in zip(observed, weights, strict=True) if w > 0]
    total_w, total_o = sum(w for _, w in pairs), sum(o for o, _ in pairs)
    if total_o == 0:
        return SrmResult(0.0, 1.0, threshold, True, tuple(observed), tuple(0.0 for _ in weights))
    expected = [w / total_w * total_o for _, w in pairs]
    chi2 = sum((o - e) ** 2 / e for (o, _), e in zip(pairs, expected, strict=True))
    p_value = float(stats.chi2.sf(chi2, len(pairs) - 1))
    return SrmResult(
        chi2, p_value, threshold, p_value >= threshold, tuple(observed), tuple(expected)
    )


def check_holdout_srm(
    *,
    holdout_units: int,
    treatment_units: int,
    holdout_share: float,
    threshold: float = DEFAULT_SRM_THRESHOLD,
) -> SrmResult:
    """SRM check of a two-arm experiment whose holdout gets ``holdout_share`` of units."""
    if not 0.0 < holdout_share < 1.0:
        raise ValidationFailed("must be strictly between 0 and 1", param="holdout_share")
    return check_srm(
        [holdout_units, treatment_units], [holdout_share, 1.0 - holdout_share], threshold=threshold
    )
