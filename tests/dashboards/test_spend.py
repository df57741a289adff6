"""Spend on the usage page: usage priced with the plan, spread over the month's hours or days."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from billing.invoice import Period, run_invoices
from billing.models import Invoice, InvoiceLine
from billing.pricing import LineKind
from dashboards.spend import usage_spend
from metering.ledger import Granularity

from billing_support import NOV, OCT, decide, draft_invoice, october_calls, queue_reviews
from dashboard_support import secret_of, seed_usage, sign_in
from gateway_harness import Harness, harness_with
from support import make_settings

KPI = re.compile(r'<strong id="kpi-spend"[^>]*>([^<]+)</strong>')


@dataclass
class Priced:
    gw: Harness
    merchant: str
    key: str
    invoice: str
    unplanned_key: str


@pytest.fixture
def priced(pg_url: str) -> Iterator[Priced]:
    with harness_with(make_settings(pg_url)) as gw:
        merchant, headers = gw.merchant("Shop A")
        other, unplanned = gw.merchant("Shop without plan")
        seed_usage(gw.runtime.sessions, other, calls=5, now=datetime.now(UTC))
        invoice = draft_invoice(gw.runtime.sessions, merchant)
        gw.client.cookies.clear()
        yield Priced(gw, merchant, secret_of(headers), invoice, secret_of(unplanned))


def usage_lines_total(sessions: sessionmaker[Session], invoice_id: str) -> Decimal:
    """What the invoice charges for usage: its usage and included lines."""
    with sessions() as session:
        assert session.get(Invoice, invoice_id) is not None
        lines = session.query(InvoiceLine).filter(InvoiceLine.invoice_id == invoice_id).all()
        kinds = (LineKind.USAGE, LineKind.INCLUDED)
        return sum((Decimal(x.amount) for x in lines if x.kind in kinds), Decimal(0))


@pytest.mark.parametrize("granularity", [Granularity.HOUR, Granularity.DAY])
def test_a_months_spend_adds_up_to_the_invoices_usage_lines(
    priced: Priced, granularity: Granularity
) -> None:
    with priced.gw.runtime.sessions() as session:
        spend = usage_spend(
            session, start=OCT, end=NOV, granularity=granularity, merchant_id=priced.merchant
        )
    assert spend is not None
    assert spend.currency == "USD"
    expected = usage_lines_total(priced.gw.runtime.sessions, priced.invoice)
    assert expected > 0
    assert spend.total == expected
    assert all(amount >= 0 for amount in spend.by_period.values())
    assert len(spend.by_period) > 1


@pytest.mark.parametrize("granularity", [Granularity.HOUR, Granularity.DAY])
def test_approved_review_calls_are_spend_like_on_the_invoice(
    priced: Priced, granularity: Granularity
) -> None:
    sessions = priced.gw.runtime.sessions
    reviews = [c for c in october_calls(priced.merchant) if c.risk_verdict == "review"]
    items = queue_reviews(sessions, reviews)
    decide(sessions, items[0], approve=True)
    decide(sessions, items[1], approve=True)
    decide(sessions, items[2], approve=False)
    before = usage_lines_total(sessions, priced.invoice)
    with sessions.begin() as session:  # the draft is recomputed with the decisions
        run_invoices(session, period=Period.of(OCT), merchant_id=priced.merchant, actor="test")
    expected = usage_lines_total(sessions, priced.invoice)
    assert expected > before  # two more calls billed
    with sessions() as session:
        spend = usage_spend(
            session, start=OCT, end=NOV, granularity=granularity, merchant_id=priced.merchant
        )
    assert spend is not None
    assert spend.total == expected


def test_tiers_continue_across_the_month_and_a_later_window_prices_the_rest(
    priced: Priced,
) -> None:
    """The first hours pay the first tier; a window starting mid-month keeps the month's tiers."""
    with priced.gw.runtime.sessions() as session:
        whole = usage_spend(
            session, start=OCT, end=NOV, granularity=Granularity.HOUR, merchant_id=priced.merchant
        )
        assert whole is not None
        hours = sorted(whole.by_period)
        later = usage_spend(
            session,
            start=hours[5],
            end=NOV,
            granularity=Granularity.HOUR,
            merchant_id=priced.merchant,
        )
    assert later is not None
    assert later.by_period == {h: whole.by_period[h] for h in hours[5:]}
    assert whole.total - later.total == sum((whole.by_period[h] for h in hours[:5]), Decimal(0))


def test_the_usage_page_shows_the_spend(priced: Priced) -> None:
    client = priced.gw.client
    sign_in(client, priced.key, "/dashboard/usage?days=90")
    page = client.get("/dashboard/usage?days=90").text
    match = KPI.search(page)
    assert match
    expected = usage_lines_total(priced.gw.runtime.sessions, priced.invoice)
    assert Decimal(match.group(1).replace(",", "")) == expected
    assert "Spend USD" in page


def test_without_a_plan_spend_stays_a_dash(priced: Priced) -> None:
    client = priced.gw.client
    sign_in(client, priced.unplanned_key, "/dashboard/usage")
    page = client.get("/dashboard/usage").text
    assert '<strong id="kpi-calls">5</strong>' in page
    match = KPI.search(page)
    assert match
    assert match.group(1) == "—"
