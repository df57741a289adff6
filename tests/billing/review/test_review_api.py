"""The review queue end to end: real gateway, real sparse model, real risk model, both DBs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from review_support import review_call
from sqlalchemy import select

from attribution.assignment import assign_arm
from billing.review.models import ReviewItem
from gateway.models import Description
from gateway.variants import latest_description
from liftmeter.audit import list_audit
from liftmeter.events import CallCompleted, decode_event
from liftmeter.models import OutboxMessage


def _decide(gw, item_id, headers, **body):  # type: ignore[no-untyped-def]
    return gw.client.post(f"/v1/review-items/{item_id}/decision", json=body, headers=headers)


def _released(gw, merchant_id: str, product_id: str) -> str | None:  # type: ignore[no-untyped-def]
    with gw.runtime.sessions() as session:
        found = latest_description(session, merchant_id, product_id)
        return found.id if found is not None else None


def test_a_review_verdict_lands_in_the_queue_with_the_call(gw) -> None:
    mid, merchant = gw.merchant()
    body = review_call(gw, merchant)
    assert body["text"], "a review verdict still returns the text to the merchant"
    assert body["review_id"]
    assert body["description_id"]
    reviewer = gw.staff("review")
    r = gw.client.get("/v1/review-items", params={"status": "pending"}, headers=reviewer)
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["id"] == body["review_id"]
    assert (item["call_id"], item["description_id"]) == (body["call_id"], body["description_id"])
    assert (item["merchant_id"], item["status"], item["text"]) == (mid, "pending", body["text"])
    assert item["model_version"] == body["risk"]["model_version"]
    assert item["score"] == body["risk"]["score"]
    assert "sensitive_category" in item["reasons"]
    assert item["category"] == "health"
    assert item["decided_at"] is None
    with gw.runtime.sessions() as session:
        values = session.scalars(select(OutboxMessage.value)).all()
    events = [e for e in map(decode_event, values) if isinstance(e, CallCompleted)]
    assert [e.risk_verdict for e in events] == ["review"]
    assert _released(gw, mid, "sku-vit") is None, "pending outputs are not shown to shoppers"


def test_approval_releases_the_description_and_is_audit_logged(gw) -> None:
    mid, merchant = gw.merchant()
    body = review_call(gw, merchant)
    reviewer = gw.staff("review")
    r = _decide(gw, body["review_id"], reviewer, decision="approve")
    assert r.status_code == 200, r.text
    decided = r.json()
    assert decided["status"] == "approved"
    assert decided["decided_by"].startswith("key_")
    assert decided["decided_at"] is not None
    assert _released(gw, mid, "sku-vit") == body["description_id"]
    with gw.runtime.sessions() as session:
        [entry] = list_audit(session, subject_type="review_item", subject_id=body["review_id"])
    assert (entry.action, entry.actor, entry.merchant_id) == (
        "review.approve",
        decided["decided_by"],
        mid,
    )
    assert entry.details["call_id"] == body["call_id"]


def test_rejection_needs_a_note_and_keeps_the_description_withheld(gw) -> None:
    mid, merchant = gw.merchant()
    body = review_call(gw, merchant)
    finance = gw.staff("finance")
    r = _decide(gw, body["review_id"], finance, decision="reject", note="   ")
    assert r.status_code == 400, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == (
        "review_note_required",
        "note",
    )
    r = _decide(gw, body["review_id"], finance, decision="reject", note="claims a health benefit")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["note"]) == ("rejected", "claims a health benefit")
    assert _released(gw, mid, "sku-vit") is None
    with gw.runtime.sessions() as session:
        assert session.get(Description, body["description_id"]) is not None
        [entry] = list_audit(session, subject_type="review_item", subject_id=body["review_id"])
    assert (entry.action, entry.reason) == ("review.reject", "claims a health benefit")


def test_a_decided_item_cannot_be_decided_again(gw) -> None:
    _, merchant = gw.merchant()
    body = review_call(gw, merchant)
    reviewer = gw.staff("review")
    assert _decide(gw, body["review_id"], reviewer, decision="approve").status_code == 200
    for decision in ("approve", "reject"):
        r = _decide(gw, body["review_id"], reviewer, decision=decision, note="again")
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "review_already_decided"
    with gw.runtime.sessions() as session:
        entries = list_audit(session, subject_type="review_item", subject_id=body["review_id"])
        item = session.get(ReviewItem, body["review_id"])
        assert item is not None
        assert item.status == "approved"
        assert item.note is None
    assert [e.action for e in entries] == ["review.approve"]


def test_merchants_see_only_their_own_items_and_cannot_decide(gw) -> None:
    alice_id, alice = gw.merchant("Alice")
    bob_id, bob = gw.merchant("Bob")
    mine = review_call(gw, alice, sku="sku-a")
    theirs = review_call(gw, bob, sku="sku-b")
    r = gw.client.get("/v1/review-items", headers=alice)
    assert [i["id"] for i in r.json()["items"]] == [mine["review_id"]]
    assert gw.client.get(f"/v1/review-items/{mine['review_id']}", headers=alice).status_code == 200
    r = gw.client.get(f"/v1/review-items/{theirs['review_id']}", headers=alice)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "review_item_not_found")
    r = gw.client.get("/v1/review-items", params={"merchant_id": bob_id}, headers=alice)
    assert r.status_code == 404
    assert _decide(gw, mine["review_id"], alice, decision="approve").status_code == 403
    reviewer = gw.staff("review")
    r = gw.client.get("/v1/review-items", params={"merchant_id": bob_id}, headers=reviewer)
    assert [i["merchant_id"] for i in r.json()["items"]] == [bob_id]
    r = gw.client.get("/v1/review-items", headers=reviewer)
    assert {i["merchant_id"] for i in r.json()["items"]} == {alice_id, bob_id}


def test_staff_without_the_review_scope_are_refused(gw) -> None:
    _, merchant = gw.merchant()
    body = review_call(gw, merchant)
    admin_only_usage = gw.client.post(
        "/v1/keys",
        json={"name": "m", "merchant_id": gw.merchant("Carol")[0], "scopes": ["usage:read"]},
        headers=gw.admin,
    ).json()["secret"]
    headers = {"Authorization": f"Bearer {admin_only_usage}"}
    assert gw.client.get("/v1/review-items", headers=headers).status_code == 403
    assert _decide(gw, body["review_id"], gw.admin, decision="approve").status_code == 200
    reviewer = gw.staff("review")
    assert gw.client.get("/v1/usage", headers=reviewer).status_code == 403
    assert gw.client.get("/v1/keys", headers=reviewer).status_code == 403
    r = gw.client.post(
        "/v1/keys",
        json={"name": "x", "merchant_id": gw.merchant("Dan")[0], "scopes": ["review"]},
        headers=gw.admin,
    )
    assert (r.status_code, r.json()["error"]["param"]) == (400, "scopes")


def test_pages_follow_the_cursor(gw_sqlite) -> None:
    gw = gw_sqlite
    _, merchant = gw.merchant()
    ids = [review_call(gw, merchant, sku=f"sku-{n}")["review_id"] for n in range(3)]
    reviewer = gw.staff("review")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = gw.client.get("/v1/review-items", params=params, headers=reviewer).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


@pytest.mark.parametrize(
    ("method", "path", "payload", "param"),
    [
        ("get", "/v1/review-items?status=maybe", None, "status"),
        ("get", "/v1/review-items?limit=0", None, "limit"),
        ("get", "/v1/review-items?limit=501", None, "limit"),
        ("post", "/decision", {"decision": "maybe"}, "decision"),
        ("post", "/decision", {}, "decision"),
        ("post", "/decision", {"decision": "approve", "colour": "red"}, "colour"),
        ("post", "/decision", {"decision": "reject", "note": "x" * 2001}, "note"),
        ("post", "/decision", {"decision": "reject"}, "note"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(gw_sqlite, method, path, payload, param) -> None:
    gw = gw_sqlite
    _, merchant = gw.merchant()
    body = review_call(gw, merchant)
    reviewer = gw.staff("review")
    if method == "get":
        r = gw.client.get(path, headers=reviewer)
    else:
        url = f"/v1/review-items/{body['review_id']}{path}"
        r = gw.client.post(url, json=payload, headers=reviewer)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_an_unknown_item_is_a_404(gw_sqlite) -> None:
    reviewer = gw_sqlite.staff("review")
    r = _decide(gw_sqlite, "rev_nope", reviewer, decision="approve")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "review_item_not_found")


def _treatment_visitor(merchant_id: str, experiment_id: str) -> str:
    for n in range(100):
        arm = assign_arm(
            merchant_id=merchant_id, experiment_id=experiment_id, unit_id=f"v{n}", holdout_share=0.2
        )
        if arm.value == "treatment":
            return f"v{n}"
    raise AssertionError("no treatment visitor in 100")


def test_shoppers_see_a_review_output_only_after_approval(gw) -> None:
    mid, merchant = gw.merchant()
    r = gw.client.post(
        "/v1/experiments", json={"name": "copy", "holdout_share": "0.2"}, headers=merchant
    )
    assert r.status_code == 201, r.text
    visitor = _treatment_visitor(mid, r.json()["id"])
    approved, rejected = review_call(gw, merchant, "sku-a"), review_call(gw, merchant, "sku-r")

    def shown(sku: str) -> dict[str, object]:
        params = {"product_id": sku, "visitor_id": visitor}
        answer: dict[str, object] = gw.client.get(
            "/v1/variants", params=params, headers=merchant
        ).json()
        return answer

    assert shown("sku-a")["show"] == "original"
    reviewer = gw.staff("review")
    assert _decide(gw, approved["review_id"], reviewer, decision="approve").status_code == 200
    note = "implies a health benefit"
    assert (
        _decide(gw, rejected["review_id"], reviewer, decision="reject", note=note).status_code
        == 200
    )
    released = shown("sku-a")
    assert (released["show"], released["description_id"]) == (
        "generated",
        approved["description_id"],
    )
    assert released["text"] == approved["text"]
    assert shown("sku-r")["show"] == "original"


def test_racing_decisions_produce_one_decision_and_one_audit_row(gw) -> None:
    _, merchant = gw.merchant()
    body = review_call(gw, merchant)
    reviewers = [gw.staff("review") for _ in range(4)]
    decisions = ["approve", "reject", "approve", "reject"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(
            pool.map(
                lambda pair: (
                    _decide(
                        gw, body["review_id"], pair[0], decision=pair[1], note="race"
                    ).status_code
                ),
                zip(reviewers, decisions, strict=True),
            )
        )
    assert sorted(statuses) == [200, 409, 409, 409]
    with gw.runtime.sessions() as session:
        entries = list_audit(session, subject_type="review_item", subject_id=body["review_id"])
    assert len(entries) == 1
