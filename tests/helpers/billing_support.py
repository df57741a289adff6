"""Helpers for the billing tests: merchants, plans, ledger ingest, lift results, review
queue items and decisions, snapshots."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from attribution.assignment import Arm
from attribution.models import Experiment
from attribution.results import LiftResult, store_lift_result
from attribution.revenue import IncrementalRevenue, estimate_incremental_revenue
from attribution.simulate import SimulationConfig, simulate_experiment
from attribution.sufficient import arm_stats_by_arm
from billing.invoice import Period, run_invoices
from billing.models import Invoice, InvoiceLine, PlanVersion
from billing.review.service import decide_review, enqueue_review
from billing.risk.schemas import ReviewOutcome
from billing.service import set_plan
from liftmeter.events import CallCompleted
from liftmeter.models import Merchant
from metering.service import record_calls

from factories import call_event
from support import PG_ADMIN_URL

OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)

PLAN: dict[str, Any] = {
    "currency": "USD",
    "charges": {
        "prompt_tokens": {"unit_price": "0.002", "included_units": 1000},
        "completion_tokens": {"unit_price": "0.006"},
        "calls": {
            "tiers": [
                {"up_to": 10, "unit_price": "0.05"},
                {"up_to": None, "unit_price": "0.02"},
            ],
            "mode": "graduated",
        },
        "cache_hits": {"unit_price": "0.001"},
    },
    "minimum_commitment": "5.00",
    "revenue_share": {"percent": "10", "cap": "500.00"},
    "monthly_spend_cap": "1000.00",
}


def add_merchants(sessions: sessionmaker[Session], ids: Iterable[str], currency: str = "USD"):  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        session.add_all(Merchant(id=m, name=m, currency=currency) for m in ids)


def add_plan(
    sessions: sessionmaker[Session],
    merchant_id: str,
    spec: dict[str, Any] | None = None,
    *,
    effective_from: str = "2026-10-01",
) -> PlanVersion:
    with sessions.begin() as session:
        version = set_plan(
            session,
            merchant_id=merchant_id,
            effective_from=effective_from,
            spec=spec or PLAN,
            actor="test",
            now=datetime.fromisoformat(effective_from).replace(tzinfo=UTC),
        )
        session.expunge(version)
    return version


def ingest(sessions: sessionmaker[Session], events: Iterable[CallCompleted]) -> None:
    """Count call events in the usage ledger (the metering consumer's handler)."""
    with sessions.begin() as session:
        rejected = record_calls(session, list(events))
    assert not rejected, rejected


def queue_reviews(sessions: sessionmaker[Session], events: Iterable[CallCompleted]) -> list[str]:
    """Queue a review item for each call (as the gateway's finish transaction does); ids."""
    with sessions.begin() as session:
        return [
            enqueue_review(
                session,
                call_id=e.call_id,
                description_id=e.description_id,
                merchant_id=e.merchant_id,
                product_id=e.product_id,
                text=f"description of {e.product_id}",
                category="health",
                score=e.risk_score,
                reasons=["sensitive_category"],
                model_version="test",
            ).id
            for e in events
        ]


def decide(sessions: sessionmaker[Session], item_id: str, *, approve: bool) -> None:
    """A reviewer's decision on one item (audit-logged, in its own transaction)."""
    outcome = ReviewOutcome.APPROVE if approve else ReviewOutcome.REJECT
    with sessions.begin() as session:
        decide_review(
            session, item_id, outcome=outcome, actor="reviewer", note=None if approve else "no"
        )


@lru_cache(maxsize=1)
def measured_revenue() -> IncrementalRevenue:
    """A real incremental-revenue estimate of a simulated experiment with 30 % lift."""
    units = simulate_experiment(
        SimulationConfig(n_units=60_000, true_relative_lift=0.3, seed=2)
    ).units
    arms = arm_stats_by_arm(units, outcome_col="revenue", covariate_col="pre_revenue")
    revenue = estimate_incremental_revenue(
        arms[Arm.HOLDOUT], arms[Arm.TREATMENT], currency="USD", holdout_share=0.5
    )
    assert revenue.conservative_amount > 0
    return revenue


def add_lift(
    sessions: sessionmaker[Session], merchant_id: str, start: datetime, end: datetime
) -> LiftResult:
    with sessions.begin() as session:
        experiment_id = f"exp_{merchant_id}"
        if session.get(Experiment, experiment_id) is None:
            session.add(
                Experiment(
                    id=experiment_id,
                    merchant_id=merchant_id,
                    name="holdout",
                    holdout_share=Decimal("0.5"),
                    unit_type="visitor",
                    starts_at=start,
                    status="stopped",
                )
            )
            session.flush()
        row = store_lift_result(
            session,
            merchant_id=merchant_id,
            experiment_id=experiment_id,
            period_start=start,
            period_end=end,
            revenue=measured_revenue(),
        )
        session.expunge(row)
    return row


def october_calls(merchant_id: str) -> list[CallCompleted]:
    at = OCT + timedelta(days=3, hours=5)
    calls = [call_event(merchant_id, i, occurred_at=at + timedelta(hours=i)) for i in range(30)]
    calls += [call_event(merchant_id, 100 + i, occurred_at=at, cache_hit=True) for i in range(5)]
    calls += [
        call_event(merchant_id, 200 + i, occurred_at=at, risk_verdict="review") for i in range(3)
    ]
    calls += [
        call_event(merchant_id, 300 + i, occurred_at=at, risk_verdict="block", status="blocked")
        for i in range(2)
    ]
    return calls


def draft_invoice(sessions: sessionmaker[Session], merchant_id: str) -> str:
    """The merchant's October draft: plan, October calls in the ledger, a lift result, the run."""
    add_plan(sessions, merchant_id)
    ingest(sessions, october_calls(merchant_id))
    add_lift(sessions, merchant_id, OCT, NOV)
    with sessions.begin() as session:
        summary = run_invoices(
            session, period=Period.of(OCT), merchant_id=merchant_id, actor="test"
        )
    (invoice_id,) = summary.invoice_ids
    return invoice_id


_VOLATILE = {"plan_version_id", "lift_result_id"}


def invoice_snapshot(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    """Every invoice and line, without the randomly generated ids: equal iff same invoices."""
    out: list[tuple[Any, ...]] = []
    with sessions() as session:
        invoices = session.scalars(
            select(Invoice).order_by(Invoice.merchant_id, Invoice.period_start)
        )
        for inv in invoices:
            lines = session.scalars(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == inv.id)
                .order_by(InvoiceLine.position)
            )
            out.append(
                (
                    inv.merchant_id,
                    inv.period_start,
                    inv.status,
                    inv.number,
                    Decimal(inv.total),
                    [
                        (
                            line.position,
                            line.kind,
                            line.component,
                            line.description,
                            Decimal(line.quantity),
                            line.unit_price and Decimal(line.unit_price),
                            Decimal(line.amount),
                            json.dumps(
                                {k: v for k, v in line.lineage.items() if k not in _VOLATILE},
                                sort_keys=True,
                            ),
                        )
                        for line in lines
                    ],
                )
            )
    return out


@contextmanager
def another_pg_database(template: str) -> Iterator[str]:
    """A second fresh, migrated PostgreSQL database (a copy of the test template)."""
    name = f"liftmeter_b_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
