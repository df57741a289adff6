"""Concurrent duplicates meet at the database: one order is recorded once, one experiment
is active once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from liftmeter.events import CONVERSIONS_TOPIC

from factories import outbox_events


def test_the_same_order_sent_concurrently_is_recorded_once(gw) -> None:
    _, headers = gw.merchant()
    order = {
        "kind": "purchase",
        "visitor_id": "v",
        "product_id": "p",
        "order_id": "o-race",
        "revenue": "12.00",
        "currency": "USD",
        "occurred_at": datetime.now(UTC).isoformat(),
    }

    def send(_: int) -> dict:
        r = gw.client.post("/v1/conversions", json=order, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(6)))
    assert sum(a["accepted"] for a in answers) == 1
    assert sum(a["duplicate_count"] for a in answers) == 5
    assert len(outbox_events(gw.runtime, CONVERSIONS_TOPIC)) == 1


def test_concurrent_creates_leave_one_active_experiment(gw) -> None:
    _, headers = gw.merchant()

    def create(i: int) -> int:
        body = {"name": f"e{i}", "holdout_share": "0.1"}
        return gw.client.post("/v1/experiments", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = sorted(pool.map(create, range(5)))
    assert statuses == [201, 409, 409, 409, 409]
    listed = gw.client.get("/v1/experiments", headers=headers).json()
    assert [e["status"] for e in listed] == ["active"]
