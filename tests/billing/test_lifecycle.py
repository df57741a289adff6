"""Plan versions and the invoice lifecycle in the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from billing import service
from billing.errors import (
    CreditExceedsInvoice,
    InvoiceNotFinalized,
    InvoiceNotFound,
    InvoicePaid,
    PlanOverlap,
)
from billing.invoice import Period, run_invoices
from billing.models import Invoice
from liftmeter.audit import list_audit
from liftmeter.errors import ValidationFailed
from liftmeter.runtime import Runtime, open_runtime

from billing_support import NOV, PLAN, add_merchants, add_plan, ingest, october_calls
from support import make_settings


@pytest.fixture
def rt(db_url: str) -> Iterator[Runtime]:
    runtime = open_runtime(make_settings(db_url))
    add_merchants(runtime.sessions, ["mer_a", "mer_b"])
    yield runtime
    runtime.close()


def _set(rt: Runtime, effective_from: str, now: datetime, **spec: object):  # type: ignore[no-untyped-def]
    with rt.sessions.begin() as session:
        return service.set_plan(
            session,
            merchant_id="mer_a",
            effective_from=effective_from,
            spec={**PLAN, **spec},
            actor="finance",
            now=now,
        )


def test_plan_changes_apply_forward_and_never_rewrite_the_past(rt: Runtime) -> None:
    now = datetime(2026, 10, 15, tzinfo=UTC)
    first = _set(rt, "2026-10-01", now)
    with pytest.raises(PlanOverlap) as raised:
        _set(rt, "2026-10-01", now)
    assert raised.value.param == "effective_from"
    with pytest.raises(PlanOverlap):
        _set(rt, "2026-09-01", now)  # before the current month
    second = _set(rt, "2026-12-01", now, minimum_commitment="99")
    with pytest.raises(PlanOverlap):
        _set(rt, "2026-11-01", now)  # would slide in before an existing version
    with pytest.raises(ValidationFailed) as bad:
        _set(rt, "2026-12-02", now)
    assert bad.value.param == "effective_from"
    with rt.sessions() as session:
        in_nov = service.monthly_spend_cap(session, "mer_a", NOV)
        versions = service.list_plans(session, "mer_a")
        assert [v.id for v in versions] == [first.id, second.id]
        assert service.monthly_spend_cap(session, "mer_b", NOV) is None
    assert in_nov == Decimal("1000.00")
    with pytest.raises(DBAPIError), rt.engine.begin() as conn:
        conn.execute(text(f"UPDATE plan_versions SET spec_json = '{{}}' WHERE id = '{first.id}'"))


def _finalized_october(rt: Runtime, plan_from: str = "2026-10-01") -> Invoice:
    add_plan(rt.sessions, "mer_a", effective_from=plan_from)
    ingest(rt.sessions, october_calls("mer_a"))
    with rt.sessions.begin() as session:
        run_invoices(session, period=Period.parse("2026-10"))
    with rt.sessions.begin() as session:
        (invoice_id,) = session.execute(text("SELECT id FROM invoices")).scalars()
        invoice = service.finalize_invoice(session, invoice_id, actor="finance", reason="close")
        session.expunge(invoice)
    return invoice


def test_finalized_invoice_is_immutable_in_the_database(rt: Runtime) -> None:
    invoice = _finalized_october(rt)
    assert invoice.number is not None
    for statement in (
        f"UPDATE invoices SET total = 1 WHERE id = '{invoice.id}'",
        f"UPDATE invoices SET number = 'X' WHERE id = '{invoice.id}'",
        f"UPDATE invoices SET status = 'draft' WHERE id = '{invoice.id}'",
        f"DELETE FROM invoices WHERE id = '{invoice.id}'",
        f"UPDATE invoice_lines SET amount = 1 WHERE invoice_id = '{invoice.id}'",
        f"DELETE FROM invoice_lines WHERE invoice_id = '{invoice.id}'",
    ):
        with pytest.raises(DBAPIError), rt.engine.begin() as conn:
            conn.execute(text(statement))
    with rt.engine.begin() as conn:  # the one allowed move, e.g. by a payment import
        conn.execute(text(f"UPDATE invoices SET status = 'paid' WHERE id = '{invoice.id}'"))
    # and a plan change may no longer reach into the billed October
    with pytest.raises(PlanOverlap):
        _set(rt, "2026-10-01", datetime(2026, 10, 2, tzinfo=UTC))


def test_a_plan_change_may_not_reprice_a_finalized_period(rt: Runtime) -> None:
    invoice = _finalized_october(rt, plan_from="2026-09-01")
    with pytest.raises(PlanOverlap) as raised:
        _set(rt, "2026-10-01", datetime(2026, 10, 3, tzinfo=UTC))
    assert raised.value.message == f"would reprice the finalized invoice {invoice.number}"
    _set(rt, "2026-11-01", datetime(2026, 11, 3, tzinfo=UTC))  # the next period is fine


def test_void_pay_and_credit_rules(rt: Runtime) -> None:
    invoice = _finalized_october(rt)
    total = Decimal(invoice.total)
    with rt.sessions.begin() as session:
        service.mark_paid(session, invoice.id, actor="finance")
    with rt.sessions.begin() as session, pytest.raises(InvoicePaid):
        service.void_invoice(session, invoice.id, actor="finance", reason="oops")
    with rt.sessions.begin() as session, pytest.raises(InvoiceNotFinalized):
        service.mark_paid(session, invoice.id, actor="finance")
    items = [service.CreditItem("0.001", "sub-cent")]
    with rt.sessions.begin() as session, pytest.raises(ValidationFailed) as raised:
        service.issue_credit_note(session, invoice.id, items=items, actor="f", reason="r")
    assert raised.value.param == "lines[0].amount"
    items = [service.CreditItem(str(total + Decimal("0.01")), "too much")]
    with rt.sessions.begin() as session, pytest.raises(CreditExceedsInvoice):
        service.issue_credit_note(session, invoice.id, items=items, actor="f", reason="r")
    half = (total / 2).quantize(Decimal("0.01"))
    with rt.sessions.begin() as session:
        first = service.issue_credit_note(
            session,
            invoice.id,
            items=[service.CreditItem(str(half), "half")],
            actor="f",
            reason="partial refund",
        )
        second = service.issue_credit_note(
            session,
            invoice.id,
            items=[service.CreditItem(str(total - half), "rest")],
            actor="f",
            reason="rest",
        )
        numbers = (first.number, second.number)
    year = datetime.now(UTC).year
    assert numbers == (f"CN-{year}-000001", f"CN-{year}-000002")
    with rt.sessions.begin() as session:
        voided = service.void_invoice(session, invoice.id, actor="finance", reason="refunded")
        assert voided.status == "void"
    with rt.sessions() as session:
        actions = sorted(a.action for a in list_audit(session, subject_id=invoice.id))
        with pytest.raises(InvoiceNotFound):
            service.get_invoice(session, invoice.id, merchant_id="mer_b")
    assert actions == sorted(
        [
            "invoice.finalize",
            "invoice.mark_paid",
            "invoice.credit_note",
            "invoice.credit_note",
            "invoice.void",
        ]
    )


def test_numbers_are_sequential_per_merchant(rt: Runtime) -> None:
    first = _finalized_october(rt)
    ingest(
        rt.sessions,
        [
            c.model_copy(
                update={
                    "event_id": c.event_id.__class__(int=i + 1),
                    "occurred_at": c.occurred_at + timedelta(days=31),
                }
            )
            for i, c in enumerate(october_calls("mer_a"))
        ],
    )
    with rt.sessions.begin() as session:
        run_invoices(session, period=Period.parse("2026-11"))
    with rt.sessions.begin() as session:
        (nov_id,) = session.execute(
            text("SELECT id FROM invoices WHERE status = 'draft'")
        ).scalars()
        nov = service.finalize_invoice(
            session, nov_id, actor="finance", now=datetime(2026, 12, 1, 1, tzinfo=UTC)
        )
        assert nov.number == "INV-2026-000002"
    assert first.number == f"INV-{datetime.now(UTC).year}-000001"
