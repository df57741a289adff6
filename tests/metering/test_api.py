"""`GET /v1/usage` through a minimal app that mounts the metering router.

Until the gateway exists, the test app sets `request.state.principal` from a test header;
the gateway's own tests will cover this route through real API keys.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from liftmeter.errors import LiftmeterError
from liftmeter.runtime import Runtime
from liftmeter.web import Principal, Scope
from metering.api import router
from metering.service import record_calls

from factories import BASE_TIME, call_event

STATUS = {"validation_failed": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404}
DAY = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


def _principal(header: str) -> Principal:
    kind, _, merchant = header.partition(":")
    if kind == "finance":
        return Principal("key_fin", None, frozenset({Scope.FINANCE, Scope.USAGE_READ}))
    scopes = {Scope.USAGE_READ} if kind == "merchant" else set()
    return Principal(f"key_{merchant}", merchant, frozenset(scopes))


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    app = FastAPI()
    app.state.runtime = rt
    app.include_router(router)

    @app.middleware("http")
    async def test_principal(request: Request, call_next):  # type: ignore[no-untyped-def]
        header = request.headers.get("x-test-principal")
        if header:
            request.state.principal = _principal(header)
        return await call_next(request)

    @app.exception_handler(LiftmeterError)
    async def errors(_: Request, exc: LiftmeterError) -> JSONResponse:
        body = {"error": {"code": exc.code, "message": exc.message, "param": exc.param}}
        return JSONResponse(body, status_code=STATUS.get(exc.code, 500))

    events = [
        call_event(m, i, occurred_at=BASE_TIME + timedelta(minutes=37 * i), model=f"m{i % 2}")
        for m in ("mer_a", "mer_b")
        for i in range(60)
    ]
    with rt.sessions.begin() as session:
        record_calls(session, events)
    with TestClient(app) as test_client:
        yield test_client


def _get(client: TestClient, who: str, **params: str) -> dict:  # type: ignore[type-arg]
    response = client.get("/v1/usage", params=params, headers={"x-test-principal": who})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_merchant_sees_only_its_own_usage(client: TestClient) -> None:
    page = _get(client, "merchant:mer_a", **DAY)
    assert {r["merchant_id"] for r in page["data"]} == {"mer_a"}
    assert sum(r["calls"] for r in page["data"]) == 60
    other = client.get(
        "/v1/usage",
        params={**DAY, "merchant_id": "mer_b"},
        headers={"x-test-principal": "merchant:mer_a"},
    )
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    assert "mer_b" not in other.text  # another tenant's id is never confirmed
    nobody = _get(client, "merchant:mer_new", **DAY)
    assert nobody["data"] == []


def test_finance_sees_every_merchant_or_the_one_it_names(client: TestClient) -> None:
    everyone = _get(client, "finance", **DAY, granularity="month")
    assert [(r["merchant_id"], r["calls"]) for r in everyone["data"]] == [
        ("mer_a", 60),
        ("mer_b", 60),
    ]
    one = _get(client, "finance", **DAY, granularity="month", merchant_id="mer_b")
    assert [r["merchant_id"] for r in one["data"]] == ["mer_b"]


def test_missing_key_or_scope_is_refused(client: TestClient) -> None:
    assert client.get("/v1/usage", params=DAY).status_code == 401
    no_scope = client.get("/v1/usage", params=DAY, headers={"x-test-principal": "none:mer_a"})
    assert no_scope.status_code == 403


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"to": DAY["to"]}, "from"),
        ({**DAY, "from": "yesterday"}, "from"),
        ({**DAY, "from": "2026-11-01T00:00:00"}, "from"),
        ({**DAY, "to": "2026-11-01T00:30:00Z"}, "to"),
        ({**DAY, "to": DAY["from"]}, "to"),
        ({**DAY, "granularity": "week"}, "granularity"),
        ({**DAY, "group_by": "model,arm"}, "group_by"),
        ({**DAY, "limit": "0"}, "limit"),
        ({**DAY, "limit": "abc"}, "limit"),
        ({**DAY, "cursor": "garbage"}, "cursor"),
        ({**DAY, "format": "xml"}, "format"),
    ],
)
def test_bad_parameters_name_the_parameter(
    client: TestClient, params: dict[str, str], param: str
) -> None:
    response = client.get("/v1/usage", params=params, headers={"x-test-principal": "finance"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_cursor_pages_cover_every_row_once_and_are_bound_to_their_query(
    client: TestClient,
) -> None:
    query = {**DAY, "granularity": "hour", "group_by": "model"}
    full = _get(client, "finance", **query, limit="1000")["data"]
    rows, cursor = [], None
    while True:
        page = _get(client, "finance", **query, limit="9", **({"cursor": cursor} if cursor else {}))
        rows.extend(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert rows == full
    assert len(full) > 30
    first = _get(client, "finance", **query, limit="9")
    other_query = client.get(
        "/v1/usage",
        params={**DAY, "cursor": first["next_cursor"]},
        headers={"x-test-principal": "finance"},
    )
    assert other_query.status_code == 400


def test_csv_export_by_format_or_accept_header(client: TestClient) -> None:
    by_param = client.get(
        "/v1/usage",
        params={**DAY, "format": "csv", "group_by": "model,cache_hit"},
        headers={"x-test-principal": "merchant:mer_a"},
    )
    by_accept = client.get(
        "/v1/usage",
        params={**DAY, "group_by": "model,cache_hit"},
        headers={"x-test-principal": "merchant:mer_a", "accept": "text/csv"},
    )
    assert by_param.status_code == by_accept.status_code == 200
    assert by_param.headers["content-type"].startswith("text/csv")
    assert by_param.text == by_accept.text
    rows = list(csv.DictReader(io.StringIO(by_param.text)))
    assert {r["merchant_id"] for r in rows} == {"mer_a"}
    assert sum(int(r["calls"]) for r in rows) == 60
    assert {r["model"] for r in rows} == {"m0", "m1"}
    assert {r["risk_verdict"] for r in rows} == {""}  # not grouped by
    assert rows[0]["cached_tokens"] == ""  # unknown, not 0
