"""Wire models of the billing API. Money is a decimal string, never a JSON number."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, PlanVersion
from metering.repository import as_utc


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value))


def _t(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


class PlanIn(_In):
    merchant_id: str = Field(max_length=64)
    effective_from: str = Field(description="First day of a month, YYYY-MM-DD (UTC).")
    plan: dict[str, Any] = Field(description="The plan; see docs/billing.md.")
    reason: str | None = Field(default=None, max_length=2000)


class PlanVersionOut(BaseModel):
    id: str
    merchant_id: str
    effective_from: datetime
    currency: str
    monthly_spend_cap: str | None
    plan: dict[str, Any]
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, v: PlanVersion) -> PlanVersionOut:
        return cls(
            id=v.id,
            merchant_id=v.merchant_id,
            effective_from=as_utc(v.effective_from),
            currency=v.currency,
            monthly_spend_cap=_s(v.monthly_spend_cap),
            plan=v.spec,
            created_at=as_utc(v.created_at),
            created_by=v.created_by,
        )


class RunIn(_In):
    period: str = Field(description="YYYY-MM")
    merchant_id: str | None = None


class RunOut(BaseModel):
    period: str
    created: int
    recomputed: int
    skipped_final: int
    skipped_no_plan: int
    lines: int


class ActionIn(_In):
    reason: str | None = Field(default=None, max_length=2000)


class CreditItemIn(_In):
    amount: str = Field(description="Positive decimal string in the invoice currency.")
    description: str = Field(max_length=300)
    invoice_line_id: str | None = None


class CreditNoteIn(_In):
    reason: str = Field(max_length=2000)
    lines: list[CreditItemIn] = Field(min_length=1, max_length=500)


class InvoiceLineOut(BaseModel):
    id: str
    position: int
    kind: str
    component: str | None
    description: str
    quantity: str
    unit_price: str | None
    amount: str
    lineage: dict[str, Any]

    @classmethod
    def of(cls, line: InvoiceLine) -> InvoiceLineOut:
        return cls(
            id=line.id,
            position=line.position,
            kind=line.kind,
            component=line.component,
            description=line.description,
            quantity=str(Decimal(line.quantity).normalize()),
            unit_price=_s(line.unit_price),
            amount=str(Decimal(line.amount)),
            lineage=line.lineage,
        )


class CreditNoteLineOut(BaseModel):
    id: str
    position: int
    invoice_line_id: str | None
    description: str
    amount: str


class CreditNoteOut(BaseModel):
    id: str
    number: str
    invoice_id: str
    merchant_id: str
    currency: str
    total: str
    reason: str
    created_at: datetime
    created_by: str
    lines: list[CreditNoteLineOut]

    @classmethod
    def of(cls, note: CreditNote, lines: list[CreditNoteLine]) -> CreditNoteOut:
        return cls(
            id=note.id,
            number=note.number,
            invoice_id=note.invoice_id,
            merchant_id=note.merchant_id,
            currency=note.currency,
            total=str(Decimal(note.total)),
            reason=note.reason,
            created_at=as_utc(note.created_at),
            created_by=note.created_by,
            lines=[
                CreditNoteLineOut(
                    id=line.id,
                    position=line.position,
                    invoice_line_id=line.invoice_line_id,
                    description=line.description,
                    amount=str(Decimal(line.amount)),
                )
                for line in lines
            ],
        )


class InvoiceOut(BaseModel):
    id: str
    number: str | None
    merchant_id: str
    period: str
    period_start: datetime
    period_end: datetime
    currency: str
    status: str
    total: str
    plan_version_id: str | None
    computed_at: datetime
    finalized_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    lines: list[InvoiceLineOut] | None = None
    credit_notes: list[CreditNoteOut] | None = None

    @classmethod
    def of(
        cls,
        inv: Invoice,
        lines: list[InvoiceLine] | None = None,
        notes: list[CreditNoteOut] | None = None,
    ) -> InvoiceOut:
        start = as_utc(inv.period_start)
        return cls(
            id=inv.id,
            number=inv.number,
            merchant_id=inv.merchant_id,
            period=f"{start.year:04d}-{start.month:02d}",
            period_start=start,
            period_end=as_utc(inv.period_end),
            currency=inv.currency,
            status=inv.status,
            total=str(Decimal(inv.total)),
            plan_version_id=inv.plan_version_id,
            computed_at=as_utc(inv.computed_at),
            finalized_at=_t(inv.finalized_at),
            paid_at=_t(inv.paid_at),
            voided_at=_t(inv.voided_at),
            void_reason=inv.void_reason,
            lines=None if lines is None else [InvoiceLineOut.of(line) for line in lines],
            credit_notes=notes,
        )


class InvoicePage(BaseModel):
    data: list[InvoiceOut]
