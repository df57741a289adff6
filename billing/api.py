"""The billing API, an `APIRouter` the gateway mounts.

Finance (scope `finance`) creates and changes plans, runs the invoice run, finalizes,
voids, marks paid and issues credit notes; every such write is audited in its own
transaction. Merchants (scope `invoices:read`) read only their own plan versions and
invoices: another merchant's invoice id is a 404, exactly like an id that does not exist.

    POST /v1/plans                         create or change a plan (a new version)
    GET  /v1/plans?merchant_id=            plan versions
    POST /v1/invoices/run                  draft invoices of a period
    GET  /v1/invoices?merchant_id&status&period
    GET  /v1/invoices/{id}                 with lines, lineage and credit notes
    GET  /v1/invoices/{id}/lines/{line_id}/hours   the ledger hours behind a line
    GET  /v1/invoices/{id}/export?format=csv|pdf
    POST /v1/invoices/{id}/finalize | /void | /mark-paid | /credit-notes
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session, sessionmaker

from billing import repository, service
from billing.errors import InvoiceNotFound
from billing.exports import invoice_csv, invoice_pdf
from billing.invoice import Period, invoice_lines, run_invoices
from billing.models import Invoice, InvoiceStatus
from billing.schemas import (
    ActionIn,
    CreditNoteIn,
    CreditNoteOut,
    InvoiceOut,
    InvoicePage,
    PlanIn,
    PlanVersionOut,
    RunIn,
    RunOut,
)
from liftmeter.errors import ValidationFailed
from liftmeter.models import Merchant
from liftmeter.web import Principal, Scope, db_session, require, sessions
from metering.ledger import Granularity, UsageQuery, query_usage
from metering.repository import as_utc

router = APIRouter(prefix="/v1", tags=["billing"])

Finance = Annotated[Principal, Depends(require(Scope.FINANCE))]
Reader = Annotated[Principal, Depends(require(Scope.INVOICES_READ))]
ReadSession = Annotated[Session, Depends(db_session)]
Sessions = Annotated[sessionmaker[Session], Depends(sessions)]


def _owned(session: Session, principal: Principal, invoice_id: str) -> Invoice:
    return service.get_invoice(
        session, invoice_id, merchant_id=None if principal.is_staff else principal.merchant_id
    )


def _detail(session: Session, invoice: Invoice) -> InvoiceOut:
    notes = [
        CreditNoteOut.of(note, service.credit_note_lines(session, note.id))
        for note in repository.credit_notes_of(session, invoice.id)
    ]
    return InvoiceOut.of(invoice, invoice_lines(session, invoice), notes)


@router.post("/plans", status_code=201, response_model=PlanVersionOut)
def create_plan(body: PlanIn, principal: Finance, factory: Sessions) -> Any:
    """Add a plan version for a merchant (a change applies from `effective_from` on)."""
    with factory.begin() as session:
        version = service.set_plan(
            session,
            merchant_id=body.merchant_id,
            effective_from=body.effective_from,
            spec=body.plan,
            actor=principal.key_id,
            reason=body.reason,
        )
        return PlanVersionOut.of(version)


@router.get("/plans", response_model=list[PlanVersionOut])
def list_plans(principal: Reader, session: ReadSession, merchant_id: str | None = None) -> Any:
    """Plan versions of one merchant, oldest first (merchants: their own)."""
    merchant = principal.merchant_scope(merchant_id)
    if merchant is None:
        raise ValidationFailed("is required for staff keys", param="merchant_id")
    return [PlanVersionOut.of(v) for v in service.list_plans(session, merchant)]


@router.post("/invoices/run", response_model=RunOut)
def run(body: RunIn, principal: Finance, factory: Sessions) -> Any:
    """Create or recompute the drafts of a period (all merchants, or one)."""
    with factory.begin() as session:
        summary = run_invoices(
            session,
            period=Period.parse(body.period),
            merchant_id=body.merchant_id,
            actor=principal.key_id,
        )
    return RunOut(
        period=summary.period,
        created=summary.created,
        recomputed=summary.recomputed,
        skipped_final=summary.skipped_final,
        skipped_no_plan=summary.skipped_no_plan,
        lines=summary.lines,
    )


@router.get("/invoices", response_model=InvoicePage)
def list_invoices(
    principal: Reader,
    session: ReadSession,
    merchant_id: str | None = None,
    status: str | None = None,
    period: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Invoices, newest period first, filtered by merchant, status and period."""
    if status is not None and status not in set(InvoiceStatus):
        raise ValidationFailed("must be draft, finalized, paid or void", param="status")
    invoices = repository.list_invoices(
        session,
        merchant_id=principal.merchant_scope(merchant_id),
        status=status,
        period_start=Period.parse(period).start if period else None,
        limit=limit,
    )
    return InvoicePage(data=[InvoiceOut.of(inv) for inv in invoices])


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: str, principal: Reader, session: ReadSession) -> Any:
    """One invoice with its lines (and each line's lineage) and its credit notes."""
    return _detail(session, _owned(session, principal, invoice_id))


