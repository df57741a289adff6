"""End to end on PostgreSQL: call events → usage ledger → lift result → invoices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from billing.errors import InvoiceNotDraft, PeriodInFuture
from billing.invoice import Period, run_invoices
from billing.models import Invoice, InvoiceLine
from billing.plans import Component
from billing.pricing import LineKind
from billing.service import finalize_invoice
from liftmeter.audit import list_audit
from liftmeter.events import CallCompleted
from liftmeter.money import quantize
from liftmeter.runtime import Runtime, open_runtime
from metering.models import UsageAdjustment

from billing_support import (
    DEC,
    NOV,
    OCT,
    add_lift,
    add_merchants,
    add_plan,
    another_pg_database,
    ingest,
    invoice_snapshot,
    october_calls,
)
from factories import call_event
from support import make_settings

AFTER_NOV = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.fixture
def rt(pg_url: str) -> Iterator[Runtime]:
    runtime = open_runtime(make_settings(pg_url))
    yield runtime
    runtime.close()


def _setup(rt: Runtime) -> list[CallCompleted]:
    add_merchants(rt.sessions, ["mer_a", "mer_b", "mer_c"])
    add_plan(rt.sessions, "mer_a")
    add_plan(rt.sessions, "mer_b")  # no usage: only the minimum commitment
    events = october_calls("mer_a")
    ingest(rt.sessions, events)
    add_lift(rt.sessions, "mer_a", OCT, NOV)
    return events


def _run(rt: Runtime, period: str, **kw: object):  # type: ignore[no-untyped-def]
    with rt.sessions.begin() as session:
        return run_invoices(session, period=Period.parse(period), actor="test", **kw)  # type: ignore[arg-type]


def _invoice(rt: Runtime, merchant_id: str, start: datetime) -> tuple[Invoice, list[InvoiceLine]]:
    with rt.sessions() as session:
        inv = session.scalars(
            select(Invoice).where(Invoice.merchant_id == merchant_id, Invoice.period_start == start)
        ).one()
        lines = list(
            session.scalars(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == inv.id)
                .order_by(InvoiceLine.position)
            )
        )
        session.expunge_all()
    return inv, lines


def test_invoice_from_events_ledger_and_lift(rt: Runtime) -> None:
    events = _setup(rt)
    summary = _run(rt, "2026-10")
    assert (summary.created, summary.skipped_no_plan) == (2, 1)
    inv, lines = _invoice(rt, "mer_a", OCT)
    by = {(line.kind, line.component, line.position): line for line in lines}
    served = [e for e in events if e.risk_verdict == "pass" and not e.cache_hit]
    prompt = sum(e.prompt_tokens for e in served)
    completion = sum(e.completion_tokens for e in served)
    usage = {line.component: line for line in lines if line.kind == LineKind.USAGE}
    assert usage[Component.PROMPT_TOKENS].quantity == prompt - 1000  # 1,000 included
    assert usage[Component.PROMPT_TOKENS].amount == quantize(
        Decimal(prompt - 1000) * Decimal("0.002") / 1000, "USD"
    )
    assert usage[Component.COMPLETION_TOKENS].quantity == completion
    calls = [line for line in lines if line.component == Component.CALLS]
    assert [(line.quantity, line.amount) for line in calls] == [
        (10, Decimal("0.50")),
        (20, Decimal("0.40")),
    ]
    assert usage[Component.CACHE_HITS].quantity == 5
    withheld = [line for line in lines if line.kind == LineKind.WITHHELD]
    assert sorted((line.quantity, line.amount) for line in withheld) == [
        (2, Decimal("0")),
        (3, Decimal("0")),
    ]
    share = next(line for line in lines if line.kind == LineKind.REVENUE_SHARE)
    assert share.amount == min(quantize(share.quantity * Decimal("0.1"), "USD"), Decimal("500.00"))
    assert share.lineage["lift_result_id"].startswith("lr_")
    assert Decimal(inv.total) == sum(Decimal(line.amount) for line in lines)
    ledger = usage[Component.PROMPT_TOKENS].lineage["ledger"]
    assert ledger["calls"] == len(served)
    assert ledger["filter"] == {"risk_verdict": "pass", "cache_hit": False}
    assert ledger["hour_from"] == (OCT + timedelta(days=3, hours=5)).isoformat()
    assert ledger["hour_rows"] == 30
    assert usage[Component.CALLS].lineage["plan_version_id"].startswith("plv_")
    assert by  # lines are keyed by position
    minimum_only, b_lines = _invoice(rt, "mer_b", OCT)
    assert [(line.kind, line.amount) for line in b_lines] == [(LineKind.MINIMUM, Decimal("5.00"))]


def test_running_twice_gives_the_same_draft(rt: Runtime) -> None:
    _setup(rt)
    _run(rt, "2026-10")
    first = _invoice(rt, "mer_a", OCT)
    again = _run(rt, "2026-10")
    assert again.recomputed == 2
    second = _invoice(rt, "mer_a", OCT)
    assert first[0].id == second[0].id
    assert [(x.id, x.amount, x.lineage_json) for x in first[1]] == [
        (x.id, x.amount, x.lineage_json) for x in second[1]
    ]


def test_a_draft_is_recomputed_as_data_arrives(rt: Runtime) -> None:
    _setup(rt)
    _run(rt, "2026-10")
    before = _invoice(rt, "mer_a", OCT)[0].total
    ingest(
        rt.sessions,
        [call_event("mer_a", 900 + i, occurred_at=OCT + timedelta(days=9)) for i in range(5)],
    )
    _run(rt, "2026-10")
    assert _invoice(rt, "mer_a", OCT)[0].total > before


def test_future_periods_are_refused(rt: Runtime) -> None:
    add_merchants(rt.sessions, ["mer_a"])
    with pytest.raises(PeriodInFuture) as raised:
        _run(rt, "2026-12", now=datetime(2026, 11, 28, tzinfo=UTC))
    assert raised.value.param == "period"


def _finalize(rt: Runtime, merchant_id: str, start: datetime, now: datetime | None = None) -> str:
    inv, _ = _invoice(rt, merchant_id, start)
    with rt.sessions.begin() as session:
        done = finalize_invoice(session, inv.id, actor="finance-key", reason="month end", now=now)
        return str(done.number)


def test_finalized_invoices_cannot_be_changed(rt: Runtime) -> None:
    _setup(rt)
    _run(rt, "2026-10")
    assert _finalize(rt, "mer_a", OCT) == f"INV-{datetime.now(UTC).year}-000001"
    inv, lines = _invoice(rt, "mer_a", OCT)
    with rt.sessions.begin() as session, pytest.raises(InvoiceNotDraft):
        finalize_invoice(session, inv.id, actor="finance-key")
    for statement in (
        f"UPDATE invoices SET total = 0 WHERE id = '{inv.id}'",
        f"UPDATE invoices SET status = 'draft' WHERE id = '{inv.id}'",
        f"DELETE FROM invoices WHERE id = '{inv.id}'",
        f"UPDATE invoice_lines SET amount = 0 WHERE id = '{lines[0].id}'",
        f"DELETE FROM invoice_lines WHERE id = '{lines[0].id}'",
        f"INSERT INTO invoice_lines (id, invoice_id, position, kind, description, quantity, "
        f"amount, lineage_json) VALUES ('x', '{inv.id}', 99, 'usage', 'x', 1, 1, '{{}}')",
    ):
        with pytest.raises(DBAPIError), rt.engine.begin() as conn:
            conn.execute(text(statement))
    assert _invoice(rt, "mer_a", OCT)[0].total == inv.total
    # a rerun of the period leaves the finalized invoice alone
    assert _run(rt, "2026-10").skipped_final == 1
    with rt.sessions() as session:
        actions = [a.action for a in list_audit(session, subject_id=inv.id)]
    assert actions == ["invoice.finalize"]


def test_a_late_event_becomes_an_adjustment_on_the_next_invoice(rt: Runtime) -> None:
    _setup(rt)
    _run(rt, "2026-10")
    _finalize(rt, "mer_a", OCT)
    oct_total = _invoice(rt, "mer_a", OCT)[0].total
    late = [call_event("mer_a", 500 + i, occurred_at=OCT + timedelta(days=20)) for i in range(4)]
    ingest(rt.sessions, late)
    assert _invoice(rt, "mer_a", OCT)[0].total == oct_total  # the October invoice is frozen
    ingest(rt.sessions, [call_event("mer_a", 600, occurred_at=NOV + timedelta(days=2))])
    _run(rt, "2026-11")
    inv, lines = _invoice(rt, "mer_a", NOV)
    adjustments = [line for line in lines if line.kind == LineKind.ADJUSTMENT]
    calls = next(line for line in adjustments if line.component == Component.CALLS)
    assert (calls.quantity, calls.amount) == (4, Decimal("0.08"))  # continues tier 2 at 0.02
    assert len(calls.lineage["adjustment_ids"]) == 4
    assert calls.lineage["adjusts_period"] == OCT.isoformat()
    assert calls.lineage["adjusts_invoice"].startswith("INV-")
    _finalize(rt, "mer_a", NOV, now=AFTER_NOV)
    with rt.sessions() as session:
        settled = session.scalars(select(UsageAdjustment.settled_by)).all()
    assert settled == [inv.id] * 4
    # a December draft no longer bills them
    _run(rt, "2026-12", now=AFTER_NOV)
    _, dec_lines = _invoice(rt, "mer_a", DEC)
    assert all(line.kind != LineKind.ADJUSTMENT for line in dec_lines)


def _scenario(rt: Runtime, events: list[CallCompleted], late: list[CallCompleted]) -> None:
    add_merchants(rt.sessions, ["mer_a", "mer_b"])
    add_plan(rt.sessions, "mer_a")
    add_plan(rt.sessions, "mer_b")
    ingest(rt.sessions, events)
    add_lift(rt.sessions, "mer_a", OCT, NOV)
    _run(rt, "2026-10")
    _finalize(rt, "mer_a", OCT, now=AFTER_NOV)
    _finalize(rt, "mer_b", OCT, now=AFTER_NOV)
    ingest(rt.sessions, late)
    _run(rt, "2026-11", now=AFTER_NOV)


def test_replaying_all_events_into_a_fresh_database_gives_identical_invoices(
    rt: Runtime, pg_template: str
) -> None:
    events = october_calls("mer_a") + october_calls("mer_b")
    events += [
        call_event("mer_b", 700 + i, occurred_at=NOV + timedelta(hours=i), prompt_tokens=1234 + i)
        for i in range(40)
    ]
    late = [call_event("mer_a", 800 + i, occurred_at=OCT + timedelta(days=25)) for i in range(7)]
    _scenario(rt, events, late)
    with another_pg_database(pg_template) as url:
        replay = open_runtime(make_settings(url))
        try:
            _scenario(replay, list(reversed(events)), late)
            assert invoice_snapshot(replay.sessions) == invoice_snapshot(rt.sessions)
        finally:
            replay.close()
    assert len(invoice_snapshot(rt.sessions)) == 4
