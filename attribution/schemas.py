"""Wire models of the lift read API (`GET /v1/lift`).

Money (`conservative_amount`) is a decimal string in the result's currency; the
statistics (estimates, intervals, p-values) are floats, as stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from attribution.repository import as_utc
from attribution.results import LiftResult


class LiftResultOut(BaseModel):
    """One stored lift computation (the newest for its experiment and period)."""

    model_config = ConfigDict(frozen=True)

    id: str
    merchant_id: str
    experiment_id: str
    period_start: datetime
    period_end: datetime
    computed_at: datetime
    method_version: str
    currency: str
    reason: str
    detail: str | None
    conservative_amount: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    treated_units: int
    holdout_units: int
    statistics: dict[str, Any]

    @classmethod
    def from_row(cls, row: LiftResult) -> LiftResultOut:
        return cls(
            id=row.id,
            merchant_id=row.merchant_id,
            experiment_id=row.experiment_id,
            period_start=as_utc(row.period_start),
            period_end=as_utc(row.period_end),
            computed_at=as_utc(row.computed_at),
            method_version=row.method_version,
            currency=row.currency,
            reason=row.reason,
            detail=row.detail,
            conservative_amount=format(row.conservative_amount, "f"),
            estimate=row.estimate,
            ci_low=row.ci_low,
            ci_high=row.ci_high,
            treated_units=row.treated_units,
            holdout_units=row.holdout_units,
            statistics=row.statistics,
        )


class LiftPage(BaseModel):
    """Stored results whose period lies in the requested range, oldest period first."""

    data: list[LiftResultOut]
