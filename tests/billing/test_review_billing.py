"""Review calls on invoices: approved ones billed like `pass` calls, pending and rejected
ones withheld, approvals after finalization billed once on the next invoice. SQLite and
PostgreSQL, through the metering handler, the review queue service and the invoice run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from billing.invoice import Period, run_invoices
from billing.models import Invoice, InvoiceLine, ReviewSettlement
from billing.plans import Component
from billing.pricing import LineKind
from billing.service import finalize_invoice
from liftmeter.audit import list_audit
from liftmeter.events import CallCompleted
from liftmeter.money import quantize
from liftmeter.runtime import Runtime, open_runtime
from metering.repository import as_utc

from billing_support import (
    DEC,
    NOV,
    OCT,
    PLAN,
    add_merchants,
    add_plan,
    decide,
    ingest,
    queue_reviews,
)
from factories import call_event
from support import make_settings

AFTER_NOV = datetime(2026, 12, 2, tzinfo=UTC)
NO_MINIMUM = {**PLAN, "minimum_commitment": "0"}  # a true-up would hide the usage deltas
AT = OCT + timedelta(days=3, hours=5)


@pytest.fixture
def rt(db_url: str) -> Iterator[Runtime]:
    runtime = open_runtime(make_settings(db_url))
    add_merchants(runtime.sessions, ["mer_a", "mer_b"])
    add_plan(runtime.sessions, "mer_a", NO_MINIMUM)
    add_plan(runtime.sessions, "mer_b", NO_MINIMUM)
    yield runtime
    runtime.close()


def _passes(merchant_id: str) -> list[CallCompleted]:
    return [call_event(merchant_id, i, occurred_at=AT + timedelta(hours=i)) for i in range(12)]


def _reviewed(merchant_id: str, verdict: str) -> dict[str, CallCompleted]:
    """The calls a reviewer decides, by outcome; with `verdict` pass they are the twins
    of a merchant whose risk screen let them through."""
    spec = {
        "approved": (200, 1500, 700, False),
        "rejected": (201, 2500, 800, False),
        "pending": (202, 3500, 900, False),
        "approved_hit": (203, 0, 0, True),
    }
    return {
        name: call_event(
            merchant_id,
            seq,
            occurred_at=AT + timedelta(hours=2),
            risk_verdict=verdict,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cache_hit=hit,
        )
        for name, (seq, prompt, completion, hit) in spec.items()
    }


@dataclass
class Queue:
    calls: dict[str, CallCompleted]
    items: dict[str, str]


def _october(rt: Runtime) -> Queue:
    """mer_a: 12 pass calls and four review calls (two approved, one rejected, one pending).
    mer_b: the same pass calls plus twins of the approved ones with verdict pass."""
    reviewed = _reviewed("mer_a", "review")
    ingest(rt.sessions, _passes("mer_a") + list(reviewed.values()))
    ids = dict(zip(reviewed, queue_reviews(rt.sessions, reviewed.values()), strict=True))
    for name in ("approved", "approved_hit"):
        decide(rt.sessions, ids[name], approve=True)
    decide(rt.sessions, ids["rejected"], approve=False)
    twins = _reviewed("mer_b", "pass")
    ingest(rt.sessions, _passes("mer_b") + [twins["approved"], twins["approved_hit"]])
    return Queue(reviewed, ids)


def _run(rt: Runtime, period: datetime, now: datetime | None = None) -> Any:
    with rt.sessions.begin() as session:
        return run_invoices(session, period=Period.of(period), now=now, actor="test")


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


def _finalize(rt: Runtime, merchant_id: str, start: datetime, now: datetime | None = None) -> str:
    inv, _ = _invoice(rt, merchant_id, start)
    with rt.sessions.begin() as session:
        return str(finalize_invoice(session, inv.id, actor="finance", now=now).number)


def _usage(lines: list[InvoiceLine]) -> list[tuple[str, str | None, Decimal, Decimal]]:
    return [
        (line.kind, line.component, Decimal(line.quantity), Decimal(line.amount))
        for line in lines
        if line.kind in (LineKind.USAGE, LineKind.INCLUDED)
    ]


def _tokens_amount(tokens: int, included: int, price: str) -> Decimal:
    return quantize(Decimal(tokens - included) * Decimal(price) / 1000, "USD")


def test_a_draft_bills_exactly_the_approved_review_calls(rt: Runtime) -> None:
    queue = _october(rt)
    _run(rt, OCT)
    inv, lines = _invoice(rt, "mer_a", OCT)
    passes = _passes("mer_a")
    approved = queue.calls["approved"]
    prompt = sum(e.prompt_tokens for e in passes) + approved.prompt_tokens
    completion = sum(e.completion_tokens for e in passes) + approved.completion_tokens
    usage = {(line.component, line.description): line for line in lines if line.kind == "usage"}
    calls = [line for line in lines if line.component == Component.CALLS]
    assert [(line.quantity, line.amount) for line in calls] == [
        (10, Decimal("0.50")),
        (3, Decimal("0.06")),  # 12 pass + 1 approved, tier 2 at 0.02
    ]
    prompt_line = usage[(Component.PROMPT_TOKENS, "Prompt tokens (per 1k)")]
    assert prompt_line.quantity == prompt - 1000
    assert prompt_line.amount == _tokens_amount(prompt, 1000, "0.002")
    completion_line = usage[(Component.COMPLETION_TOKENS, "Completion tokens (per 1k)")]
    assert (completion_line.quantity, completion_line.amount) == (
        completion,
        _tokens_amount(completion, 0, "0.006"),
    )
    hits = usage[(Component.CACHE_HITS, "Cache hits")]
    assert hits.quantity == 1  # the approved cache hit, at the cache-hit price
    # billed exactly like the twin merchant whose screen passed the approved calls
    twin, twin_lines = _invoice(rt, "mer_b", OCT)
    assert _usage(lines) == _usage(twin_lines)
    assert Decimal(inv.total) == Decimal(twin.total) == sum(Decimal(x.amount) for x in lines)
    reviewed = calls[0].lineage["approved_review"]
    assert reviewed["review_item_ids"] == [queue.items["approved"]]
    assert (reviewed["calls"], reviewed["prompt_tokens"], reviewed["completion_tokens"]) == (
        1,
        1500,
        700,
    )
    assert reviewed["filter"] == {
        "risk_verdict": "review",
        "review_status": "approved",
        "cache_hit": False,
    }
    assert calls[0].lineage["ledger"]["calls"] == 12  # the pass calls, from usage_hourly
    assert hits.lineage["approved_review"]["review_item_ids"] == [queue.items["approved_hit"]]
    withheld = {line.description: line for line in lines if line.kind == LineKind.WITHHELD}
    assert sorted(withheld) == ["Pending review, not billed", "Rejected in review, not billed"]
    pending = withheld["Pending review, not billed"]
    rejected = withheld["Rejected in review, not billed"]
    assert (pending.quantity, pending.amount, rejected.quantity, rejected.amount) == (1, 0, 1, 0)
    assert rejected.lineage["review"]["review_item_ids"] == [queue.items["rejected"]]
    assert rejected.lineage["review"]["prompt_tokens"] == 2500
    assert pending.lineage["review"]["filter"] == {
        "risk_verdict": "review",
        "review_status": "pending",
    }
    assert pending.lineage["review"]["completion_tokens"] == 900


def test_running_twice_gives_the_same_draft_and_an_approval_moves_a_call_to_billed(
    rt: Runtime,
) -> None:
    queue = _october(rt)
    _run(rt, OCT)
    first = _invoice(rt, "mer_a", OCT)
    assert _run(rt, OCT).recomputed == 2
    second = _invoice(rt, "mer_a", OCT)
    assert first[0].id == second[0].id
    assert [(x.id, x.amount, x.lineage_json) for x in first[1]] == [
        (x.id, x.amount, x.lineage_json) for x in second[1]
    ]
    decide(rt.sessions, queue.items["pending"], approve=True)
    _run(rt, OCT)
    inv, lines = _invoice(rt, "mer_a", OCT)
    calls = [line for line in lines if line.component == Component.CALLS]
    assert [line.quantity for line in calls] == [10, 4]
    ids = calls[0].lineage["approved_review"]["review_item_ids"]
    assert ids == sorted([queue.items["approved"], queue.items["pending"]])
    assert [line.description for line in lines if line.kind == LineKind.WITHHELD] == [
        "Rejected in review, not billed"
    ]
    assert Decimal(inv.total) > Decimal(first[0].total)


def _settlements(rt: Runtime) -> list[tuple[str, str, datetime]]:
    with rt.sessions() as session:
        rows = session.scalars(select(ReviewSettlement).order_by(ReviewSettlement.review_item_id))
        return [(r.review_item_id, r.invoice_id, as_utc(r.period_start)) for r in rows]


def test_an_approval_after_finalization_is_billed_once_on_the_next_invoice(rt: Runtime) -> None:
    queue = _october(rt)
    _run(rt, OCT)
    number = _finalize(rt, "mer_a", OCT)
    october, oct_lines = _invoice(rt, "mer_a", OCT)
    approved = sorted([queue.items["approved"], queue.items["approved_hit"]])
    assert _settlements(rt) == [(i, october.id, OCT) for i in approved]
    decide(rt.sessions, queue.items["pending"], approve=True)
    assert _run(rt, OCT).skipped_final == 1  # the finalized October is left as it was
    again, again_lines = _invoice(rt, "mer_a", OCT)
    assert again.total == october.total
    assert [(x.id, x.amount, x.lineage_json) for x in again_lines] == [
        (x.id, x.amount, x.lineage_json) for x in oct_lines
    ]
    _run(rt, NOV)
    november, lines = _invoice(rt, "mer_a", NOV)
    late = [line for line in lines if line.kind == LineKind.ADJUSTMENT]
    assert [line.description for line in late] == [
        "Prompt tokens (per 1k), approved in review (2026-10)",
        "Completion tokens (per 1k), approved in review (2026-10)",
        "Calls, approved in review (2026-10)",
    ]
    passes = _passes("mer_a")
    billed_prompt = sum(e.prompt_tokens for e in passes) + 1500
    billed_completion = sum(e.completion_tokens for e in passes) + 700
    assert [(line.quantity, line.amount) for line in late] == [
        (
            3500,
            _tokens_amount(billed_prompt + 3500, 1000, "0.002")
            - _tokens_amount(billed_prompt, 1000, "0.002"),
        ),
        (
            900,
            _tokens_amount(billed_completion + 900, 0, "0.006")
            - _tokens_amount(billed_completion, 0, "0.006"),
        ),
        (1, Decimal("0.02")),  # the 14th call continues tier 2
    ]
    lineage = late[0].lineage
    assert (lineage["adjusts_period"], lineage["adjusts_invoice"]) == (OCT.isoformat(), number)
    assert lineage["approved_review"]["review_item_ids"] == [queue.items["pending"]]
    # October as billed plus the adjustment equals a twin that billed all three in October
    twin = _reviewed("mer_b", "pass")["pending"]
    ingest(rt.sessions, [twin])
    _run(rt, OCT)
    _, twin_lines = _invoice(rt, "mer_b", OCT)
    billed = sum(Decimal(x.amount) for x in oct_lines) + sum(Decimal(x.amount) for x in late)
    assert billed == sum(Decimal(x.amount) for x in twin_lines)
    # a re-run changes nothing; finalizing settles the item on November, once
    _run(rt, NOV)
    assert [(x.id, x.amount, x.lineage_json) for x in _invoice(rt, "mer_a", NOV)[1]] == [
        (x.id, x.amount, x.lineage_json) for x in lines
    ]
    _finalize(rt, "mer_a", NOV, now=AFTER_NOV)
    assert (queue.items["pending"], november.id, OCT) in _settlements(rt)
    assert len(_settlements(rt)) == 3
    _run(rt, DEC, now=AFTER_NOV)
    _, december = _invoice(rt, "mer_a", DEC)
    assert all("approved_review" not in line.lineage for line in december)
    with rt.sessions() as session:
        [entry] = list_audit(session, subject_id=november.id)
    assert entry.details["settled_review_items"] == 1


def test_settlements_are_immutable(rt: Runtime) -> None:
    _october(rt)
    _run(rt, OCT)
    _finalize(rt, "mer_a", OCT)
    for statement in (
        "UPDATE review_settlements SET invoice_id = invoice_id",
        "DELETE FROM review_settlements",
    ):
        with pytest.raises(DBAPIError), rt.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(_settlements(rt)) == 2


def test_late_events_and_late_approvals_of_one_period_continue_its_tiers(rt: Runtime) -> None:
    queue = _october(rt)
    _run(rt, OCT)
    _finalize(rt, "mer_a", OCT)
    _, oct_lines = _invoice(rt, "mer_a", OCT)
    late_at = OCT + timedelta(days=20)
    late_pass = call_event("mer_a", 300, occurred_at=late_at, prompt_tokens=4000)
    late_review = call_event(
        "mer_a", 301, occurred_at=late_at, risk_verdict="review", prompt_tokens=5000
    )
    twins = [
        call_event("mer_b", 300, occurred_at=late_at, prompt_tokens=4000),
        call_event("mer_b", 301, occurred_at=late_at, prompt_tokens=5000),
    ]
    ingest(rt.sessions, [late_pass, late_review])  # October is closed: usage_adjustments
    [late_item] = queue_reviews(rt.sessions, [late_review])
    for item in (queue.items["pending"], late_item):
        decide(rt.sessions, item, approve=True)
    _run(rt, NOV)
    _, lines = _invoice(rt, "mer_a", NOV)
    late = [line for line in lines if line.kind == LineKind.ADJUSTMENT]
    calls = [(x.description, x.quantity, x.amount) for x in late if x.component == "calls"]
    assert calls == [
        ("Calls, late usage (2026-10)", 1, Decimal("0.02")),
        ("Calls, approved in review (2026-10)", 2, Decimal("0.04")),
    ]
    late_events = next(x for x in late if x.component == "calls").lineage
    assert len(late_events["adjustment_ids"]) == 2  # the late pass and late review calls
    assert "approved_review" not in late_events
    reviewed = late[-1].lineage["approved_review"]
    assert reviewed["review_item_ids"] == sorted([queue.items["pending"], late_item])
    # the twin billed every one of these calls as pass in October, to the cent the same
    twin = _reviewed("mer_b", "pass")["pending"]
    ingest(rt.sessions, [twin, *twins])
    _run(rt, OCT)
    _, twin_lines = _invoice(rt, "mer_b", OCT)
    for component in Component:
        billed = [x for x in oct_lines + late if x.component == component]
        assert sum(Decimal(x.amount) for x in billed) == sum(
            Decimal(x.amount) for x in twin_lines if x.component == component
        ), component
