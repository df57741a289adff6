"""The monthly spend cap of the merchant's plan: priced usage so far + the call's worst case."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billing.invoice import Period
from billing.plans import Component, parse_plan
from billing.service import set_plan, usage_spend
from gateway.models import SpendMonth

from gateway_harness import Harness

PRODUCT: dict[str, Any] = {
    "id": "sku-cap",
    "title": "Trail Pro backpack",
    "brand": "Nordvik",
    "category": "backpack",
    "attributes": {"capacity": "30 L", "color": "green"},
    "features": ["reflective trim"],
}


def _plan(cap: str) -> dict[str, Any]:
    return {
        "currency": "USD",
        "charges": {
            "calls": {"unit_price": "0.60"},
            "prompt_tokens": {"unit_price": "0.01"},
            "completion_tokens": {"unit_price": "0.02"},
        },
        "monthly_spend_cap": cap,
    }


def _set_plan(gw: Harness, merchant_id: str, cap: str) -> None:
    now = datetime.now(UTC)
    with gw.runtime.sessions.begin() as session:
        set_plan(
            session,
            merchant_id=merchant_id,
            effective_from=Period.of(now).start.date().isoformat(),
            spec=_plan(cap),
            actor="test",
            now=now,
        )


def _describe(gw: Harness, headers: dict[str, str], product_id: str) -> Any:
    product = {**PRODUCT, "id": product_id}
    return gw.client.post(
        "/v1/descriptions", json={"product": product, "max_tokens": 40}, headers=headers
    )


def test_calls_are_refused_once_the_month_could_exceed_the_cap(gw: Harness) -> None:
    mid, headers = gw.merchant()
    # A call costs 0.60 (its tokens round to 0.00), so a second one would bring 1.20 > 1.00.
    _set_plan(gw, mid, "1.00")
    first = _describe(gw, headers, "a")
    assert first.status_code == 200, first.text
    assert first.json()["risk"]["verdict"] == "pass"
    refused = _describe(gw, headers, "b")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "spend_cap_reached"
    assert error["param"] == "plan.monthly_spend_cap"
    now = datetime.now(UTC)
    remaining_s = (Period.of(now).end - now).total_seconds()
    assert 0 < int(refused.headers["retry-after"]) <= remaining_s + 1

    with gw.runtime.sessions() as session:
        [month] = session.scalars(select(SpendMonth).where(SpendMonth.merchant_id == mid))
    usage = first.json()["usage"]
    assert (month.calls, month.prompt_tokens, month.completion_tokens) == (
        1, usage["prompt_tokens"], usage["completion_tokens"]
    )


def test_review_calls_count_against_the_cap(gw: Harness) -> None:
    """An approval may bill a review call later; the cap counts it when it is made."""
    mid, headers = gw.merchant()
    _set_plan(gw, mid, "1.00")
    health = {**PRODUCT, "id": "vit-d3", "title": "Vitamin D3 capsules", "category": "health"}
    first = gw.client.post(
        "/v1/descriptions", json={"product": health, "max_tokens": 40}, headers=headers
    )
    assert first.status_code == 200, first.text
    assert first.json()["risk"]["verdict"] == "review"  # a sensitive category
    with gw.runtime.sessions() as session:
        [month] = session.scalars(select(SpendMonth).where(SpendMonth.merchant_id == mid))
    assert month.calls == 1
    refused = _describe(gw, headers, "b")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "spend_cap_reached"


def test_the_spend_is_priced_like_an_invoice() -> None:
    plan = parse_plan(_plan("1.00"))
    quantities = dict.fromkeys(Component, 0)
    quantities.update({Component.CALLS: 1, Component.PROMPT_TOKENS: 100,
                       Component.COMPLETION_TOKENS: 40})
    # 0.60 for the call; 100 and 40 tokens cost 0.001 and 0.0008, each rounded to 0.00.
    assert usage_spend(plan, quantities) == Decimal("0.60")


def test_merchants_without_a_cap_are_not_limited(gw: Harness) -> None:
    _, headers = gw.merchant()
    assert _describe(gw, headers, "a").status_code == 200
    assert _describe(gw, headers, "b").status_code == 200


def test_month_boundaries_are_utc_calendar_months() -> None:
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert Period.of(moment).start == datetime(2026, 12, 1, tzinfo=UTC)
    assert Period.of(moment).end == datetime(2027, 1, 1, tzinfo=UTC)
