"""`GET /v1/usage` through the real gateway, with real API keys.

Tests name the caller with a short label (`merchant:mer_a`, `finance`, `none:mer_a`);
`UsageClient` turns it into that caller's real `Authorization` header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from metering.service import record_calls

from factories import BASE_TIME, call_event
from gateway_harness import Harness, harness_with
from support import make_settings

DAY = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


class UsageClient:
    """The gateway's test client, with callers named by label instead of secrets."""

    def __init__(self, gw: Harness):
        self.gw = gw
        self.auth: dict[str, dict[str, str]] = {"finance": gw.staff("finance")}
        for merchant in ("mer_a", "mer_b", "mer_new"):
            r = gw.client.post(
                "/v1/merchants", json={"name": merchant, "id": merchant}, headers=gw.admin
            )
            assert r.status_code == 201, r.text
            self.auth[f"merchant:{merchant}"] = self._key(merchant, ["usage:read"])
        self.auth["none:mer_a"] = self._key("mer_a", ["conversions:write"])

    def _key(self, merchant: str, scopes: list[str]) -> dict[str, str]:
        body = {"name": "k", "merchant_id": merchant, "scopes": scopes}
        r = self.gw.client.post("/v1/keys", json=body, headers=self.gw.admin)
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['secret']}"}

    def get(
        self, path: str, *, params: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = dict(headers or {})
        who = headers.pop("x-test-principal", None)
        if who is not None:
            headers.update(self.auth[who])
        return self.gw.client.get(path, params=params, headers=headers)


@pytest.fixture
def client(db_url: str) -> Iterator[UsageClient]:
    with harness_with(make_settings(db_url)) as gw:
        usage = UsageClient(gw)
        events = [
            call_event(m, i, occurred_at=BASE_TIME + timedelta(minutes=37 * i), model=f"m{i % 2}")
            for m in ("mer_a", "mer_b")
            for i in range(60)
        ]
        with gw.runtime.sessions.begin() as session:
            assert record_calls(session, events) == []
        yield usage


def _get(client: UsageClient, who: str, **params: str) -> dict:  # type: ignore[type-arg]
    response = client.get("/v1/usage", params=params, headers={"x-test-principal": who})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_merchant_sees_only_its_own_usage(client: UsageClient) -> None:
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


def test_finance_sees_every_merchant_or_the_one_it_names(client: UsageClient) -> None:
    everyone = _get(client, "finance", **DAY, granularity="month")
    assert [(r["merchant_id"], r["calls"]) for r in everyone["data"]] == [
        ("mer_a", 60),
        ("mer_b", 60),
    ]
    one = _get(client, "finance", **DAY, granularity="month", merchant_id="mer_b")
    assert [r["merchant_id"] for r in one["data"]] == ["mer_b"]


def test_missing_key_or_scope_is_refused(client: UsageClient) -> None:
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
    client: UsageClient, params: dict[str, str], param: str
) -> None:
    response = client.get("/v1/usage", params=params, headers={"x-test-principal": "finance"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_cursor_pages_cover_every_row_once_and_are_bound_to_their_query(
    client: UsageClient,
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


def test_csv_export_by_format_or_accept_header(client: UsageClient) -> None:
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