@router.get("/invoices/{invoice_id}/lines/{line_id}/hours")
def line_hours(
    invoice_id: str, line_id: str, principal: Reader, session: ReadSession
) -> list[dict[str, Any]]:
    """The hourly ledger rows a usage line was computed from (its lineage's range and filter)."""
    invoice = _owned(session, principal, invoice_id)
    line = next((x for x in invoice_lines(session, invoice) if x.id == line_id), None)
    ledger = line.lineage.get("ledger") if line is not None else None
    if line is None or not ledger or ledger.get("hour_from") is None:
        raise InvoiceNotFound("no such line with ledger lineage", param="line_id")
    rows = query_usage(
        session,
        UsageQuery(
            start=datetime.fromisoformat(ledger["hour_from"]),
            end=datetime.fromisoformat(ledger["hour_to"]),
            granularity=Granularity.HOUR,
            merchant_id=invoice.merchant_id,
            group_by=("cache_hit", "risk_verdict"),
            include_adjustments=False,
        ),
    )
    wanted = ledger.get("filter", {})
    return [
        {
            "hour_start": as_utc(r.period_start).isoformat(),
            **r.dimensions,
            "calls": r.calls,
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "blocked_calls": r.blocked_calls,
            "flagged_calls": r.flagged_calls,
            "failed_calls": r.failed_calls,
        }
        for r in rows
        if all(r.dimensions.get(k) == v for k, v in wanted.items())
    ]


@router.get("/invoices/{invoice_id}/export")
def export(
    invoice_id: str,
    principal: Reader,
    session: ReadSession,
    format: str = "csv",  # noqa: A002
) -> Response:
    """The invoice as CSV or PDF, with the amounts and total stored in the database."""
    invoice = _owned(session, principal, invoice_id)
    lines = invoice_lines(session, invoice)
    name = invoice.number or invoice.id
    if format == "csv":
        return Response(
            invoice_csv(invoice, lines),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "pdf":
        merchant = session.get(Merchant, invoice.merchant_id)
        pdf = invoice_pdf(invoice, lines, merchant_name=merchant.name if merchant else "")
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    raise ValidationFailed("must be csv or pdf", param="format")


@router.post("/invoices/{invoice_id}/finalize", response_model=InvoiceOut)
def finalize(
    invoice_id: str, principal: Finance, factory: Sessions, body: ActionIn | None = None
) -> Any:
    """Finalize a draft: number it, freeze it and its period's usage."""
    with factory.begin() as session:
        invoice = service.finalize_invoice(
            session, invoice_id, actor=principal.key_id, reason=body.reason if body else None
        )
        return _detail(session, invoice)


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
def void(invoice_id: str, body: ActionIn, principal: Finance, factory: Sessions) -> Any:
    """Void a finalized invoice (a paid one only once credit notes cover its total)."""
    with factory.begin() as session:
        invoice = service.void_invoice(
            session, invoice_id, actor=principal.key_id, reason=body.reason or ""
        )
        return _detail(session, invoice)


@router.post("/invoices/{invoice_id}/mark-paid", response_model=InvoiceOut)
def mark_paid(
    invoice_id: str, principal: Finance, factory: Sessions, body: ActionIn | None = None
) -> Any:
    """Record that a finalized invoice was paid."""
    with factory.begin() as session:
        invoice = service.mark_paid(
            session, invoice_id, actor=principal.key_id, reason=body.reason if body else None
        )
        return _detail(session, invoice)


@router.post("/invoices/{invoice_id}/credit-notes", status_code=201, response_model=CreditNoteOut)
def credit_note(invoice_id: str, body: CreditNoteIn, principal: Finance, factory: Sessions) -> Any:
    """Issue a credit note against a finalized or paid invoice."""
    with factory.begin() as session:
        note = service.issue_credit_note(
            session,
            invoice_id,
            items=[
                service.CreditItem(i.amount, i.description, i.invoice_line_id) for i in body.lines
            ],
            actor=principal.key_id,
            reason=body.reason,
        )
        return CreditNoteOut.of(note, service.credit_note_lines(session, note.id))
