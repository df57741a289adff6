"""Finance console: invoices with filters and totals, one invoice with its lineage, actions.

- `GET /dashboard/invoices?merchant_id=&status=&period=YYYY-MM`: the list and its totals.
- `GET /dashboard/invoices/{id}`: number, status, lines with lineage (plan version, ledger
  hours and counts, lift result linking to its experiment, adjustments), credit notes,
  and for finance the invoice's audit rows and the action forms.
- `GET /dashboard/invoices/{id}/export?format=csv|pdf`: `billing.exports`, as the API.
- `POST /dashboard/invoices/{id}/finalize | mark-paid | void | credit-notes` (finance, CSRF):
  each calls `billing.service` in its own transaction, so the rules, the errors and the
  audit row are those of the API. A refusal re-renders the invoice with the message and
  the error's status (400, 404, 409); success redirects back to it (303).

Merchants (`invoices:read`) see their own invoices read-only; another merchant's invoice
is a 404 page, an action is a 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from billing import service
from billing.errors import InvoiceNotFound
from billing.exports import invoice_csv, invoice_pdf
from billing.invoice import Period, invoice_lines
from billing.models import InvoiceStatus
from dashboards.auth import CsrfViewerDep, Viewer, ViewerDep
from dashboards.errors import BadPageParameter, PageNotFound, refusal_status
from dashboards.invoice_report import invoice_detail, list_invoices
from dashboards.nav import PREFIX, NavItem
from dashboards.templating import merchant_picker, render
from liftmeter.errors import LiftmeterError, ValidationFailed
from liftmeter.models import Merchant
from liftmeter.web import Scope, db_session, sessions

router = APIRouter(prefix=PREFIX)
NAV = NavItem(
    "Invoices", "/dashboard/invoices", lambda viewer: viewer.principal.has(Scope.INVOICES_READ)
)
ReadSession = Annotated[Session, Depends(db_session)]
Sessions = Annotated[sessionmaker[Session], Depends(sessions)]
Reason = Annotated[str, Form(max_length=2000)]
DONE = {
    "finalized": "Invoice finalized.",
    "paid": "Invoice marked paid.",
    "voided": "Invoice voided.",
    "credited": "Credit note issued.",
}
CREDIT_ROWS = 3


def _actions(viewer: Viewer, status: str) -> set[str]:
    """The forms offered: finance only, and only those the invoice's state allows."""
    if not viewer.is_finance:
        return set()
    return {
        InvoiceStatus.DRAFT: {"finalize"},
        InvoiceStatus.FINALIZED: {"mark_paid", "void", "credit_note"},
        InvoiceStatus.PAID: {"void", "credit_note"},
    }.get(InvoiceStatus(status), set())


@router.get("/invoices", response_class=HTMLResponse)
def invoices_page(
    request: Request,
    viewer: ViewerDep,
    session: ReadSession,
    merchant_id: str | None = None,
    status: str | None = None,
    period: str | None = None,
) -> HTMLResponse:
    viewer.require(Scope.INVOICES_READ)
    merchant = viewer.merchant_scope(merchant_id)
    if status and status not in set(InvoiceStatus):
        raise BadPageParameter("must be draft, finalized, paid or void", param="status")
    try:
        start = Period.parse(period).start if period else None
    except ValidationFailed:
        raise BadPageParameter("must be a month, YYYY-MM", param="period") from None
    listing = list_invoices(
        session, merchant_id=merchant, status=status or None, period_start=start
    )
    return render(
        request,
        "invoices.html",
        viewer=viewer,
        title="Invoices",
        picker=merchant_picker(session, viewer, merchant),
        listing=listing,
        status=status or "",
        period=period or "",
        statuses=[s.value for s in InvoiceStatus],
    )


