"""The billing API through httpx against create_app: scopes, tenant isolation, lifecycle,
exports. Real PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from liftmeter.audit import list_audit

from billing_support import NOV, OCT, PLAN, add_lift, add_plan, ingest, october_calls
from factories import call_event
from gateway_harness import Harness, harness_with
from support import make_settings


@pytest.fixture
def gw(pg_url: str) -> Iterator[Harness]:
    with harness_with(make_settings(pg_url)) as harness:
        yield harness


def _october_invoice(gw: Harness, finance: dict[str, str]) -> tuple[str, dict[str, str], str]:
    """A merchant with October usage, a lift result and a draft; (merchant, headers, id)."""
    mid, headers = gw.merchant("Shop A")
    add_plan(gw.runtime.sessions, mid)
    ingest(gw.runtime.sessions, october_calls(mid))
    add_lift(gw.runtime.sessions, mid, OCT, NOV)
    r = gw.client.post("/v1/invoices/run", json={"period": "2026-10"}, headers=finance)
    assert r.status_code == 200, r.text
    r = gw.client.get("/v1/invoices", params={"merchant_id": mid}, headers=finance)
    (invoice,) = r.json()["data"]
    return mid, headers, invoice["id"]


def test_plans_are_written_by_finance_only_and_read_by_their_merchant(gw: Harness) -> None:
    finance = gw.staff("finance")
    mid, headers = gw.merchant("Shop A")
    other, other_headers = gw.merchant("Shop B")
    body = {"merchant_id": mid, "effective_from": "2026-11-01", "plan": PLAN, "reason": "new"}
    assert gw.client.post("/v1/plans", json=body, headers=headers).status_code == 403
    r = gw.client.post("/v1/plans", json=body, headers=finance)
    assert r.status_code == 201, r.text
    assert r.json()["monthly_spend_cap"] == "1000.00"
    again = gw.client.post("/v1/plans", json=body, headers=finance)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "plan_overlap")
    bad = {
        **body,
        "effective_from": "2026-12-01",
        "plan": {**PLAN, "charges": {"calls": {"unit_price": "-0.01"}}},
    }
    r = gw.client.post("/v1/plans", json=bad, headers=finance)
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "charges.calls.unit_price"
    r = gw.client.post("/v1/plans", json={**body, "effective_from": "2026-12-15"}, headers=finance)
    assert r.json()["error"]["param"] == "effective_from"
    euro = {**body, "effective_from": "2026-12-01", "plan": {**PLAN, "currency": "EUR"}}
    assert gw.client.post("/v1/plans", json=euro, headers=finance).json()["error"]["param"] == (
        "currency"
    )
    mine = gw.client.get("/v1/plans", headers=headers)
    assert [v["merchant_id"] for v in mine.json()] == [mid]
    assert (
        gw.client.get("/v1/plans", params={"merchant_id": mid}, headers=other_headers).status_code
        == 404
    )
    with gw.runtime.sessions() as session:
        assert [a.action for a in list_audit(session, merchant_id=mid)] == ["plan.set"]


def test_merchants_see_only_their_own_invoices(gw: Harness) -> None:
    finance = gw.staff("finance")
    mid, headers, invoice_id = _october_invoice(gw, finance)
    other, other_headers = gw.merchant("Shop B")
    r = gw.client.get(f"/v1/invoices/{invoice_id}", headers=headers)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "draft"
    assert Decimal(body["total"]) == sum(Decimal(line["amount"]) for line in body["lines"])
    assert any("lift_result_id" in line["lineage"] for line in body["lines"])
    for path in (f"/v1/invoices/{invoice_id}", f"/v1/invoices/{invoice_id}/export"):
        r = gw.client.get(path, headers=other_headers)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "invoice_not_found")
    assert gw.client.get("/v1/invoices", headers=other_headers).json()["data"] == []
    r = gw.client.get("/v1/invoices", params={"merchant_id": mid}, headers=other_headers)
    assert r.status_code == 404
    listed = gw.client.get(
        "/v1/invoices", params={"status": "draft", "period": "2026-10"}, headers=headers
    )
    assert [i["id"] for i in listed.json()["data"]] == [invoice_id]
    for action in ("finalize", "mark-paid"):
        r = gw.client.post(f"/v1/invoices/{invoice_id}/{action}", headers=headers)
        assert r.status_code == 403
    r = gw.client.post("/v1/invoices/run", json={"period": "2026-10"}, headers=headers)
    assert r.status_code == 403


def test_drill_down_from_a_line_to_ledger_hours(gw: Harness) -> None:
    finance = gw.staff("finance")
    _, headers, invoice_id = _october_invoice(gw, finance)
    lines = gw.client.get(f"/v1/invoices/{invoice_id}", headers=headers).json()["lines"]
    calls = next(line for line in lines if line["component"] == "calls")
    r = gw.client.get(f"/v1/invoices/{invoice_id}/lines/{calls['id']}/hours", headers=headers)
    assert r.status_code == 200
    hours = r.json()
    assert sum(h["calls"] for h in hours) == calls["lineage"]["ledger"]["calls"] == 30
    assert len(hours) == calls["lineage"]["ledger"]["hour_rows"]


def test_lifecycle_through_the_api_with_audit(gw: Harness) -> None:
    finance = gw.staff("finance")
    mid, headers, invoice_id = _october_invoice(gw, finance)
    r = gw.client.post(
        f"/v1/invoices/{invoice_id}/finalize", json={"reason": "month end"}, headers=finance
    )
    assert r.status_code == 200, r.text
    final = r.json()
    assert re.fullmatch(r"INV-\d{4}-000001", final["number"])
    assert final["status"] == "finalized"
    r = gw.client.post(f"/v1/invoices/{invoice_id}/finalize", headers=finance)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invoice_not_draft")
    r = gw.client.post(f"/v1/invoices/{invoice_id}/mark-paid", headers=finance)
    assert r.json()["status"] == "paid"
    r = gw.client.post(
        f"/v1/invoices/{invoice_id}/void", json={"reason": "duplicate"}, headers=finance
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invoice_paid")
    total = Decimal(final["total"])
    too_much = {"reason": "refund", "lines": [{"amount": str(total + 1), "description": "x"}]}
    r = gw.client.post(f"/v1/invoices/{invoice_id}/credit-notes", json=too_much, headers=finance)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "credit_exceeds_invoice")
    line_id = final["lines"][0]["id"]
    refund = {
        "reason": "refund",
        "lines": [
            {"amount": "0.01", "description": "goodwill", "invoice_line_id": line_id},
            {"amount": str(total - Decimal("0.01")), "description": "rest"},
        ],
    }
    r = gw.client.post(f"/v1/invoices/{invoice_id}/credit-notes", json=refund, headers=finance)
    assert r.status_code == 201, r.text
    assert re.fullmatch(r"CN-\d{4}-000001", r.json()["number"])
    assert Decimal(r.json()["total"]) == total
    r = gw.client.post(
        f"/v1/invoices/{invoice_id}/void", json={"reason": "refunded"}, headers=finance
    )
    assert r.json()["status"] == "void"
    assert gw.client.get(f"/v1/invoices/{invoice_id}", headers=headers).json()["credit_notes"]
    with gw.runtime.sessions() as session:
        audit = list_audit(session, subject_id=invoice_id)
    assert sorted(a.action for a in audit) == [
        "invoice.credit_note",
        "invoice.finalize",
        "invoice.mark_paid",
        "invoice.void",
    ]
    assert {a.actor for a in audit} == {audit[0].actor}
    assert audit[0].actor.startswith("key_")


def test_refusals_change_nothing(gw: Harness) -> None:
    finance = gw.staff("finance")
    mid, _ = gw.merchant("Quiet shop")
    add_plan(gw.runtime.sessions, mid, {"currency": "USD", "charges": {}})
    gw.client.post(
        "/v1/invoices/run", json={"period": "2026-10", "merchant_id": mid}, headers=finance
    )
    (draft,) = gw.client.get("/v1/invoices", params={"merchant_id": mid}, headers=finance).json()[
        "data"
    ]
    r = gw.client.post(f"/v1/invoices/{draft['id']}/finalize", headers=finance)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invoice_empty")
    after = gw.client.get(f"/v1/invoices/{draft['id']}", headers=finance).json()
    assert (after["status"], after["number"]) == ("draft", None)
    r = gw.client.post(f"/v1/invoices/{draft['id']}/void", json={"reason": "x"}, headers=finance)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invoice_not_finalized")
    r = gw.client.post("/v1/invoices/run", json={"period": "2099-01"}, headers=finance)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "period_in_future")
    r = gw.client.post("/v1/invoices/run", json={"period": "2026-13"}, headers=finance)
    assert (r.status_code, r.json()["error"]["param"]) == (400, "period")
    with gw.runtime.sessions() as session:
        assert list_audit(session, subject_id=draft["id"]) == []


def test_csv_and_pdf_exports_match_the_database(gw: Harness) -> None:
    finance = gw.staff("finance")
    mid, headers, invoice_id = _october_invoice(gw, finance)
    ingest(gw.runtime.sessions, [call_event(mid, 999, occurred_at=OCT + timedelta(days=1))])
    gw.client.post(f"/v1/invoices/{invoice_id}/finalize", headers=finance)
    stored = gw.client.get(f"/v1/invoices/{invoice_id}", headers=headers).json()
    r = gw.client.get(
        f"/v1/invoices/{invoice_id}/export", params={"format": "csv"}, headers=headers
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    lines, (total_row,) = rows[:-1], rows[-1:]
    assert total_row["kind"] == "total"
    assert Decimal(total_row["amount"]) == Decimal(stored["total"])
    assert sum(Decimal(row["amount"]) for row in lines) == Decimal(stored["total"])
    assert [row["amount"] for row in lines] == [
        str(Decimal(line["amount"]).quantize(Decimal("0.01"))) for line in stored["lines"]
    ]
    assert {row["invoice_number"] for row in rows} == {stored["number"]}
    r = gw.client.get(
        f"/v1/invoices/{invoice_id}/export", params={"format": "pdf"}, headers=headers
    )
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    text = (
        " ".join(s.decode("latin-1") for s in re.findall(rb"\((.*?)\) Tj", r.content))
        .replace("\\(", "(")
        .replace("\\)", ")")
    )
    total = Decimal(stored["total"]).quantize(Decimal("0.01"))
    assert f"{total} USD" in text
    assert stored["number"] in text
    for line in stored["lines"]:
        assert str(Decimal(line["amount"]).quantize(Decimal("0.01"))) in text
    r = gw.client.get(
        f"/v1/invoices/{invoice_id}/export", params={"format": "xls"}, headers=headers
    )
    assert (r.status_code, r.json()["error"]["param"]) == (400, "format")
