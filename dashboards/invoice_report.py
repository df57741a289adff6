"""The finance console's numbers: invoice lists with totals, one invoice with its lineage.

Everything here reads through billing's read side (`billing.repository`,
`billing.service.get_invoice`, `billing.invoice.invoice_lines`) and the audit log; nothing is
recomputed. A line's lineage (stored JSON, see docs/billing.md) is resolved into what a
person follows: the plan version it was priced with, the ledger hours and counts it was
summed from, the lift result (and the experiment page that shows it), the late-usage
adjustments it bills, the review-queue items whose calls it bills or withholds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attribution.results import LiftResult
from billing import repository, service
from billing.invoice import invoice_lines
from billing.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PlanVersion,
)
from liftmeter.audit import AuditEntry, list_audit
from liftmeter.models import Merchant
from metering.repository import as_utc

LIST_LIMIT = 500
LEDGER_COUNTERS = (
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "blocked_calls",
    "flagged_calls",
    "failed_calls",
)
REVIEW_KEYS = ("approved_review", "review")
"""Lineage keys of review calls: billed once approved (usage lines), withheld otherwise."""
_RESOLVED = {
    *REVIEW_KEYS,
    "plan_version_id",
    "ledger",
    "lift_result_id",
    "lift_reason",
    "conservative_amount",
    "lift_period",
    "adjustment_ids",
    "adjusts_period",
    "adjusts_invoice",
    "table",
    "hour_from",
    "hour_to",
    *LEDGER_COUNTERS,
    "cached_tokens",
    "cached_tokens_unknown_calls",
}


@dataclass(frozen=True)
class InvoiceList:
    """Invoices matching the filters, with their totals per currency and counts per status."""

    invoices: list[Invoice]
    totals: dict[str, Decimal]
    by_status: dict[str, int]
    is_truncated: bool


def list_invoices(
    session: Session,
    *,
    merchant_id: str | None,
    status: str | None,
    period_start: datetime | None,
) -> InvoiceList:
    """At most `LIST_LIMIT` invoices, newest period first; totals over the rows shown."""
    rows = repository.list_invoices(
        session,
        merchant_id=merchant_id,
        status=status,
        period_start=period_start,
        limit=LIST_LIMIT + 1,
    )
    shown = rows[:LIST_LIMIT]
    totals: dict[str, Decimal] = {}
    for invoice in shown:
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + Decimal(invoice.total)
    by_status = Counter(invoice.status for invoice in shown)
    return InvoiceList(
        invoices=shown,
        totals=dict(sorted(totals.items())),
        by_status={s.value: by_status.get(s.value, 0) for s in InvoiceStatus},
        is_truncated=len(rows) > LIST_LIMIT,
    )


@dataclass(frozen=True)
class Ledger:
    """The usage-ledger slice behind a line: table, filter, hour range, rows, counters."""

    table: str
    filter: dict[str, Any]
    hour_from: datetime | None
    hour_to: datetime | None
    hour_rows: int | None
    counters: dict[str, int]


@dataclass(frozen=True)
class LiftLink:
    """The lift result a revenue-share line was charged on, and its experiment page."""

    result_id: str
    experiment_id: str | None
    conservative_amount: str | None
    reason: str | None
    period: tuple[datetime, datetime] | None


@dataclass(frozen=True)
class ReviewCalls:
    """Review calls behind a line: billed once approved, withheld while pending or rejected."""

    status: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    hour_from: datetime | None
    hour_to: datetime | None
    decided_from: datetime | None
    decided_to: datetime | None
    item_ids: list[str]


@dataclass(frozen=True)
class LineView:
    """One invoice line with its lineage resolved."""

    line: InvoiceLine
    plan_version: PlanVersion | None
    plan_version_id: str | None
    ledger: Ledger | None
    lift: LiftLink | None
    adjustment_ids: list[int]
    adjusts_period: datetime | None
    adjusts_invoice: str | None
    reviews: list[ReviewCalls]
    detail: dict[str, Any]


@dataclass(frozen=True)
class CreditNoteView:
    note: CreditNote
    lines: list[CreditNoteLine]


@dataclass(frozen=True)
class InvoiceDetail:
    """One invoice as the detail page shows it."""

    invoice: Invoice
    merchant_name: str
    lines: list[LineView]
    credit_notes: list[CreditNoteView]
    credited_total: Decimal
    audit: list[AuditEntry] = field(default_factory=list)


def _moment(value: Any) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None


def _ledger(lineage: dict[str, Any]) -> Ledger | None:
    """Usage lines nest it under `ledger`; adjustment lines keep it at the top level."""
    raw = lineage.get("ledger")
    if raw is None and lineage.get("table") == "usage_adjustments":
        raw = lineage
    if not isinstance(raw, dict):
        return None
    return Ledger(
        table=str(raw.get("table", "usage_hourly")),
        filter=dict(raw.get("filter") or {}),
        hour_from=_moment(raw.get("hour_from")),
        hour_to=_moment(raw.get("hour_to")),
        hour_rows=raw.get("hour_rows"),
        counters={k: int(raw[k]) for k in LEDGER_COUNTERS if k in raw},
    )


def _lift(lineage: dict[str, Any], results: dict[str, LiftResult]) -> LiftLink | None:
    result_id = lineage.get("lift_result_id")
    if not isinstance(result_id, str):
        return None
    period = lineage.get("lift_period")
    start, end = (_moment(p) for p in period) if isinstance(period, list) else (None, None)
    result = results.get(result_id)
    return LiftLink(
        result_id=result_id,
        experiment_id=result.experiment_id if result is not None else None,
        conservative_amount=lineage.get("conservative_amount"),
        reason=lineage.get("lift_reason"),
        period=(start, end) if start is not None and end is not None else None,
    )


def _reviews(lineage: dict[str, Any]) -> list[ReviewCalls]:
    """Pending items carry no ids (the filter finds them); decided ones list theirs."""
    out = []
    for key in REVIEW_KEYS:
        raw = lineage.get(key)
        if not isinstance(raw, dict):
            continue
        out.append(
            ReviewCalls(
                status=str((raw.get("filter") or {}).get("review_status", "")),
                calls=int(raw.get("calls", 0)),
                prompt_tokens=int(raw.get("prompt_tokens", 0)),
                completion_tokens=int(raw.get("completion_tokens", 0)),
                hour_from=_moment(raw.get("hour_from")),
                hour_to=_moment(raw.get("hour_to")),
                decided_from=_moment(raw.get("decided_from")),
                decided_to=_moment(raw.get("decided_to")),
                item_ids=[str(i) for i in raw.get("review_item_ids") or []],
            )
        )
    return out


def _line_view(
    line: InvoiceLine, plans: dict[str, PlanVersion], results: dict[str, LiftResult]
) -> LineView:
    lineage = line.lineage
    plan_id = lineage.get("plan_version_id")
    return LineView(
        line=line,
        plan_version=plans.get(plan_id) if isinstance(plan_id, str) else None,
        plan_version_id=plan_id if isinstance(plan_id, str) else None,
        ledger=_ledger(lineage),
        lift=_lift(lineage, results),
        adjustment_ids=list(lineage.get("adjustment_ids") or []),
        adjusts_period=_moment(lineage.get("adjusts_period")),
        adjusts_invoice=lineage.get("adjusts_invoice"),
        reviews=_reviews(lineage),
        detail={k: v for k, v in lineage.items() if k not in _RESOLVED},
    )


def _lookups(
    session: Session, lines: list[InvoiceLine]
) -> tuple[dict[str, PlanVersion], dict[str, LiftResult]]:
    plan_ids = {x.lineage.get("plan_version_id") for x in lines} - {None}
    lift_ids = {x.lineage.get("lift_result_id") for x in lines} - {None}
    plans = session.scalars(select(PlanVersion).where(PlanVersion.id.in_(plan_ids)))
    lifts = session.scalars(select(LiftResult).where(LiftResult.id.in_(lift_ids)))
    return {p.id: p for p in plans}, {r.id: r for r in lifts}


def invoice_detail(
    session: Session, invoice_id: str, *, merchant_id: str | None, with_audit: bool
) -> InvoiceDetail:
    """The invoice (`InvoiceNotFound` when missing or another merchant's), lines resolved."""
    invoice = service.get_invoice(session, invoice_id, merchant_id=merchant_id)
    lines = invoice_lines(session, invoice)
    plans, results = _lookups(session, lines)
    notes = [
        CreditNoteView(note, service.credit_note_lines(session, note.id))
        for note in repository.credit_notes_of(session, invoice.id)
    ]
    merchant = session.get(Merchant, invoice.merchant_id)
    return InvoiceDetail(
        invoice=invoice,
        merchant_name=merchant.name if merchant is not None else invoice.merchant_id,
        lines=[_line_view(line, plans, results) for line in lines],
        credit_notes=notes,
        credited_total=sum((Decimal(n.note.total) for n in notes), Decimal(0)),
        audit=list_audit(session, subject_type=service.INVOICE, subject_id=invoice.id)
        if with_audit
        else [],
    )
