"""The `review_items` table: one row per output the risk model sent to a person.

A row is created `pending` with a copy of what the reviewer needs (text, category, score,
reasons, model version) so the queue never depends on the gateway's tables, and moves once
to `approved` or `rejected`; the decision columns are written by that one transition.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from liftmeter.db import Base
from liftmeter.models import utcnow


class ReviewStatus(StrEnum):
    """Where an item is: waiting for a person, or decided (final)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReviewItem(Base):
    """One output held for review; `call_id` is unique (a call is queued at most once)."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_items_status_created", "status", "created_at"),
        Index("ix_review_items_merchant_status", "merchant_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    description_id: Mapped[str] = mapped_column(String(64), index=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    product_id: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(String(1000), default="")
    model_version: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.PENDING)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def reason_list(self) -> list[str]:
        """`reasons` as a list (stored comma-joined, like the call record's)."""
        return [r for r in self.reasons.split(",") if r]
