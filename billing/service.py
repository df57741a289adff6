"""The rules of billing: plan changes and the invoice lifecycle.

    draft ──finalize──▶ finalized ──mark paid──▶ paid
                            │                      │ (only once credit notes cover the total)
                            └────────void──────────┴──▶ void

- `set_plan` appends a plan version; it never edits one. A version starts on the first
  day of a month, after every existing version, not before the current month and not
  inside a period whose invoice is finalized: a change never rewrites the past.
- `finalize_invoice` closes the merchant's period in the usage ledger
  (`metering.service.close_period`, which also holds ingest off until commit), recomputes
  the draft in the same transaction, refuses an empty one, gives it the next number of
  the merchant and year (INV-2026-000001), settles the pending adjustments and the
  approved review items it billed (`review_settlements`: each item on one invoice only),
  and from then on the invoice and its lines are immutable (also enforced by DB triggers).
- Corrections after finalization are credit notes (CN-2026-000001), never edits.

Every action writes one audit row (`liftmeter.audit.record_audit`) in the caller's
transaction. Refusals raise before anything is written. Services flush; callers commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import repository
from billing.billable import APPROVED_REVIEW
from billing.errors import (
    CreditExceedsInvoice,
    InvoiceEmpty,
    InvoiceNotDraft,
    InvoiceNotFinalized,
    InvoiceNotFound,
    InvoicePaid,
    PeriodInFuture,
    PlanOverlap,
)
from billing.invoice import Period, invoice_lines, run_invoices
from billing.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PlanVersion,
)
from billing.plans import (
    Component,
    Plan,
    dump_plan,
    parse_effective_from,
    parse_plan,
    plan_from_json,
)
from billing.pricing import price_usage, total
from billing.review_usage import BilledReview, settle_reviews
from liftmeter.audit import record_audit
from liftmeter.errors import NotFound, ValidationFailed
from liftmeter.ids import new_id
from liftmeter.models import Merchant, utcnow
from liftmeter.money import parse_amount, quantize
from metering.ledger import settle_adjustments
from metering.repository import as_utc
from metering.service import close_period

INVOICE = "invoice"


def set_plan(
    session: Session,
    *,
    merchant_id: str,
    effective_from: Any,
    spec: Mapping[str, Any],
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> PlanVersion:
    """Validate `spec` and append it as the merchant's plan from `effective_from`."""
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("no such merchant", param="merchant_id")
    plan = parse_plan(spec, merchant_currency=merchant.currency)
    start = parse_effective_from(effective_from)
    current = Period.of(now or utcnow()).start
    if start < current:
        raise PlanOverlap(
            f"must not be before the current month {current:%Y-%m}", param="effective_from"
        )
    versions = repository.plan_versions(session, merchant_id)
    if versions and start <= as_utc(versions[-1].effective_from):
        raise PlanOverlap(
            f"overlaps version {versions[-1].id} effective from "
            f"{as_utc(versions[-1].effective_from):%Y-%m-%d}; a new version must start later",
            param="effective_from",
        )
    billed = session.scalars(
        select(Invoice.number).where(
            Invoice.merchant_id == merchant_id,
            Invoice.status != InvoiceStatus.DRAFT,
            Invoice.period_end > start,
        )
    ).first()
    if billed is not None:
        raise PlanOverlap(f"would reprice the finalized invoice {billed}", param="effective_from")
    version = PlanVersion(
        id=new_id("plv"),
        merchant_id=merchant_id,
        effective_from=start,
        currency=plan.currency,
        monthly_spend_cap=plan.monthly_spend_cap,
        spec_json=dump_plan(plan),
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(version)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="plan.set",
        subject_type="plan_version",
        subject_id=version.id,
        merchant_id=merchant_id,
        reason=reason,
        details={"effective_from": start.date().isoformat(), "plan": version.spec},
    )
    return version


def plan_in_effect(session: Session, merchant_id: str, at: datetime) -> Plan | None:
    """The merchant's plan at `at` (the latest version effective by then), or None."""
    version = repository.plans_in_effect(session, at=at, merchant_id=merchant_id).get(merchant_id)
    return None if version is None else plan_from_json(version.spec_json)


def monthly_spend_cap(session: Session, merchant_id: str, at: datetime) -> Decimal | None:
    """The spend cap of the plan in effect at `at` (None: no plan or no cap)."""
    plan = plan_in_effect(session, merchant_id, at)
    return None if plan is None else plan.monthly_spend_cap


