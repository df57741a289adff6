"""Tables of billing: plan versions, invoices and their lines, credit notes, number sequences.

- `plan_versions`: append-only; a merchant's plan from `effective_from` until the next
  version. Triggers reject UPDATE and DELETE, so a change never rewrites the past.
- `invoices` / `invoice_lines`: one invoice per merchant and period. A draft's lines are
  replaced whenever the run recomputes it; from `finalized` on, the invoice and its lines
  are immutable (service checks, and triggers on both databases that allow only the
  status moves finalized → paid → void and finalized → void, nothing else). Each line
  keeps its lineage (plan version, ledger hours and counts, lift result, adjustment ids)
  as JSON.
- `credit_notes` / `credit_note_lines`: the only correction after finalization; immutable.
- `billing_sequences`: the last number used per merchant, kind and year
  (INV-2026-000001, CN-2026-000001), incremented under a row lock, so numbers have no gaps.
- `review_settlements`: one row per approved review item once a finalized invoice billed
  it (its own period's invoice, or a later one as an adjustment). The primary key is the
  review item id, so an approved output is billed at most once; triggers reject UPDATE
  and DELETE.

Amounts are `Numeric`, already rounded to the currency's minor unit; never floats.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from liftmeter.db import Base
from liftmeter.models import utcnow

Amount = Numeric(20, 6)


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    FINALIZED = "finalized"
    PAID = "paid"
    VOID = "void"


class PlanVersion(Base):
    """One version of a merchant's plan; `spec_json` is `billing.plans.plan_to_json`."""

    __tablename__ = "plan_versions"
    __table_args__ = (
        UniqueConstraint("merchant_id", "effective_from", name="uq_plan_versions_effective"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    effective_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    currency: Mapped[str] = mapped_column(String(3))
    monthly_spend_cap: Mapped[Decimal | None] = mapped_column(Amount)
    spec_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))

    @property
    def spec(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.spec_json)
        return loaded


class Invoice(Base):
    """A merchant's invoice for [period_start, period_end); `total` is the sum of its lines."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("merchant_id", "period_start", name="uq_invoices_merchant_period"),
        UniqueConstraint("merchant_id", "number", name="uq_invoices_merchant_number"),
        Index("ix_invoices_period_status", "period_start", "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.DRAFT)
    number: Mapped[str | None] = mapped_column(String(32))
    plan_version_id: Mapped[str | None] = mapped_column(ForeignKey("plan_versions.id"))
    total: Mapped[Decimal] = mapped_column(Amount)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(Text)


class InvoiceLine(Base):
    """One line; `id` is `<invoice id>-<position>`, so a recomputed draft keeps its line ids."""

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position", name="uq_invoice_lines_position"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    component: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(28, 6))
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(28, 12))
    amount: Mapped[Decimal] = mapped_column(Amount)
    lineage_json: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def lineage(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.lineage_json)
        return loaded


class CreditNote(Base):
    """A correction of a finalized invoice: `total` (positive) is credited to the merchant."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("merchant_id", "number", name="uq_credit_notes_number"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Amount)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class CreditNoteLine(Base):
    """One credited amount, optionally pointing at the invoice line it corrects."""

    __tablename__ = "credit_note_lines"
    __table_args__ = (
        UniqueConstraint("credit_note_id", "position", name="uq_credit_note_lines_position"),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    credit_note_id: Mapped[str] = mapped_column(ForeignKey("credit_notes.id"))
    position: Mapped[int] = mapped_column(Integer)
    invoice_line_id: Mapped[str | None] = mapped_column(ForeignKey("invoice_lines.id"))
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Amount)


class BillingSequence(Base):
    """The last document number used for one merchant, kind (`INV`, `CN`) and year."""

    __tablename__ = "billing_sequences"

    merchant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class ReviewSettlement(Base):
    """An approved review item billed on `invoice_id` (finalized); one row per item, ever.

    `period_start` is the period the call belongs to (where its usage is counted), which
    differs from the invoice's period when the approval came after that period's invoice
    was finalized and the call was billed later as an adjustment.
    """

    __tablename__ = "review_settlements"
    __table_args__ = (
        Index("ix_review_settlements_merchant_period", "merchant_id", "period_start"),
    )

    review_item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    settled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
