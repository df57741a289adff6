"""Tables the attribution domain owns: holdout experiments, exposures and conversions.

An experiment splits a merchant's units (visitors, or products) into treatment and holdout
with the published hash of `attribution.assignment`. At most one experiment per merchant is
`active` at a time; a partial unique index makes that true under concurrent creates.

The `attribution` consumer group fills the other three tables from the event log:

- `attribution_exposures`: every exposure event, keyed by its event id (insert-ignore);
- `experiment_units`: one row per (experiment, unit) with the unit's first exposure time and
  the arm, product and product category (when the exposure carried one) of that first
  exposure; `multiple_arms` marks a unit seen in both arms
  (it is left out of the statistics). Updates take minima and ORs, so they commute and a
  replay changes nothing;
- `attribution_conversions`: conversions keyed by event id and deduplicated by
  (merchant, order id, kind) through a unique index (rows without an order id are unique by
  event id only). `revenue` is exact (NUMERIC, currency units).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Numeric, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from liftmeter.db import Base
from liftmeter.models import utcnow


class UnitType(StrEnum):
    """What the hash randomizes: shoppers (the default) or products."""

    VISITOR = "visitor"
    PRODUCT = "product"


class ExperimentStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"


_ONE_ACTIVE = text("status = 'active'")


class Experiment(Base):
    """A holdout experiment: `holdout_share` of the units keep the original description.

    The window is [`starts_at`, `ends_at`); stopping an experiment closes the window at the
    moment it was stopped, so exposures that happened before still count.
    """

    __tablename__ = "experiments"
    __table_args__ = (
        Index(
            "uq_experiments_one_active",
            "merchant_id",
            unique=True,
            sqlite_where=_ONE_ACTIVE,
            postgresql_where=_ONE_ACTIVE,
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    holdout_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    unit_type: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=ExperimentStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Exposure(Base):
    """One exposure event as received (the raw row the per-unit state is derived from)."""

    __tablename__ = "attribution_exposures"
    __table_args__ = (
        Index("ix_attribution_exposures_unit", "experiment_id", "unit_id", "occurred_at"),
        Index("ix_attribution_exposures_description", "description_id"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id"))
    unit_type: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str] = mapped_column(String(128))
    product_id: Mapped[str] = mapped_column(String(128))
    arm: Mapped[str] = mapped_column(String(16))
    description_id: Mapped[str | None] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExperimentUnit(Base):
    """A unit's first exposure in an experiment: the anchor of its attribution window."""

    __tablename__ = "experiment_units"
    __table_args__ = (Index("ix_experiment_units_first", "experiment_id", "first_exposed_at"),)

    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    arm: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[str] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(String(100))
    first_exposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    multiple_arms: Mapped[bool] = mapped_column(Boolean, default=False)


class AttributedConversion(Base):
    """A conversion as received, once per (merchant, order id, kind)."""

    __tablename__ = "attribution_conversions"
    __table_args__ = (
        Index("uq_attribution_conversions_order", "merchant_id", "order_id", "kind", unique=True),
        Index("ix_attribution_conversions_visitor", "merchant_id", "visitor_id", "occurred_at"),
        Index("ix_attribution_conversions_product", "merchant_id", "product_id", "occurred_at"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    kind: Mapped[str] = mapped_column(String(16))
    visitor_id: Mapped[str] = mapped_column(String(128))
    product_id: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[str | None] = mapped_column(String(128))
    revenue: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    currency: Mapped[str] = mapped_column(String(3))
    description_id: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
