"""The finance console through the real gateway app on PostgreSQL (httpx TestClient)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceStatus
from liftmeter.audit import list_audit

from billing_support import draft_invoice
from dashboard_support import secret_of, sign_in
from gateway_harness import Harness, harness_with
from support import make_settings

TOTAL = re.compile(r'<strong id="invoice-total">([^<]+)</strong>')


@dataclass
class Books:
    gw: Harness
    merchant_a: str
    key_a: str
    invoice_a: str
    merchant_b: str
    key_b: str
    invoice_b: str
    finance: str


@pytest.fixture
def books(pg_url: str) -> Iterator[Books]:
    with harness_with(make_settings(pg_url)) as gw:
        a, headers_a = gw.merchant("Shop A")
        b, headers_b = gw.merchant("Shop B")
        finance = secret_of(gw.staff("finance"))
        invoice_a = draft_invoice(gw.runtime.sessions, a)
        invoice_b = draft_invoice(gw.runtime.sessions, b)
        gw.client.cookies.clear()
        yield Books(
            gw, a, secret_of(headers_a), invoice_a, b, secret_of(headers_b), invoice_b, finance
        )


def page_total(html: str) -> Decimal:
    match = TOTAL.search(html)
    assert match, "no total on the page"
    return Decimal(match.group(1).replace(",", ""))


def stored(books: Books, invoice_id: str) -> Invoice:
    with books.gw.runtime.sessions() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        session.expunge(invoice)
        return invoice


class TestList:
    def test_finance_filters_by_merchant_status_and_period(self, books: Books) -> None:
        client = books.gw.client
        sign_in(client, books.finance, "/dashboard/invoices")
        everyone = client.get("/dashboard/invoices?period=2026-10").text
        assert books.invoice_a in everyone
        assert books.invoice_b in everyone
        assert '<strong id="kpi-invoices">2</strong>' in everyone
        only_a = client.get(f"/dashboard/invoices?merchant_id={books.merchant_a}").text
        assert books.invoice_a in only_a
        assert books.invoice_b not in only_a
        total_a = stored(books, books.invoice_a).total
        assert f'data-currency="USD">{Decimal(total_a):,.2f}</strong>' in only_a
        assert books.invoice_a not in client.get("/dashboard/invoices?status=paid").text
        assert books.invoice_a not in client.get("/dashboard/invoices?period=2026-09").text

    @pytest.mark.parametrize("query", ["status=open", "period=october"])
    def test_bad_filters_name_the_parameter(self, books: Books, query: str) -> None:
        client = books.gw.client
        sign_in(client, books.finance, "/dashboard/invoices")
        r = client.get(f"/dashboard/invoices?{query}")
        assert r.status_code == 400
        assert f"({query.split('=')[0]})" in r.text

    def test_a_merchant_lists_only_its_own_invoices(self, books: Books) -> None:
        client = books.gw.client
        sign_in(client, books.key_a, "/dashboard/invoices")
        r = client.get("/dashboard/invoices")
        assert books.invoice_a in r.text
        assert books.invoice_b not in r.text
        assert client.get(f"/dashboard/invoices?merchant_id={books.merchant_b}").status_code == 404


class TestDetail:
    def test_lines_show_their_lineage_and_the_total_is_stored(self, books: Books) -> None:
        client = books.gw.client
        sign_in(client, books.finance, "/dashboard/invoices")
        r = client.get(f"/dashboard/invoices/{books.invoice_a}")
        assert r.status_code == 200
        assert page_total(r.text) == Decimal(stored(books, books.invoice_a).total)
        assert "usage_hourly" in r.text
        assert "risk_verdict=pass" in r.text
        assert "calls 30" in r.text  # the October calls the usage lines were summed from
        assert f'href="/dashboard/lift/exp_{books.merchant_a}#result-' in r.text
        assert "Pending review, not billed" in r.text  # review calls with no decision yet
        assert 'id="finalize-form"' in r.text
        assert "invoice.finalize" not in r.text

    def test_a_merchant_reads_its_invoice_without_actions(self, books: Books) -> None:
        client = books.gw.client
        sign_in(client, books.key_a, "/dashboard/invoices")
        r = client.get(f"/dashboard/invoices/{books.invoice_a}")
        assert r.status_code == 200
        assert '<form method="post" action="/dashboard/invoices/' not in r.text
        assert 'id="invoice-audit"' not in r.text
        assert 'id="export-csv"' in r.text

    def test_another_merchants_invoice_is_not_found(self, books: Books) -> None:
        client = books.gw.client
        sign_in(client, books.key_a, "/dashboard/invoices")
        for path in ("", "/export?format=csv", "/export?format=pdf"):
            r = client.get(f"/dashboard/invoices/{books.invoice_b}{path}")
            assert r.status_code == 404
            assert "text/html" in r.headers["content-type"]
            assert books.invoice_b not in r.text
        assert client.get("/dashboard/invoices/inv_missing").status_code == 404


class TestActions:
    def test_finalize_numbers_the_invoice_and_shows_its_audit_row(self, books: Books) -> None:
        client = books.gw.client
        token = sign_in(client, books.finance, f"/dashboard/invoices/{books.invoice_a}")
        r = client.post(
            f"/dashboard/invoices/{books.invoice_a}/finalize",
            data={"csrf_token": token, "reason": "month closed"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        invoice = stored(books, books.invoice_a)
        assert invoice.status == InvoiceStatus.FINALIZED
        assert invoice.number is not None
        page = client.get(r.headers["location"]).text
        assert "Invoice finalized." in page
        assert f'<strong id="invoice-number">{invoice.number}</strong>' in page
        audit = page[page.index('id="invoice-audit"') :]
        assert "invoice.finalize" in audit
        assert "month closed" in audit
        assert 'id="mark-paid-form"' in page
        assert 'id="finalize-form"' not in page

    def test_finalizing_twice_is_a_message_not_an_error_page(self, books: Books) -> None:
        client = books.gw.client
        token = sign_in(client, books.finance, f"/dashboard/invoices/{books.invoice_a}")
        url = f"/dashboard/invoices/{books.invoice_a}/finalize"
        assert client.post(url, data={"csrf_token": token}).status_code == 200
        number = stored(books, books.invoice_a).number
        again = client.post(url, data={"csrf_token": token})
        assert again.status_code == 409
        assert 'id="action-error"' in again.text
        assert f"invoice {number} is finalized" in again.text
        assert "invoice_not_draft" in again.text
        assert f'<strong id="invoice-number">{number}</strong>' in again.text
        with books.gw.runtime.sessions() as session:
            rows = list_audit(session, subject_type="invoice", subject_id=books.invoice_a)
        assert [e.action for e in rows] == ["invoice.finalize"]

    def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
        self, books: Books
    ) -> None:
        client = books.gw.client
        sign_in(client, books.finance, f"/dashboard/invoices/{books.invoice_a}")
        url = f"/dashboard/invoices/{books.invoice_a}/finalize"
        assert client.post(url, data={}).status_code == 403
        assert client.post(url, data={"csrf_token": "x" * 43}).status_code == 403
        assert stored(books, books.invoice_a).status == InvoiceStatus.DRAFT

    def test_merchants_cannot_act_even_on_their_own_invoice(self, books: Books) -> None:
        client = books.gw.client
        token = sign_in(client, books.key_a, f"/dashboard/invoices/{books.invoice_a}")
        r = client.post(
            f"/dashboard/invoices/{books.invoice_a}/finalize", data={"csrf_token": token}
        )
        assert r.status_code == 403
        assert stored(books, books.invoice_a).status == InvoiceStatus.DRAFT

    def test_void_without_reason_and_paying_a_draft_are_messages(self, books: Books) -> None:
        client = books.gw.client
        token = sign_in(client, books.finance, f"/dashboard/invoices/{books.invoice_a}")
        base = f"/dashboard/invoices/{books.invoice_a}"
        paid = client.post(f"{base}/mark-paid", data={"csrf_token": token})
        assert paid.status_code == 409
        assert "only a finalized invoice can be paid" in paid.text
        client.post(f"{base}/finalize", data={"csrf_token": token})
        void = client.post(f"{base}/void", data={"csrf_token": token, "reason": "  "})
        assert void.status_code == 400
        assert "a reason is required to void an invoice (reason)" in void.text
        assert stored(books, books.invoice_a).status == InvoiceStatus.FINALIZED

    def test_credit_note_then_pay_then_void(self, books: Books) -> None:
        client = books.gw.client
        token = sign_in(client, books.finance, f"/dashboard/invoices/{books.invoice_a}")
        base = f"/dashboard/invoices/{books.invoice_a}"
        client.post(f"{base}/finalize", data={"csrf_token": token})
        total = Decimal(stored(books, books.invoice_a).total)
        too_much = client.post(
            f"{base}/credit-notes",
            data={
                "csrf_token": token,
                "reason": "goodwill",
                "amount": [str(total + 1), ""],
                "description": ["too much", ""],
                "invoice_line_id": ["", ""],
            },
        )
        assert too_much.status_code == 400
        assert "credits would exceed the invoice total" in too_much.text
        assert 'value="goodwill"' in too_much.text  # the form keeps what was typed
        line_id = f"{books.invoice_a}-0001"
        r = client.post(
            f"{base}/credit-notes",
            data={
                "csrf_token": token,
                "reason": "goodwill",
                "amount": [str(total - Decimal("0.01")), "0.01", ""],
                "description": ["most of it", "the rest", ""],
                "invoice_line_id": [line_id, "", ""],
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get(r.headers["location"]).text
        assert "Credit note issued." in page
        assert "CN-" in page
        assert client.post(f"{base}/mark-paid", data={"csrf_token": token}).status_code == 200
        voided = client.post(f"{base}/void", data={"csrf_token": token, "reason": "refunded"})
        assert voided.status_code == 200
        assert stored(books, books.invoice_a).status == InvoiceStatus.VOID
        with books.gw.runtime.sessions() as session:
            actions = [
                e.action
                for e in list_audit(session, subject_type="invoice", subject_id=books.invoice_a)
            ]
        assert sorted(actions) == sorted(
            ["invoice.finalize", "invoice.credit_note", "invoice.mark_paid", "invoice.void"]
        )


class TestExport:
    def test_csv_total_equals_the_page_total(self, books: Books) -> None:
        client = books.gw.client
        sign_in(client, books.key_a, f"/dashboard/invoices/{books.invoice_a}")
        page = client.get(f"/dashboard/invoices/{books.invoice_a}").text
        r = client.get(f"/dashboard/invoices/{books.invoice_a}/export?format=csv")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert rows[-1]["kind"] == "total"
        assert Decimal(rows[-1]["amount"]) == page_total(page)
        assert sum(Decimal(row["amount"]) for row in rows[:-1]) == page_total(page)

    def test_pdf_and_unknown_formats(self, books: Books) -> None:
        client = books.gw.client
        sign_in(client, books.finance, f"/dashboard/invoices/{books.invoice_a}")
        pdf = client.get(f"/dashboard/invoices/{books.invoice_a}/export?format=pdf")
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")
        bad = client.get(f"/dashboard/invoices/{books.invoice_a}/export?format=xlsx")
        assert bad.status_code == 400
        assert "(format)" in bad.text
