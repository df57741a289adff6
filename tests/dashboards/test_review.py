"""The review queue page through the real gateway app on PostgreSQL (httpx TestClient)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from billing.review.models import ReviewItem, ReviewStatus
from billing.review.service import enqueue_review
from liftmeter.audit import list_audit

from dashboard_support import csrf_of, secret_of, sign_in
from gateway_harness import Harness, harness_with
from support import make_settings


@dataclass
class Queue:
    gw: Harness
    reviewer: str
    finance: str
    key_a: str
    items_a: list[str]
    item_b: str


def _enqueue(gw: Harness, merchant_id: str, n: int, text: str) -> str:
    with gw.runtime.sessions.begin() as session:
        item = enqueue_review(
            session,
            call_id=f"call_{merchant_id}_{n}",
            description_id=f"desc_{merchant_id}_{n}",
            merchant_id=merchant_id,
            product_id=f"sku-{n}",
            text=text,
            category="health",
            score=0.42,
            reasons=["sensitive_category:health", "gray_band"],
            model_version="risk-test",
        )
        return item.id


@pytest.fixture
def queue(pg_url: str) -> Iterator[Queue]:
    with harness_with(make_settings(pg_url)) as gw:
        a, headers_a = gw.merchant("Shop A")
        b, _ = gw.merchant("Shop B")
        reviewer = secret_of(gw.staff("review"))
        finance = secret_of(gw.staff("finance"))
        items_a = [_enqueue(gw, a, n, f"Cures <b>everything</b> #{n}") for n in range(2)]
        item_b = _enqueue(gw, b, 9, "Shop B's output")
        gw.client.cookies.clear()
        yield Queue(gw, reviewer, finance, secret_of(headers_a), items_a, item_b)


def status_of(queue: Queue, item_id: str) -> str:
    with queue.gw.runtime.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        return item.status


def test_a_reviewer_lands_on_the_queue_and_sees_text_score_and_reasons(queue: Queue) -> None:
    client = queue.gw.client
    sign_in(client, queue.reviewer, "/dashboard/review")
    page = client.get("/dashboard/review").text
    for item_id in [*queue.items_a, queue.item_b]:
        assert f'id="item-{item_id}"' in page
    assert "Cures &lt;b&gt;everything&lt;/b&gt; #0" in page
    assert "risk score 0.42" in page
    assert "sensitive_category:health" in page
    assert page.count('name="decision" value="approve"') == 3
    assert 'href="/dashboard/review"' in page
    assert 'href="/dashboard/lift"' not in page  # a reviewer's key reads no merchant data
    for path in ("/dashboard/lift", "/dashboard/usage", "/dashboard/invoices"):
        assert client.get(path).status_code == 403


def test_sign_in_without_a_target_sends_a_reviewer_to_the_queue(queue: Queue) -> None:
    client = queue.gw.client
    form = client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login",
        data={"api_key": queue.reviewer, "csrf_token": csrf_of(form.text)},
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert str(r.url).endswith("/dashboard/review")


def test_approve_and_reject_are_decided_once_and_audit_logged(queue: Queue) -> None:
    client = queue.gw.client
    token = sign_in(client, queue.reviewer, "/dashboard/review")
    first, second = queue.items_a
    r = client.post(
        f"/dashboard/review/{first}/decision",
        data={"csrf_token": token, "decision": "approve", "note": "fine"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "Approved" in page
    assert f'id="item-{first}"' not in page  # the queue shows pending items by default
    assert status_of(queue, first) == ReviewStatus.APPROVED

    no_note = client.post(
        f"/dashboard/review/{second}/decision",
        data={"csrf_token": token, "decision": "reject", "note": " "},
    )
    assert no_note.status_code == 400
    assert "a rejection needs a note" in no_note.text
    assert status_of(queue, second) == ReviewStatus.PENDING
    rejected = client.post(
        f"/dashboard/review/{second}/decision",
        data={"csrf_token": token, "decision": "reject", "note": "medical claim"},
    )
    assert rejected.status_code == 200
    assert status_of(queue, second) == ReviewStatus.REJECTED

    again = client.post(
        f"/dashboard/review/{first}/decision",
        data={"csrf_token": token, "decision": "reject", "note": "changed my mind"},
    )
    assert again.status_code == 409
    assert "review_already_decided" in again.text
    assert status_of(queue, first) == ReviewStatus.APPROVED
    decided = client.get("/dashboard/review?status=rejected").text
    assert "medical claim" in decided
    with queue.gw.runtime.sessions() as session:
        actions = sorted(
            (e.subject_id, e.action) for e in list_audit(session, subject_type="review_item")
        )
    assert actions == sorted([(first, "review.approve"), (second, "review.reject")])


def test_decisions_need_the_csrf_token_and_a_known_item(queue: Queue) -> None:
    client = queue.gw.client
    token = sign_in(client, queue.reviewer, "/dashboard/review")
    item = queue.items_a[0]
    assert (
        client.post(f"/dashboard/review/{item}/decision", data={"decision": "approve"}).status_code
        == 403
    )
    assert status_of(queue, item) == ReviewStatus.PENDING
    missing = client.post(
        "/dashboard/review/rev_missing/decision", data={"csrf_token": token, "decision": "approve"}
    )
    assert missing.status_code == 404
    odd = client.post(
        f"/dashboard/review/{item}/decision", data={"csrf_token": token, "decision": "maybe"}
    )
    assert odd.status_code == 400
    assert "(decision)" in odd.text


def test_finance_reviews_and_merchants_cannot(queue: Queue) -> None:
    client = queue.gw.client
    sign_in(client, queue.finance, "/dashboard/review")
    assert f'id="item-{queue.item_b}"' in client.get("/dashboard/review").text
    client.cookies.clear()
    token = sign_in(client, queue.key_a)
    assert client.get("/dashboard/review").status_code == 403
    item = queue.items_a[0]
    r = client.post(
        f"/dashboard/review/{item}/decision", data={"csrf_token": token, "decision": "approve"}
    )
    assert r.status_code == 403
    assert status_of(queue, item) == ReviewStatus.PENDING
    assert 'href="/dashboard/review"' not in client.get("/dashboard/usage").text
