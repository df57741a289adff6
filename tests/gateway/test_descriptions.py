"""POST /v1/descriptions end to end: the real sparse model, the real risk model, real DBs."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from gateway.models import CallRecord
from liftmeter.events import CallCompleted, decode_event
from liftmeter.models import OutboxMessage
from liftmeter.settings import InferenceSettings

from gateway_harness import harness_with
from support import make_settings

PRODUCT: dict[str, Any] = {
    "id": "sku-1",
    "title": "Trail Pro backpack",
    "brand": "Nordvik",
    "category": "backpack",
    "attributes": {"capacity": "30 L", "color": "green"},
    "features": ["reflective trim", "padded straps"],
}


def _describe(gw, headers, product=PRODUCT, **extra):  # type: ignore[no-untyped-def]
    return gw.client.post("/v1/descriptions", json={"product": product, **extra}, headers=headers)


def _call_events(gw) -> list[CallCompleted]:  # type: ignore[no-untyped-def]
    with gw.runtime.sessions() as session:
        values = session.scalars(select(OutboxMessage.value).order_by(OutboxMessage.id)).all()
    return [ev for ev in map(decode_event, values) if isinstance(ev, CallCompleted)]


def test_a_description_is_generated_screened_and_metered(gw) -> None:
    mid, headers = gw.merchant()
    r = _describe(gw, headers, max_tokens=120)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"]
    assert "Nordvik" in body["text"]
    assert body["risk"]["verdict"] in ("pass", "review")
    assert body["usage"]["prompt_tokens"] > 0
    assert body["usage"]["completion_tokens"] > 0
    assert body["cached"] is False
    [event] = _call_events(gw)
    assert event.merchant_id == mid
    assert event.call_id == body["call_id"]
    assert event.description_id == body["description_id"]
    assert (event.prompt_tokens, event.completion_tokens) == (
        body["usage"]["prompt_tokens"],
        body["usage"]["completion_tokens"],
    )
    assert event.status == "succeeded"


def test_the_same_idempotency_key_and_body_is_answered_once_and_billed_once(gw) -> None:
    _, headers = gw.merchant()
    keyed = {**headers, "Idempotency-Key": "order-42"}
    first = _describe(gw, keyed)
    again = _describe(gw, keyed)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(_call_events(gw)) == 1
    other = _describe(gw, keyed, style="playful")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_concurrent_duplicates_run_the_model_once(gw) -> None:
    _, headers = gw.merchant()
    keyed = {**headers, "Idempotency-Key": "burst-1"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: _describe(gw, keyed), range(4)))
    assert {r.status_code for r in responses} == {200}
    assert len({json.dumps(r.json(), sort_keys=True) for r in responses}) == 1
    assert len(_call_events(gw)) == 1


def test_personal_data_never_reaches_the_model(gw) -> None:
    _, headers = gw.merchant()
    product = {**PRODUCT, "features": ["questions: owner@example.com", "padded straps"]}
    r = _describe(gw, headers, product=product)
    assert r.status_code == 200, r.text
    assert r.json()["masked"] == {"email": 1}
    assert "owner@example.com" not in (r.json()["text"] or "")


def test_a_blocked_output_is_not_returned_cached_or_billed(gw) -> None:
    mid, headers = gw.merchant()
    # The merchant forbids naming a product line (a competitor mark, say); the model's
    # description names the product, so the rule stage blocks it.
    terms = gw.client.put(
        f"/v1/merchants/{mid}/risk-terms", json={"terms": ["Trail Pro"]}, headers=headers
    )
    assert terms.status_code == 200, terms.text
    r = _describe(gw, headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["risk"]["verdict"] == "block", body
    assert "competitor_trademark" in body["risk"]["reasons"]
    assert body["text"] is None
    assert body["description_id"] is None
    [event] = _call_events(gw)
    assert event.status == "blocked"
    assert _describe(gw, headers).json()["cached"] is False


def test_risk_terms_belong_to_their_merchant(gw) -> None:
    alice_id, alice = gw.merchant("Alice")
    bob_id, _ = gw.merchant("Bob")
    url = f"/v1/merchants/{bob_id}/risk-terms"
    assert gw.client.put(url, json={"terms": ["x1"]}, headers=alice).status_code == 404
    assert gw.client.get(url, headers=alice).status_code == 404
    own = gw.client.put(
        f"/v1/merchants/{alice_id}/risk-terms",
        json={"terms": ["Rival", "rival ", "Other Co"]},
        headers=alice,
    )
    assert own.json()["terms"] == ["Other Co", "Rival"]
    bad = gw.client.put(
        f"/v1/merchants/{alice_id}/risk-terms", json={"terms": ["x"]}, headers=alice
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "terms"


def test_a_repeat_is_a_cache_hit_but_never_across_merchants(gw) -> None:
    _, alice = gw.merchant("Alice")
    _, bob = gw.merchant("Bob")
    first = _describe(gw, alice).json()
    hit = _describe(gw, alice).json()
    assert hit["cached"] is True
    assert hit["text"] == first["text"]
    assert _describe(gw, bob).json()["cached"] is False
    events = _call_events(gw)
    assert [e.cache_hit for e in events] == [False, True, False]
    assert (events[1].prompt_tokens, events[1].completion_tokens) == (0, 0)


def test_rate_limits_answer_429_with_retry_after(gw) -> None:
    _, headers = gw.merchant(requests_per_minute=2)
    assert _describe(gw, headers).status_code == 200
    assert _describe(gw, headers).status_code == 200
    limited = _describe(gw, headers)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    _, small = gw.merchant(tokens_per_minute=50)
    r = _describe(gw, small, max_tokens=120)
    assert r.status_code == 429
    assert r.json()["error"]["param"] == "max_tokens"


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"product": {**PRODUCT, "surprise": 1}}, "product.surprise"),
        ({"product": {k: v for k, v in PRODUCT.items() if k != "brand"}}, "product.brand"),
        ({"product": PRODUCT, "max_tokens": 0}, "max_tokens"),
        ({"product": PRODUCT, "max_tokens": 100_000}, "max_tokens"),
        ({"product": PRODUCT, "style": "shouty"}, "style"),
    ],
)
def test_bad_requests_are_400_naming_the_field(gw_sqlite, payload, param) -> None:
    _, headers = gw_sqlite.merchant()
    r = gw_sqlite.client.post("/v1/descriptions", json=payload, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"]["param"] == param
    assert _call_events(gw_sqlite) == []


def test_a_down_backend_is_503_and_releases_the_claim(sqlite_url) -> None:
    settings = make_settings(sqlite_url)
    settings = settings.model_copy(
        update={
            "inference": InferenceSettings(
                backend="openai", base_url="http://127.0.0.1:1/v1", max_retries=0, timeout_s=2
            )
        }
    )
    with harness_with(settings) as gw:
        _, headers = gw.merchant()
        keyed = {**headers, "Idempotency-Key": "k1"}
        r = _describe(gw, keyed)
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "inference_unavailable"
        with gw.runtime.sessions() as session:
            assert session.scalars(select(CallRecord)).all() == []
        assert _describe(gw, keyed).status_code == 503  # the key is free again, not 409