def usage_spend(plan: Plan, quantities: Mapping[Component, int]) -> Decimal:
    """Pay-per-use spend of `quantities` under `plan`: the sum of its rounded usage lines."""
    return total(price_usage(plan, quantities))


def list_plans(session: Session, merchant_id: str) -> list[PlanVersion]:
    if session.get(Merchant, merchant_id) is None:
        raise NotFound("no such merchant", param="merchant_id")
    return repository.plan_versions(session, merchant_id)


def get_invoice(session: Session, invoice_id: str, *, merchant_id: str | None = None) -> Invoice:
    """The invoice, or `InvoiceNotFound` (also when it belongs to another merchant)."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or (merchant_id is not None and invoice.merchant_id != merchant_id):
        raise InvoiceNotFound("no such invoice", param="invoice_id")
    return invoice


def _locked(session: Session, invoice_id: str) -> Invoice:
    invoice = repository.lock_invoice(session, invoice_id)
    if invoice is None:
        raise InvoiceNotFound("no such invoice", param="invoice_id")
    return invoice


def _audit_invoice(
    session: Session,
    invoice: Invoice,
    *,
    actor: str,
    action: str,
    reason: str | None,
    details: Mapping[str, Any],
) -> None:
    record_audit(
        session,
        actor=actor,
        action=action,
        subject_type=INVOICE,
        subject_id=invoice.id,
        merchant_id=invoice.merchant_id,
        reason=reason,
        details=details,
    )


def finalize_invoice(
    session: Session,
    invoice_id: str,
    *,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Invoice:
    """Freeze a draft: close the ledger period, recompute, number, settle adjustments."""
    now = now or utcnow()
    invoice = _locked(session, invoice_id)
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceNotDraft(f"invoice {invoice.number} is {invoice.status}", param="invoice_id")
    end = as_utc(invoice.period_end)
    if end > now:
        raise PeriodInFuture(
            f"the period ends {end.isoformat()}; finalize after it", param="period"
        )
    close_period(session, invoice.merchant_id, as_utc(invoice.period_start), end)
    run_invoices(
        session,
        period=Period.of(as_utc(invoice.period_start)),
        merchant_id=invoice.merchant_id,
        now=now,
    )
    session.refresh(invoice)
    lines = invoice_lines(session, invoice)
    if not lines:
        raise InvoiceEmpty("the invoice has no lines", param="invoice_id")
    year = now.year
    seq = repository.next_number(session, merchant_id=invoice.merchant_id, kind="INV", year=year)
    invoice.number = f"INV-{year}-{seq:06d}"
    invoice.status = InvoiceStatus.FINALIZED
    invoice.finalized_at = now
    adjustment_ids = sorted({i for line in lines for i in line.lineage.get("adjustment_ids", [])})
    settled = settle_adjustments(session, adjustment_ids, invoice_id=invoice.id, settled_at=now)
    reviews = settle_reviews(
        session, billed_reviews(invoice, lines), invoice=invoice, settled_at=now
    )
    session.flush()
    _audit_invoice(
        session,
        invoice,
        actor=actor,
        action="invoice.finalize",
        reason=reason,
        details={
            "number": invoice.number,
            "total": str(invoice.total),
            "settled_adjustments": settled,
            "settled_review_items": reviews,
        },
    )
    return invoice


def billed_reviews(invoice: Invoice, lines: Sequence[InvoiceLine]) -> list[BilledReview]:
    """The approved review items the lines bill, each with the period its call belongs to
    (the invoice's own period, or the closed period an adjustment line adjusts)."""
    out = []
    for line in lines:
        lineage = line.lineage
        approved = lineage.get(APPROVED_REVIEW)
        if not approved:
            continue
        adjusts = lineage.get("adjusts_period")
        period = datetime.fromisoformat(adjusts) if adjusts else as_utc(invoice.period_start)
        out += [BilledReview(i, period) for i in approved["review_item_ids"]]
    return out


def mark_paid(
    session: Session,
    invoice_id: str,
    *,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Invoice:
    invoice = _locked(session, invoice_id)
    if invoice.status != InvoiceStatus.FINALIZED:
        raise InvoiceNotFinalized(
            f"only a finalized invoice can be paid (it is {invoice.status})", param="invoice_id"
        )
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = now or utcnow()
    session.flush()
    _audit_invoice(
        session,
        invoice,
        actor=actor,
        action="invoice.mark_paid",
        reason=reason,
        details={"number": invoice.number},
    )
    return invoice


def credited_total(session: Session, invoice_id: str) -> Decimal:
    return sum(
        (Decimal(cn.total) for cn in repository.credit_notes_of(session, invoice_id)), Decimal(0)
    )


def void_invoice(
    session: Session, invoice_id: str, *, actor: str, reason: str, now: datetime | None = None
) -> Invoice:
    """Void a finalized invoice; a paid one only when credit notes cover its whole total."""
    if not reason.strip():
        raise ValidationFailed("a reason is required to void an invoice", param="reason")
    invoice = _locked(session, invoice_id)
    if invoice.status not in (InvoiceStatus.FINALIZED, InvoiceStatus.PAID):
        raise InvoiceNotFinalized(
            f"only a finalized invoice can be voided (it is {invoice.status})", param="invoice_id"
        )
    if invoice.status == InvoiceStatus.PAID and credited_total(session, invoice.id) < Decimal(
        invoice.total
    ):
        raise InvoicePaid(
            "a paid invoice is voided only after credit notes cover its total", param="invoice_id"
        )
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = now or utcnow()
    invoice.void_reason = reason
    session.flush()
    _audit_invoice(
        session,
        invoice,
        actor=actor,
        action="invoice.void",
        reason=reason,
        details={"number": invoice.number},
    )
    return invoice


@dataclass(frozen=True, slots=True)
class CreditItem:
    amount: Any
    description: str
    invoice_line_id: str | None = None


def _credit_amounts(
    items: Sequence[CreditItem], invoice: Invoice, line_ids: set[str]
) -> list[Decimal]:
    if not items:
        raise ValidationFailed("at least one line is required", param="lines")
    amounts = []
    for i, item in enumerate(items):
        amount = parse_amount(item.amount, param=f"lines[{i}].amount")
        if amount <= 0 or quantize(amount, invoice.currency) != amount:
            raise ValidationFailed(
                f"must be positive, in whole {invoice.currency} minor units",
                param=f"lines[{i}].amount",
            )
        if item.invoice_line_id is not None and item.invoice_line_id not in line_ids:
            raise ValidationFailed(
                "not a line of this invoice", param=f"lines[{i}].invoice_line_id"
            )
        if not item.description.strip():
            raise ValidationFailed("is required", param=f"lines[{i}].description")
        amounts.append(amount)
    return amounts


def issue_credit_note(
    session: Session,
    invoice_id: str,
    *,
    items: Sequence[CreditItem],
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> CreditNote:
    """Credit part or all of a finalized (or paid) invoice; never more than its total."""
    if not reason.strip():
        raise ValidationFailed("a reason is required for a credit note", param="reason")
    now = now or utcnow()
    invoice = _locked(session, invoice_id)
    if invoice.status not in (InvoiceStatus.FINALIZED, InvoiceStatus.PAID):
        raise InvoiceNotFinalized(
            f"credit notes need a finalized invoice (it is {invoice.status})", param="invoice_id"
        )
    line_ids = {line.id for line in invoice_lines(session, invoice)}
    amounts = _credit_amounts(items, invoice, line_ids)
    note_total = sum(amounts, Decimal(0))
    if credited_total(session, invoice.id) + note_total > Decimal(invoice.total):
        raise CreditExceedsInvoice(
            f"credits would exceed the invoice total {invoice.total} {invoice.currency}",
            param="lines",
        )
    seq = repository.next_number(session, merchant_id=invoice.merchant_id, kind="CN", year=now.year)
    note = CreditNote(
        id=new_id("cn"),
        number=f"CN-{now.year}-{seq:06d}",
        merchant_id=invoice.merchant_id,
        invoice_id=invoice.id,
        currency=invoice.currency,
        total=note_total,
        reason=reason,
        created_at=now,
        created_by=actor,
    )
    session.add(note)
    session.flush()
    session.add_all(
        CreditNoteLine(
            id=f"{note.id}-{pos:04d}",
            credit_note_id=note.id,
            position=pos,
            invoice_line_id=item.invoice_line_id,
            description=item.description[:300],
            amount=amount,
        )
        for pos, (item, amount) in enumerate(zip(items, amounts, strict=True), start=1)
    )
    session.flush()
    _audit_invoice(
        session,
        invoice,
        actor=actor,
        action="invoice.credit_note",
        reason=reason,
        details={"credit_note": note.number, "total": str(note_total)},
    )
    return note


def credit_note_lines(session: Session, note_id: str) -> list[CreditNoteLine]:
    stmt = (
        select(CreditNoteLine)
        .where(CreditNoteLine.credit_note_id == note_id)
        .order_by(CreditNoteLine.position)
    )
    return list(session.scalars(stmt))
