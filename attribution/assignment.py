"""Deterministic experiment assignment: the published liftmeter hash.

Storefronts may compute the arm themselves; this docstring is the specification.

Algorithm (identical to GrowthBook's hash version 2, so its SDKs agree with liftmeter):

1. ``seed = merchant_id + ":" + experiment_id``.
2. ``fnv1a32(text)``: 32-bit FNV-1a over the UTF-16 code units of ``text`` (what
   JavaScript's ``charCodeAt`` returns; ASCII ids give their byte values)::

       h = 0x811C9DC5
       for unit in utf16_code_units(text):
           h = h XOR unit
           h = (h * 0x01000193) mod 2**32

3. ``bucket = fnv1a32(decimal_string(fnv1a32(seed + unit_id))) mod 10000 / 10000``,
   a number in [0, 1) on a grid of 1/10000; ``decimal_string`` is the base-10 text of the
   unsigned integer with no sign, padding or separators.
4. ``arm = "holdout" if bucket < holdout_share else "treatment"``: the holdout is the
   bucket range [0, holdout_share), the treatment [holdout_share, 1).

The same unit in the same experiment always gets the same arm, whatever the order or
number of calls. Different experiments of one merchant hash independently because the
seed differs. Holdout shares are resolved to 1/10000.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from liftmeter.errors import ValidationFailed

FNV_OFFSET_BASIS = 0x811C9DC5
FNV_PRIME = 0x01000193
BUCKET_RESOLUTION = 10_000
_MASK32 = 0xFFFFFFFF


class Arm(StrEnum):
    """The two arms of a liftmeter experiment."""

    TREATMENT = "treatment"
    HOLDOUT = "holdout"


def experiment_seed(merchant_id: str, experiment_id: str) -> str:
    """The hash seed of one experiment: ``merchant_id + ":" + experiment_id``."""
    return f"{merchant_id}:{experiment_id}"


def _utf16_units(text: str) -> list[int]:
    raw = text.encode("utf-16-le")
    return [raw[i] | (raw[i + 1] << 8) for i in range(0, len(raw), 2)]


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a of the UTF-16 code units of ``text`` (an unsigned int)."""
    h = FNV_OFFSET_BASIS
    for unit in _utf16_units(text):
        h = ((h ^ unit) * FNV_PRIME) & _MASK32
    return h


def bucket(seed: str, unit_id: str) -> float:
    """The unit's position in [0, 1): ``fnv1a32(str(fnv1a32(seed + unit_id))) % 10000 / 10000``."""
    return (fnv1a32(str(fnv1a32(seed + unit_id))) % BUCKET_RESOLUTION) / BUCKET_RESOLUTION


def _check_share(holdout_share: float) -> None:
    if not 0.0 < holdout_share < 1.0:
        raise ValidationFailed("must be strictly between 0 and 1", param="holdout_share")


def assign_arm(*, merchant_id: str, experiment_id: str, unit_id: str, holdout_share: float) -> Arm:
    """The arm of ``unit_id``: holdout when its bucket is below ``holdout_share``."""
    _check_share(holdout_share)
    value = bucket(experiment_seed(merchant_id, experiment_id), unit_id)
    return Arm.HOLDOUT if value < holdout_share else Arm.TREATMENT


def fnv1a32_many(texts: Sequence[str]) -> NDArray[np.uint32]:
    """Vectorised `fnv1a32` over many strings (same values, numpy speed)."""
    if not texts:
        return np.zeros(0, dtype=np.uint32)
    codes = [np.frombuffer(t.encode("utf-16-le"), dtype="<u2") for t in texts]
    lengths = np.array([c.size for c in codes])
    matrix = np.zeros((len(texts), int(lengths.max(initial=0))), dtype=np.uint64)
    for row, units in enumerate(codes):
        matrix[row, : units.size] = units
    h = np.full(len(texts), FNV_OFFSET_BASIS, dtype=np.uint64)
    for col in range(matrix.shape[1]):
        stepped = ((h ^ matrix[:, col]) * np.uint64(FNV_PRIME)) & np.uint64(_MASK32)
        h = np.where(col < lengths, stepped, h)
    return h.astype(np.uint32)


def buckets_many(seed: str, unit_ids: Sequence[str]) -> NDArray[np.float64]:
    """Vectorised `bucket` for many units of one experiment."""
    first = fnv1a32_many([seed + unit_id for unit_id in unit_ids])
    second = fnv1a32_many([str(int(v)) for v in first])
    return (second % BUCKET_RESOLUTION).astype(np.float64) / BUCKET_RESOLUTION


def assign_arms(
    *, merchant_id: str, experiment_id: str, unit_ids: Sequence[str], holdout_share: float
) -> list[Arm]:
    """Vectorised `assign_arm` for many units of one experiment, in input order."""
    _check_share(holdout_share)
    values = buckets_many(experiment_seed(merchant_id, experiment_id), unit_ids)
    return [Arm.HOLDOUT if v < holdout_share else Arm.TREATMENT for v in values]
