"""Experiments: one active per merchant, tenant-checked, product-level with a warning."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from attribution.experiments import create_experiment
from liftmeter.errors import Conflict


def _create(gw, headers, **body):  # type: ignore[no-untyped-def]
    payload = {"name": "spring copy", "holdout_share": "0.1", **body}
    return gw.client.post("/v1/experiments", json=payload, headers=headers)


def test_create_read_list_and_stop_an_experiment(gw) -> None:
    mid, headers = gw.merchant()
    r = _create(gw, headers)
    assert r.status_code == 201, r.text
    exp = r.json()
    assert exp["id"].startswith("exp_")
    assert exp["merchant_id"] == mid
    assert exp["holdout_share"] == "0.1000"
    assert (exp["unit_type"], exp["status"], exp["warnings"]) == ("visitor", "active", [])
    assert gw.client.get(f"/v1/experiments/{exp['id']}", headers=headers).json() == exp
    assert [e["id"] for e in gw.client.get("/v1/experiments", headers=headers).json()] == [
        exp["id"]
    ]
    stopped = gw.client.post(f"/v1/experiments/{exp['id']}/stop", headers=headers)
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["ends_at"] is not None
    again = gw.client.post(f"/v1/experiments/{exp['id']}/stop", headers=headers)
    assert again.json() == stopped.json()


def test_only_one_experiment_is_active_at_a_time(gw) -> None:
    _, headers = gw.merchant()
    first = _create(gw, headers).json()
    second = _create(gw, headers)
    assert second.status_code == 409
    assert second.json()["error"]["type"] == "conflict_error"
    assert first["id"] in second.json()["error"]["message"]
    gw.client.post(f"/v1/experiments/{first['id']}/stop", headers=headers)
    assert _create(gw, headers).status_code == 201


def test_an_experiment_whose_window_ended_does_not_block_a_new_one(gw) -> None:
    _, headers = gw.merchant()
    now = datetime.now(UTC)
    short = _create(
        gw,
        headers,
        starts_at=now.isoformat(),
        ends_at=(now + timedelta(milliseconds=50)).isoformat(),
    )
    assert short.status_code == 201, short.text
    time.sleep(0.1)
    assert _create(gw, headers).status_code == 201
    listed = gw.client.get("/v1/experiments", headers=headers).json()
    assert [e["status"] for e in listed] == ["active", "stopped"]


def test_product_level_experiments_carry_the_interference_warning(gw) -> None:
    _, headers = gw.merchant()
    r = _create(gw, headers, unit_type="product")
    assert r.status_code == 201
    (warning,) = r.json()["warnings"]
    assert "inflate" in warning
    read = gw.client.get(f"/v1/experiments/{r.json()['id']}", headers=headers)
    assert read.json()["warnings"] == [warning]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"holdout_share": "0"}, "holdout_share"),
        ({"holdout_share": "1"}, "holdout_share"),
        ({"holdout_share": "0.12345"}, "holdout_share"),
        ({"holdout_share": "lots"}, "holdout_share"),
        ({"unit_type": "session"}, "unit_type"),
        ({"starts_at": "2021-01-01T00:00:00Z"}, "starts_at"),
        ({"starts_at": "2030-01-01T00:00:00"}, "starts_at"),
        (
            {"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
            "ends_at",
        ),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_experiments_are_rejected_naming_the_field(gw, body, param) -> None:
    _, headers = gw.merchant()
    r = _create(gw, headers, **body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param
    assert gw.client.get("/v1/experiments", headers=headers).json() == []


def test_another_merchants_experiment_is_not_found(gw) -> None:
    _, alice = gw.merchant("Alice")
    bob_id, bob = gw.merchant("Bob")
    exp = _create(gw, bob).json()["id"]
    for method, path in (
        ("GET", f"/v1/experiments/{exp}"),
        ("POST", f"/v1/experiments/{exp}/stop"),
    ):
        r = gw.client.request(method, path, headers=alice)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
    assert gw.client.get(f"/v1/experiments?merchant_id={bob_id}", headers=alice).status_code == 404
    assert gw.client.get("/v1/experiments", headers=alice).json() == []
    assert gw.client.get(f"/v1/experiments/{exp}", headers=bob).json()["status"] == "active"


def test_scopes_guard_writes_and_reads(gw) -> None:
    mid, _ = gw.merchant()
    body = {"name": "ro", "merchant_id": mid, "scopes": ["usage:read"]}
    r = gw.client.post("/v1/keys", headers=gw.admin, json=body)
    reader = {"Authorization": f"Bearer {r.json()['secret']}"}
    assert _create(gw, reader).status_code == 403
    assert gw.client.get("/v1/experiments", headers=reader).status_code == 200
    finance = gw.staff("finance")  # finance reads every merchant's experiments, writes none
    assert _create(gw, gw.admin).status_code == 403
    created = _create(gw, gw.merchant("Other")[1])
    assert created.status_code == 201, created.text
    listed = gw.client.get("/v1/experiments", headers=finance)
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()] == [created.json()["id"]]
    assert _create(gw, finance).status_code == 403
    assert _create(gw, gw.admin).status_code == 403


def test_a_given_experiment_id_is_kept_and_an_existing_one_is_a_conflict(gw) -> None:
    mid, headers = gw.merchant()
    with gw.runtime.sessions.begin() as session:
        created = create_experiment(
            session, merchant_id=mid, name="seeded", holdout_share="0.5", experiment_id="exp_s7"
        )
    assert created.experiment.id == "exp_s7"
    stopped = gw.client.post("/v1/experiments/exp_s7/stop", headers=headers)
    assert stopped.json()["status"] == "stopped"
    with gw.runtime.sessions.begin() as session, pytest.raises(Conflict) as raised:
        create_experiment(
            session, merchant_id=mid, name="again", holdout_share="0.5", experiment_id="exp_s7"
        )
    assert raised.value.param == "experiment_id"
    assert "exp_s7 exists" in str(raised.value)
