"""Intake endpoints answer junk with 4xx in the one error shape, never a 500."""

from __future__ import annotations

import pytest

JUNK = [
    None,
    0,
    -1.5,
    "x",
    [],
    [None],
    {},
    {"exposures": None},
    {"exposures": [{}]},
    {"conversions": [{"kind": "purchase", "revenue": {"a": 1}}]},
    {"conversions": [{"kind": "view", "visitor_id": 1e308, "occurred_at": 12}]},
    {"kind": ["purchase"], "occurred_at": None},
    {"name": "\x00", "holdout_share": "1e-9999"},
    {"name": "n", "holdout_share": "Infinity"},
    {"name": "n", "holdout_share": 0.5, "starts_at": "9999-99-99"},
]
ROUTES = ["/v1/experiments", "/v1/exposures", "/v1/conversions", "/v1/conversions/upload"]


@pytest.mark.parametrize("path", ROUTES)
def test_junk_bodies_get_4xx_with_the_error_shape(gw_sqlite, path) -> None:
    gw = gw_sqlite
    _, headers = gw.merchant()
    for body in JUNK:
        r = gw.client.post(path, json=body, headers=headers)
        assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text)
        assert set(r.json()["error"]) >= {"type", "code", "message", "param", "request_id"}
    for raw in (b"\x00\xff", b"a,b\n1,2\n", b"PAR1"):
        r = gw.client.post(path, content=raw, headers={**headers, "content-type": "text/csv"})
        assert 400 <= r.status_code < 500, (path, raw, r.text)


def test_junk_query_parameters_on_reads_get_4xx(gw_sqlite) -> None:
    gw = gw_sqlite
    _, headers = gw.merchant()
    for path in (
        "/v1/variants",
        "/v1/variants?product_id=",
        "/v1/variants?product_id=p&visitor_id=" + "v" * 500,
        "/v1/experiments/%00",
        "/v1/experiments/" + "e" * 300,
        "/v1/exposures?best_effort=maybe",
    ):
        r = gw.client.get(path, headers=headers)
        assert 400 <= r.status_code < 500, (path, r.text)


def test_staff_keys_cannot_act_as_a_storefront(gw_sqlite) -> None:
    gw = gw_sqlite
    for path in ("/v1/conversions", "/v1/exposures"):
        r = gw.client.post(path, json={"conversions": [{}]}, headers=gw.admin)
        assert r.status_code in (400, 403)
    r = gw.client.get("/v1/variants?product_id=p&visitor_id=v", headers=gw.admin)
    assert r.status_code == 403


def test_the_openapi_document_lists_the_intake_routes(gw_sqlite) -> None:
    paths = gw_sqlite.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/experiments",
        "/v1/experiments/{experiment_id}",
        "/v1/experiments/{experiment_id}/stop",
        "/v1/variants",
        "/v1/exposures",
        "/v1/conversions",
        "/v1/conversions/upload",
    ):
        assert path in paths
