"""POST /v1/exposures: storefront-hashed exposures are checked against the published hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from attribution.assignment import assign_arm
from liftmeter.events import EXPOSURES_TOPIC, ExposureRecorded

from factories import add_description, outbox_events


def _experiment(gw, headers, **body) -> dict:  # type: ignore[no-untyped-def]
    payload = {"name": "copy", "holdout_share": "0.3", **body}
    r = gw.client.post("/v1/experiments", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _row(mid: str, exp: dict, unit: str, **overrides) -> dict:  # type: ignore[no-untyped-def]
    arm = assign_arm(
        merchant_id=mid,
        experiment_id=exp["id"],
        unit_id=unit,
        holdout_share=float(exp["holdout_share"]),
    )
    row = {
        "experiment_id": exp["id"],
        "unit_type": exp["unit_type"],
        "unit_id": unit,
        "product_id": "sku-1" if exp["unit_type"] == "visitor" else unit,
        "arm": arm.value,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    row.update(overrides)
    return row


def _flip(arm: str) -> str:
    return "holdout" if arm == "treatment" else "treatment"


def _post(gw, headers, rows, **params):  # type: ignore[no-untyped-def]
    return gw.client.post("/v1/exposures", json={"exposures": rows}, headers=headers, params=params)


def test_correctly_hashed_exposures_are_recorded_as_events(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers)
    desc = add_description(gw.runtime, mid, "sku-1", "copy")
    rows = [_row(mid, exp, f"v{i}") for i in range(40)]
    for row in rows:
        if row["arm"] == "treatment":
            row["description_id"] = desc
    r = _post(gw, headers, rows)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 40, "rejected": []}
    events = outbox_events(gw.runtime, EXPOSURES_TOPIC)
    assert all(isinstance(e, ExposureRecorded) for e in events)
    assert [(e.unit_id, e.arm, e.description_id) for e in events] == [
        (row["unit_id"], row["arm"], row.get("description_id")) for row in rows
    ]


def test_an_arm_that_disagrees_with_the_hash_is_rejected(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers)
    rows = [_row(mid, exp, f"v{i}") for i in range(5)]
    rows[3]["arm"] = _flip(rows[3]["arm"])
    r = _post(gw, headers, rows)
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("rows_rejected", "arm")
    assert error["rejected"] == [
        {
            "index": 3,
            "field": "arm",
            "reason": "arm_mismatch",
            "message": error["rejected"][0]["message"],
        }
    ]
    assert outbox_events(gw.runtime, EXPOSURES_TOPIC) == []


def test_best_effort_records_the_valid_rows_and_lists_the_rest(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers)
    rows = [_row(mid, exp, f"v{i}") for i in range(6)]
    rows[1]["arm"] = _flip(rows[1]["arm"])
    rows[4] = {"experiment_id": exp["id"]}
    r = _post(gw, headers, rows, best_effort="true")
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 4
    assert [(x["index"], x["field"], x["reason"]) for x in body["rejected"]] == [
        (1, "arm", "arm_mismatch"),
        (4, "unit_type", "required"),
    ]
    assert len(outbox_events(gw.runtime, EXPOSURES_TOPIC)) == 4


def test_each_rule_names_its_field_and_reason(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers)
    desc = add_description(gw.runtime, mid, "sku-1", "copy")
    now = datetime.now(UTC)
    holdout = next(f"h{i}" for i in range(200) if _row(mid, exp, f"h{i}")["arm"] == "holdout")
    treated = next(f"t{i}" for i in range(200) if _row(mid, exp, f"t{i}")["arm"] == "treatment")
    cases = [
        (_row(mid, exp, "v", experiment_id="exp_nope"), "experiment_id", "unknown_experiment"),
        (_row(mid, exp, "v", unit_type="product"), "unit_type", "unit_type_mismatch"),
        (
            _row(mid, exp, holdout, description_id=desc),
            "description_id",
            "holdout_with_description",
        ),
        (_row(mid, exp, treated, description_id="desc_x"), "description_id", "unknown_description"),
        (
            _row(mid, exp, "v", occurred_at=(now + timedelta(minutes=10)).isoformat()),
            "occurred_at",
            "in_future",
        ),
        (
            _row(mid, exp, "v", occurred_at=(now - timedelta(hours=1)).isoformat()),
            "occurred_at",
            "outside_window",
        ),
        (
            _row(mid, exp, "v", occurred_at="2030-01-01T00:00:00"),
            "occurred_at",
            "timezone_required",
        ),
        (_row(mid, exp, "v", arm="control"), "arm", "invalid"),
        (_row(mid, exp, "v", colour="red"), "colour", "unknown_field"),
        (_row(mid, exp, "v", unit_id=""), "unit_id", "invalid"),
        ("not an object", "row", "invalid"),
    ]
    r = _post(gw, headers, [row for row, _, _ in cases], best_effort="true")
    assert r.status_code == 200, r.text
    got = [(x["index"], x["field"], x["reason"]) for x in r.json()["rejected"]]
    assert got == [(i, field, reason) for i, (_, field, reason) in enumerate(cases)]
    assert r.json()["accepted"] == 0


def test_product_level_exposures_must_use_the_product_as_the_unit(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers, unit_type="product")
    good = _row(mid, exp, "p1")
    bad = _row(mid, exp, "p2", product_id="p3")
    r = _post(gw, headers, [good, bad], best_effort="true")
    assert r.json()["accepted"] == 1
    assert r.json()["rejected"][0]["reason"] == "unit_id_mismatch"


def test_another_merchants_experiment_is_rejected_like_an_unknown_one(gw) -> None:
    alice_id, alice = gw.merchant("Alice")
    bob_id, bob = gw.merchant("Bob")
    bobs = _experiment(gw, bob)
    row = _row(bob_id, bobs, "v1")
    r = _post(gw, alice, [row])
    assert r.status_code == 400
    (rejected,) = r.json()["error"]["rejected"]
    assert (rejected["reason"], rejected["message"]) == ("unknown_experiment", "no such experiment")
    bob_desc = add_description(gw.runtime, bob_id, "sku-1", "bob's copy")
    alices = _experiment(gw, alice)
    treated = next(
        f"t{i}" for i in range(200) if _row(alice_id, alices, f"t{i}")["arm"] == "treatment"
    )
    r = _post(gw, alice, [_row(alice_id, alices, treated, description_id=bob_desc)])
    assert r.json()["error"]["rejected"][0]["reason"] == "unknown_description"


def test_batch_limits(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers)
    assert _post(gw, headers, []).status_code == 400
    r = _post(gw, headers, [_row(mid, exp, "v")] * 10_001)
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "exposures"
    r = gw.client.post("/v1/exposures", json=[1, 2], headers=headers)
    assert r.status_code == 400
    r = gw.client.post(
        "/v1/exposures",
        content=b"{",
        headers={**headers, "content-type": "application/json"},
    )
    assert r.status_code == 400


def test_a_full_batch_of_ten_thousand_is_accepted(gw_sqlite) -> None:
    gw = gw_sqlite
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers)
    rows = [_row(mid, exp, f"visitor-{i}") for i in range(10_000)]
    r = _post(gw, headers, rows)
    assert r.status_code == 200, r.text[:500]
    assert r.json()["accepted"] == 10_000


def test_a_row_may_carry_the_product_category_up_to_100_characters(gw) -> None:
    mid, headers = gw.merchant()
    exp = _experiment(gw, headers)
    rows = [
        _row(mid, exp, "v1", category="shoes"),
        _row(mid, exp, "v2"),
        _row(mid, exp, "v3", category="x" * 101),
    ]
    r = _post(gw, headers, rows, best_effort="true")
    assert r.status_code == 200, r.text
    assert [(x["index"], x["field"], x["reason"]) for x in r.json()["rejected"]] == [
        (2, "category", "invalid")
    ]
    events = outbox_events(gw.runtime, EXPOSURES_TOPIC)
    assert [(e.unit_id, e.category) for e in events] == [("v1", "shoes"), ("v2", None)]
