"""Review decisions on the invoice, end to end: the real gateway generates three outputs the
risk model sends to review, a reviewer approves one and rejects one through the API, the
call events go through the metering handler, and finance runs the month's draft."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from review_support import review_call

from billing.invoice import Period
from liftmeter.events import CALLS_TOPIC, CallCompleted
from liftmeter.models import utcnow
from liftmeter.money import quantize

from billing_support import PLAN, ingest
from dashboard_support import secret_of, sign_in
from factories import outbox_events
from gateway_harness import Harness, harness_with
from support import make_settings


@pytest.fixture
def gw(db_url: str) -> Iterator[Harness]:
    with harness_with(make_settings(db_url)) as harness:
        yield harness


def test_the_draft_bills_the_approved_output_and_withholds_the_others(gw: Harness) -> None:
    finance, reviewer = gw.staff("finance"), gw.staff("review")
    mid, merchant = gw.merchant()
    period = Period.of(utcnow())
    body = {
        "merchant_id": mid,
        "effective_from": period.start.date().isoformat(),
        "plan": {**PLAN, "minimum_commitment": "0"},
    }
    assert gw.client.post("/v1/plans", json=body, headers=finance).status_code == 201
    approved, rejected, pending = (review_call(gw, merchant, sku=f"sku-{i}") for i in range(3))
    for item, decision in ((approved, {"decision": "approve"}), (rejected, {"decision": "reject"})):
        r = gw.client.post(
            f"/v1/review-items/{item['review_id']}/decision",
            json={**decision, "note": "checked"},
            headers=reviewer,
        )
        assert r.status_code == 200, r.text
    events = [e for e in outbox_events(gw.runtime, CALLS_TOPIC) if isinstance(e, CallCompleted)]
    assert [e.risk_verdict for e in events] == ["review"] * 3
    ingest(gw.runtime.sessions, events)
    r = gw.client.post("/v1/invoices/run", json={"period": period.label}, headers=finance)
    assert r.status_code == 200, r.text
    [invoice] = gw.client.get("/v1/invoices", params={"merchant_id": mid}, headers=finance).json()[
        "data"
    ]
    lines = gw.client.get(f"/v1/invoices/{invoice['id']}", headers=finance).json()["lines"]
    call = next(e for e in events if e.call_id == approved["call_id"])
    priced = [
        (x["kind"], x["component"], Decimal(x["quantity"]), Decimal(x["amount"])) for x in lines
    ]
    assert call.prompt_tokens < 1000  # all within the plan's 1,000 included prompt tokens
    completion = quantize(Decimal(call.completion_tokens) * Decimal("0.006") / 1000, "USD")
    expected = [
        ("included", "prompt_tokens", Decimal(call.prompt_tokens), Decimal(0)),
        ("usage", "completion_tokens", Decimal(call.completion_tokens), completion),
        ("usage", "calls", Decimal(1), Decimal("0.05")),
        ("withheld", None, Decimal(1), Decimal(0)),
        ("withheld", None, Decimal(1), Decimal(0)),
    ]
    assert priced == expected
    assert [x["description"] for x in lines if x["kind"] == "withheld"] == [
        "Pending review, not billed",
        "Rejected in review, not billed",
    ]
    assert Decimal(invoice["total"]) == Decimal("0.05") + completion
    usage = next(x for x in lines if x["component"] == "calls")
    assert usage["lineage"]["approved_review"]["review_item_ids"] == [approved["review_id"]]
    withheld = {x["description"]: x["lineage"]["review"] for x in lines if x["kind"] == "withheld"}
    assert withheld["Rejected in review, not billed"]["review_item_ids"] == [rejected["review_id"]]
    assert withheld["Pending review, not billed"]["calls"] == 1
    assert pending["review_id"] not in str(lines)

    # the finance console resolves the same lineage: status, counts and items of each line
    sign_in(gw.client, secret_of(finance), f"/dashboard/invoices/{invoice['id']}")
    page = gw.client.get(f"/dashboard/invoices/{invoice['id']}").text
    shown = re.findall(r'<dd class="review-calls">([^<]*)</dd>', page)
    by_call = {e.call_id: e for e in events}
    assert shown == [
        *[_review_calls("approved", call)] * 3,  # prompt-token, completion-token, call lines
        _review_calls("pending", by_call[pending["call_id"]]),
        _review_calls("rejected", by_call[rejected["call_id"]]),
    ]
    assert approved["review_id"] in page
    assert rejected["review_id"] in page
    assert "found by the filter" in page  # pending items are not listed by id
    assert "review_item_ids" not in page  # no raw lineage JSON left over
    assert f"/dashboard/review?status=rejected&amp;merchant_id={mid}" in page


def _review_calls(status: str, call: CallCompleted) -> str:
    return (
        f"{status} · calls 1 · prompt tokens {call.prompt_tokens:,}"
        f" · completion tokens {call.completion_tokens:,}"
    )
