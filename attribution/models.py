"""Tables the attribution domain owns: holdout experiments.

An experiment splits a merchant's units (visitors, or products) into treatment and holdout
with the published hash of `attribution.assignment`. At most one experiment per merchant is
`active` at a time; a partial unique index makes that true under concurrent creates.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, Numeric, String, text
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
