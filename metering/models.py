"""Tables of the usage ledger: raw call rows, hourly aggregates, closed periods, adjustments.

- `usage_calls`: one row per metered call, unique on `event_id` (the dedupe key). It is the
  source of truth; `liftmeter metering rebuild` recomputes the aggregates from it.
- `usage_hourly`: per merchant × meter × dimensions (model, cache hit, risk verdict) and UTC
  hour, integer counters. Invoices and the read API use these.
- `closed_periods`: billing writes one when it finalizes an invoice (`close_period`); from
  then on a late event for that period no longer changes `usage_hourly`.
- `usage_adjustments`: late events for a closed period, pending until the next invoice
  settles them. Nothing is dropped and nothing is added to a closed period silently.

Counters are integers, never floats. `cached_tokens` sums only the calls whose cached
token count is known; `cached_tokens_unknown_calls` counts the others, so "unknown" is
never summed as 0.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from liftmeter.db import Base
from liftmeter.models import BigId, utcnow

METER_DESCRIPTIONS = "descriptions"
"""The one meter so far: description calls (the `CallCompleted` events)."""

DIMENSIONS: tuple[str, ...] = ("model", "cache_hit", "risk_verdict")
"""Dimensions a usage query may group by. `CallCompleted` carries no experiment arm."""

MEASURES: tuple[str, ...] = (
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cached_tokens_unknown_calls",
    "blocked_calls",
    "flagged_calls",
    "failed_calls",
)
"""Integer counters kept per hour; every one of them is additive."""


class Disposition(StrEnum):
    """Where a raw call row was counted."""

    HOURLY = "hourly"
    ADJUSTMENT = "adjustment"


def _counter() -> Mapped[int]:
    return mapped_column(BigInteger, default=0)


class _Measures:
    """The additive counters shared by aggregates and adjustments."""

    calls: Mapped[int] = _counter()
    prompt_tokens: Mapped[int] = _counter()
    completion_tokens: Mapped[int] = _counter()
    cached_tokens: Mapped[int] = _counter()
    cached_tokens_unknown_calls: Mapped[int] = _counter()
    blocked_calls: Mapped[int] = _counter()
    flagged_calls: Mapped[int] = _counter()
    failed_calls: Mapped[int] = _counter()


class UsageCall(Base):
    """One metered call, as delivered by its `CallCompleted` event (kept for rebuilds)."""

    __tablename__ = "usage_calls"
    # The only reads by merchant and hour are billing's of review calls; an index over every
    # call would be written on each insert (the metering hot path) for reads that scan anyway.
    __table_args__ = (
        Index(
            "ix_usage_calls_review",
            "hour_start",
            "merchant_id",
            postgresql_where=text("risk_verdict = 'review'"),
            sqlite_where=text("risk_verdict = 'review'"),
        ),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hour_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    call_id: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(128))
    cache_hit: Mapped[bool] = mapped_column(Boolean)
    risk_verdict: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    cached_tokens: Mapped[int | None] = mapped_column(BigInteger)
    disposition: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UsageHourly(_Measures, Base):
    """Usage of one merchant, meter and dimension combination in one UTC hour."""

    __tablename__ = "usage_hourly"
    __table_args__ = (Index("ix_usage_hourly_hour", "hour_start"),)

    merchant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    meter: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    cache_hit: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    risk_verdict: Mapped[str] = mapped_column(String(16), primary_key=True)


class ClosedPeriod(Base):
    """A merchant's billing period whose invoice is finalized: its usage is frozen."""

    __tablename__ = "closed_periods"
    __table_args__ = (CheckConstraint("period_end > period_start", name="positive_length"),)

    merchant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UsageAdjustment(_Measures, Base):
    """A late call for a closed period, pending until an invoice settles it."""

    __tablename__ = "usage_adjustments"
    __table_args__ = (Index("ix_usage_adjustments_pending", "merchant_id", "settled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    merchant_id: Mapped[str] = mapped_column(String(64))
    hour_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    meter: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    cache_hit: Mapped[bool] = mapped_column(Boolean)
    risk_verdict: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_by: Mapped[str | None] = mapped_column(String(64))
