"""Exports of one invoice: CSV (one row per line, then a total row) and PDF (fpdf2).

Both print the amounts stored in the database, as stored (already rounded per line), and a
total equal to the invoice's `total`; nothing is recomputed or re-rounded on the way out.
The PDF content streams are left uncompressed (invoices are small) so the text can be read
back by any tool, tests included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal

from fpdf import FPDF

from billing.models import Invoice, InvoiceLine
from liftmeter.money import quantize

CSV_COLUMNS = (
    "invoice_number",
    "invoice_id",
    "merchant_id",
    "period_start",
    "period_end",
    "currency",
    "position",
    "kind",
    "component",
    "description",
    "quantity",
    "unit_price",
    "amount",
)


def _money(amount: Decimal, currency: str) -> str:
    return str(quantize(Decimal(amount), currency))


def _quantity(value: Decimal) -> str:
    text = format(Decimal(value).normalize(), "f")
    return text


def invoice_csv(invoice: Invoice, lines: Sequence[InvoiceLine]) -> str:
    """The invoice as CSV; the last row has kind `total` and the invoice total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    head = [
        invoice.number or "",
        invoice.id,
        invoice.merchant_id,
        invoice.period_start.date().isoformat(),
        invoice.period_end.date().isoformat(),
        invoice.currency,
    ]
    for line in lines:
        writer.writerow(
            [
                *head,
                line.position,
                line.kind,
                line.component or "",
                line.description,
                _quantity(line.quantity),
                "" if line.unit_price is None else _quantity(line.unit_price),
                _money(line.amount, invoice.currency),
            ]
        )
    writer.writerow(
        [*head, "", "total", "", "Total", "", "", _money(invoice.total, invoice.currency)]
    )
    return out.getvalue()


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(invoice: Invoice, lines: Sequence[InvoiceLine], *, merchant_name: str) -> bytes:
    """A one-table PDF: header, one row per line, the total."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_compression(False)
    pdf.set_title(f"Invoice {invoice.number or invoice.id}")
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    title = f"Invoice {invoice.number}" if invoice.number else f"Draft invoice {invoice.id}"
    pdf.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for text in (
        f"Merchant: {merchant_name} ({invoice.merchant_id})",
        f"Period: {invoice.period_start.date().isoformat()} to "
        f"{invoice.period_end.date().isoformat()} (end exclusive)",
        f"Status: {invoice.status}   Currency: {invoice.currency}",
    ):
        pdf.cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (10, 100, 30, 30)
    pdf.set_font("Helvetica", style="B", size=9)
    for width, head in zip(widths, ("#", "Description", "Quantity", "Amount"), strict=True):
        pdf.cell(width, 6, head, border="B", align="L" if head == "Description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for line in lines:
        cells = (
            str(line.position),
            line.description[:70],
            _quantity(line.quantity),
            _money(line.amount, invoice.currency),
        )
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 6, _latin1(text), align="L" if width == 100 else "R")
        pdf.ln()
    pdf.set_font("Helvetica", style="B", size=10)
    pdf.cell(sum(widths[:3]), 8, "Total", border="T", align="R")
    total = f"{_money(invoice.total, invoice.currency)} {invoice.currency}"
    pdf.cell(widths[3], 8, total, border="T", align="R")
    return bytes(pdf.output())