def _invoice_response(
    request: Request,
    viewer: Viewer,
    session: Session,
    invoice_id: str,
    *,
    error: LiftmeterError | None = None,
    done: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    try:
        detail = invoice_detail(
            session,
            invoice_id,
            merchant_id=viewer.merchant_scope(None),
            with_audit=viewer.is_finance,
        )
    except InvoiceNotFound:
        raise PageNotFound("no such invoice") from None
    invoice = detail.invoice
    return render(
        request,
        "invoice.html",
        viewer=viewer,
        title=f"Invoice {invoice.number}" if invoice.number else "Draft invoice",
        detail=detail,
        invoice=invoice,
        actions=_actions(viewer, invoice.status),
        error=error,
        done=DONE.get(done or ""),
        form=form or {},
        credit_rows=CREDIT_ROWS,
        status_code=refusal_status(error) if error is not None else 200,
    )


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_page(
    request: Request,
    invoice_id: str,
    viewer: ViewerDep,
    session: ReadSession,
    done: str | None = None,
) -> HTMLResponse:
    viewer.require(Scope.INVOICES_READ)
    return _invoice_response(request, viewer, session, invoice_id, done=done)


@router.get("/invoices/{invoice_id}/export")
def export_invoice(
    invoice_id: str,
    viewer: ViewerDep,
    session: ReadSession,
    format: str = "csv",  # noqa: A002
) -> Response:
    """The invoice as CSV or PDF: the amounts and total stored in the database."""
    viewer.require(Scope.INVOICES_READ)
    if format not in ("csv", "pdf"):
        raise BadPageParameter("must be csv or pdf", param="format")
    try:
        invoice = service.get_invoice(session, invoice_id, merchant_id=viewer.merchant_scope(None))
    except InvoiceNotFound:
        raise PageNotFound("no such invoice") from None
    lines = invoice_lines(session, invoice)
    name = invoice.number or invoice.id
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    if format == "csv":
        return Response(
            invoice_csv(invoice, lines), media_type="text/csv; charset=utf-8", headers=disposition
        )
    merchant = session.get(Merchant, invoice.merchant_id)
    pdf = invoice_pdf(invoice, lines, merchant_name=merchant.name if merchant else "")
    return Response(pdf, media_type="application/pdf", headers=disposition)


def _act(
    request: Request,
    viewer: Viewer,
    factory: sessionmaker[Session],
    invoice_id: str,
    *,
    action: Callable[[Session], object],
    done: str,
    form: dict[str, Any] | None = None,
) -> Response:
    """Run one service call in its own transaction; a refusal is shown on the invoice."""
    viewer.require(Scope.FINANCE)
    try:
        with factory.begin() as session:
            action(session)
    except InvoiceNotFound:
        raise PageNotFound("no such invoice") from None
    except LiftmeterError as error:
        with factory() as session:
            return _invoice_response(request, viewer, session, invoice_id, error=error, form=form)
    return RedirectResponse(f"{PREFIX}/invoices/{invoice_id}?done={done}", status_code=303)


@router.post("/invoices/{invoice_id}/finalize")
def finalize(
    request: Request,
    invoice_id: str,
    viewer: CsrfViewerDep,
    factory: Sessions,
    reason: Reason = "",
) -> Response:
    return _act(
        request,
        viewer,
        factory,
        invoice_id,
        action=lambda s: service.finalize_invoice(
            s, invoice_id, actor=viewer.principal.key_id, reason=reason.strip() or None
        ),
        done="finalized",
    )


@router.post("/invoices/{invoice_id}/mark-paid")
def mark_paid(
    request: Request,
    invoice_id: str,
    viewer: CsrfViewerDep,
    factory: Sessions,
    reason: Reason = "",
) -> Response:
    return _act(
        request,
        viewer,
        factory,
        invoice_id,
        action=lambda s: service.mark_paid(
            s, invoice_id, actor=viewer.principal.key_id, reason=reason.strip() or None
        ),
        done="paid",
    )


@router.post("/invoices/{invoice_id}/void")
def void(
    request: Request,
    invoice_id: str,
    viewer: CsrfViewerDep,
    factory: Sessions,
    reason: Reason = "",
) -> Response:
    return _act(
        request,
        viewer,
        factory,
        invoice_id,
        action=lambda s: service.void_invoice(
            s, invoice_id, actor=viewer.principal.key_id, reason=reason
        ),
        done="voided",
        form={"void_reason": reason},
    )


def _column(values: list[str] | None) -> list[str]:
    """One repeated field of the credit-note form, padded to the form's rows."""
    given = (values or [])[:CREDIT_ROWS]
    return given + [""] * (CREDIT_ROWS - len(given))


def _credit_items(
    amounts: list[str], descriptions: list[str], line_ids: list[str]
) -> list[service.CreditItem]:
    """The filled rows of the credit-note form (a row with neither amount nor text is unused)."""
    rows = zip(amounts, descriptions, line_ids, strict=True)
    return [
        service.CreditItem(amount.strip(), description.strip(), line_id or None)
        for amount, description, line_id in rows
        if amount.strip() or description.strip()
    ]


@router.post("/invoices/{invoice_id}/credit-notes")
def credit_note(
    request: Request,
    invoice_id: str,
    viewer: CsrfViewerDep,
    factory: Sessions,
    reason: Reason = "",
    amount: Annotated[list[str] | None, Form(max_length=40)] = None,
    description: Annotated[list[str] | None, Form(max_length=300)] = None,
    invoice_line_id: Annotated[list[str] | None, Form(max_length=80)] = None,
) -> Response:
    amounts, descriptions, line_ids = (
        _column(values) for values in (amount, description, invoice_line_id)
    )
    items = _credit_items(amounts, descriptions, line_ids)
    return _act(
        request,
        viewer,
        factory,
        invoice_id,
        action=lambda s: service.issue_credit_note(
            s, invoice_id, items=items, actor=viewer.principal.key_id, reason=reason
        ),
        done="credited",
        form={
            "credit_reason": reason,
            "credit_amounts": amounts,
            "credit_descriptions": descriptions,
            "credit_lines": line_ids,
        },
    )
