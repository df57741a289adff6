"""API keys: shown once, stored hashed, scoped, revocable; one error shape everywhere."""

from __future__ import annotations

from sqlalchemy import select

from gateway.models import ApiKey


def test_a_key_is_shown_once_and_stored_only_as_a_hash(gw) -> None:
    mid, headers = gw.merchant()
    secret = headers["Authorization"].split()[1]
    assert secret.startswith("lmk_")
    with gw.runtime.sessions() as session:
        stored = session.scalars(select(ApiKey).where(ApiKey.merchant_id == mid)).one()
    assert secret not in (stored.secret_sha256, stored.prefix, stored.scopes)
    assert stored.prefix == secret[:12]
    listed = gw.client.get("/v1/keys", headers=headers).json()
    assert [k["id"] for k in listed] == [stored.id]
    assert "secret" not in listed[0]


def test_unknown_revoked_and_malformed_keys_get_401(gw) -> None:
    mid, headers = gw.merchant()
    bad = gw.client.get("/v1/keys", headers={"Authorization": "Bearer lmk_nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthorized"
    assert gw.client.get("/v1/keys", headers={"Authorization": "Basic abc"}).status_code == 401
    assert gw.client.get("/v1/keys").status_code == 401
    key_id = gw.client.get("/v1/keys", headers=headers).json()[0]["id"]
    assert gw.client.post(f"/v1/keys/{key_id}/revoke", headers=headers).status_code == 200
    assert gw.client.get("/v1/keys", headers=headers).status_code == 401


def test_a_key_without_the_scope_gets_403(gw) -> None:
    mid, _ = gw.merchant()
    r = gw.client.post(
        "/v1/keys",
        headers=gw.admin,
        json={"name": "ro", "merchant_id": mid, "scopes": ["usage:read"]},
    )
    ro = {"Authorization": f"Bearer {r.json()['secret']}"}
    denied = gw.client.post("/v1/merchants", json={"name": "x"}, headers=ro)
    assert denied.status_code == 403
    assert denied.json()["error"]["type"] == "permission_error"


def test_a_merchant_cannot_see_or_revoke_another_merchants_keys(gw) -> None:
    _, alice = gw.merchant("Alice")
    bob_id, bob = gw.merchant("Bob")
    bob_key = gw.client.get("/v1/keys", headers=bob).json()[0]["id"]
    assert gw.client.get(f"/v1/keys?merchant_id={bob_id}", headers=alice).status_code == 404
    assert gw.client.post(f"/v1/keys/{bob_key}/revoke", headers=alice).status_code == 404
    assert gw.client.get("/v1/keys", headers=bob).status_code == 200


def test_bad_input_names_the_field_and_writes_nothing(gw) -> None:
    r = gw.client.post(
        "/v1/keys",
        headers=gw.admin,
        json={"name": "x", "scopes": ["descriptions:write"], "merchant_id": None},
    )
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "merchant_id"
    r = gw.client.post("/v1/merchants", headers=gw.admin, json={"name": "x", "surprise": 1})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "surprise"
    r = gw.client.post("/v1/merchants", headers=gw.admin, json={"name": "x", "currency": "XYZ"})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "currency"
    assert gw.client.get("/v1/keys", headers=gw.admin).json()[0]["name"] == "admin"
    assert len(gw.client.get("/v1/keys", headers=gw.admin).json()) == 1


def test_every_response_has_a_request_id_and_errors_repeat_it(gw) -> None:
    r = gw.client.get("/v1/nowhere", headers={"X-Request-ID": "req-abcdef123"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "req-abcdef123"
    assert r.json()["error"]["request_id"] == "req-abcdef123"
    assert gw.client.get("/healthz").headers["x-request-id"].startswith("req_")


def test_oversized_bodies_are_refused_with_413(gw) -> None:
    r = gw.client.post(
        "/v1/merchants",
        headers={**gw.admin, "content-type": "application/json"},
        content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"


def test_operations_endpoints(gw) -> None:
    assert gw.client.get("/healthz").json() == {"status": "ok"}
    ready = gw.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "event_log": "ok"}
    gw.client.get("/healthz")
    metrics = gw.client.get("/metrics").text
    assert 'liftmeter_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics
    assert "liftmeter_outbox_pending" in metrics
