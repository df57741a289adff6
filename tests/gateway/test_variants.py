"""GET /v1/variants: the published hash decides the arm; every answer records an exposure."""

from __future__ import annotations

from attribution.assignment import assign_arm
from liftmeter.events import EXPOSURES_TOPIC, ExposureRecorded

from factories import add_description, outbox_events


def _experiment(gw, headers, **body) -> dict:  # type: ignore[no-untyped-def]
    payload = {"name": "copy", "holdout_share": "0.2", **body}
    r = gw.client.post("/v1/experiments", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _variant(gw, headers, **params):  # type: ignore[no-untyped-def]
    return gw.client.get("/v1/variants", params=params, headers=headers)


def test_the_arm_is_the_published_hash_and_a_storefront_can_reproduce_it(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers)
    desc = add_description(gw.runtime, mid, "sku-1", "Warm, light and packable.")
    for visitor in ("v-1", "v-2", "v-3", "visitor-ü", "v-5", "v-6", "v-7", "v-8"):
        body = _variant(gw, headers, product_id="sku-1", visitor_id=visitor).json()
        expected = assign_arm(
            merchant_id=mid, experiment_id=exp["id"], unit_id=visitor, holdout_share=0.2
        )
        assert body["arm"] == expected.value
        assert (body["unit_type"], body["unit_id"]) == ("visitor", visitor)
        if expected.value == "treatment":
            assert (body["show"], body["description_id"]) == ("generated", desc)
            assert body["text"] == "Warm, light and packable."
        else:
            assert (body["show"], body["description_id"], body["text"]) == ("original", None, None)
        again = _variant(gw, headers, product_id="sku-1", visitor_id=visitor).json()
        assert again["arm"] == body["arm"]


def test_each_variant_is_an_exposure_event_in_the_outbox(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers)
    add_description(gw.runtime, mid, "sku-1", "old copy")
    newest = add_description(gw.runtime, mid, "sku-1", "new copy")
    answers = [
        _variant(gw, headers, product_id="sku-1", visitor_id=f"v{i}").json() for i in range(20)
    ]
    events = outbox_events(gw.runtime, EXPOSURES_TOPIC)
    assert len(events) == 20
    for answer, event in zip(answers, events, strict=True):
        assert isinstance(event, ExposureRecorded)
        assert str(event.event_id) == answer["exposure_id"]
        assert (event.merchant_id, event.experiment_id) == (mid, exp["id"])
        assert (event.unit_id, event.arm, event.product_id) == (
            answer["unit_id"],
            answer["arm"],
            "sku-1",
        )
        expected = newest if answer["arm"] == "treatment" else None
        assert event.description_id == expected == answer["description_id"]


def test_treatment_without_a_description_shows_the_original_and_still_counts(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers, holdout_share="0.01")
    treated = next(
        f"v{i}"
        for i in range(100)
        if assign_arm(merchant_id=mid, experiment_id=exp["id"], unit_id=f"v{i}", holdout_share=0.01)
        == "treatment"
    )
    body = _variant(gw, headers, product_id="sku-none", visitor_id=treated).json()
    assert (body["arm"], body["show"], body["description_id"]) == ("treatment", "original", None)
    assert "no generated description" in body["reason"]
    add_description(gw.runtime, mid, "sku-held", "flagged copy", risk_verdict="review")
    held = _variant(gw, headers, product_id="sku-held", visitor_id=treated).json()
    assert (held["show"], held["text"]) == ("original", None)
    events = outbox_events(gw.runtime, EXPOSURES_TOPIC)
    assert [(e.arm, e.description_id) for e in events] == [("treatment", None)] * 2


def test_the_holdout_share_is_respected_over_many_visitors(gw_sqlite) -> None:
    gw = gw_sqlite
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers, holdout_share="0.2")
    arms = [
        assign_arm(
            merchant_id=mid, experiment_id=exp["id"], unit_id=f"visitor-{i}", holdout_share=0.2
        )
        for i in range(10_000)
    ]
    share = sum(a == "holdout" for a in arms) / len(arms)
    assert abs(share - 0.2) < 0.015  # ±3.75 standard errors of a binomial share
    sample = [_variant(gw, headers, product_id="p", visitor_id=f"visitor-{i}") for i in range(50)]
    assert [r.json()["arm"] for r in sample] == [a.value for a in arms[:50]]


def test_product_level_experiments_hash_the_product(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers, unit_type="product", holdout_share="0.5")
    for product in ("p1", "p2", "p3", "p4"):
        body = _variant(gw, headers, product_id=product).json()
        expected = assign_arm(
            merchant_id=mid, experiment_id=exp["id"], unit_id=product, holdout_share=0.5
        )
        assert (body["unit_type"], body["unit_id"], body["arm"]) == (
            "product",
            product,
            expected.value,
        )


def test_without_an_active_experiment_the_answer_is_404_and_nothing_is_recorded(gw) -> None:
    _, headers = gw.merchant()
    r = _variant(gw, headers, product_id="sku-1", visitor_id="v1")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "no_active_experiment"
    exp = _experiment(gw, headers)
    gw.client.post(f"/v1/experiments/{exp['id']}/stop", headers=headers)
    r = _variant(gw, headers, product_id="sku-1", visitor_id="v1")
    assert r.json()["error"]["code"] == "no_active_experiment"
    assert outbox_events(gw.runtime, EXPOSURES_TOPIC) == []


def test_bad_variant_requests_name_the_parameter(gw) -> None:
    _, headers = gw.merchant()
    _experiment(gw, headers)
    r = _variant(gw, headers, product_id="sku-1")
    assert (r.status_code, r.json()["error"]["param"]) == (400, "visitor_id")
    r = _variant(gw, headers, visitor_id="v1")
    assert (r.status_code, r.json()["error"]["param"]) == (400, "product_id")
    r = _variant(gw, headers, product_id="x" * 129, visitor_id="v1")
    assert (r.status_code, r.json()["error"]["param"]) == (400, "product_id")
    assert outbox_events(gw.runtime, EXPOSURES_TOPIC) == []


def test_another_merchants_experiment_never_answers(gw) -> None:
    _, alice = gw.merchant("Alice")
    _, bob = gw.merchant("Bob")
    _experiment(gw, bob)
    r = _variant(gw, alice, product_id="sku-1", visitor_id="v1")
    assert r.json()["error"]["code"] == "no_active_experiment"
