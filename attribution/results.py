"""Stored lift results: one immutable row per computation, the thing invoices reference.

A lift result freezes what a computation saw and concluded: the merchant, the experiment,
the inputs' time range [`period_start`, `period_end`), the method version, the statistics
(as JSON) and the conservative incremental revenue that billing may charge a share of.
Recomputing never edits a row; it adds a newer one. Invoices store the id of the row they
used, so a finalized invoice can always be explained by the exact numbers it was built on.
The migration installs triggers that reject UPDATE and DELETE on both databases.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, Numeric, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from attribution.revenue import IncrementalRevenue
from liftmeter.db import Base
from liftmeter.ids import new_id
from liftmeter.models import utcnow


class LiftResult(Base):
    """One computation of an experiment's lift and incremental revenue over a time range."""

    __tablename__ = "lift_results"
    __table_args__ = (
        Index("ix_lift_results_merchant_period", "merchant_id", "period_start", "period_end"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id"), index=True)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    method_version: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    conservative_amount: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    estimate: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    treated_units: Mapped[int] = mapped_column(Integer)
    holdout_units: Mapped[int] = mapped_column(Integer)
    statistics_json: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def statistics(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.statistics_json)
        return loaded


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else value


def store_lift_result(
    session: Session,
    *,
    merchant_id: str,
    experiment_id: str,
    period_start: datetime,
    period_end: datetime,
    revenue: IncrementalRevenue,
    statistics: Mapping[str, Any] | None = None,
) -> LiftResult:
    """Add one immutable result to the caller's transaction (flushed, not committed)."""
    row = LiftResult(
        id=new_id("lr"),
        merchant_id=merchant_id,
        experiment_id=experiment_id,
        period_start=period_start,
        period_end=period_end,
        computed_at=utcnow(),
        method_version=revenue.method_version,
        currency=revenue.currency,
        reason=str(revenue.reason),
        detail=revenue.detail,
        conservative_amount=revenue.conservative_amount,
        estimate=_finite(revenue.estimate),
        ci_low=_finite(revenue.ci_low),
        ci_high=_finite(revenue.ci_high),
        treated_units=revenue.treated_units,
        holdout_units=revenue.holdout_units,
        statistics_json=json.dumps(dict(statistics or {}), sort_keys=True, default=str),
    )
    session.add(row)
    session.flush()
    return row


def lift_result_for_period(
    session: Session, *, merchant_id: str, period_start: datetime, period_end: datetime
) -> LiftResult | None:
    """The newest stored result covering exactly [period_start, period_end), or None.

    This is billing's read side: the revenue-share line of an invoice for that period
    references the returned row's id and charges a share of its `conservative_amount`.
    """
    query = (
        select(LiftResult)
        .where(
            LiftResult.merchant_id == merchant_id,
            LiftResult.period_start == period_start,
            LiftResult.period_end == period_end,
        )
        .order_by(LiftResult.computed_at.desc(), LiftResult.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
