"""Conversions intake: JSON, CSV and Parquet; exact revenue; dedupe; all or nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gateway.app import create_app
from liftmeter.events import CONVERSIONS_TOPIC, ConversionRecorded

from factories import outbox_events

NOW = datetime.now(UTC).replace(microsecond=0)
WHEN = (NOW - timedelta(hours=1)).isoformat()


def purchase(order: str = "o-1", **overrides) -> dict:  # type: ignore[no-untyped-def]
    row = {
        "kind": "purchase",
        "visitor_id": "v-1",
        "product_id": "sku-1",
        "order_id": order,
        "revenue": "19.99",
        "currency": "USD",
        "occurred_at": WHEN,
    }
    row.update(overrides)
    return row


def _post(gw, headers, body, **params):  # type: ignore[no-untyped-def]
    return gw.client.post("/v1/conversions", json=body, headers=headers, params=params)


def _events(gw) -> list[ConversionRecorded]:  # type: ignore[no-untyped-def]
    return outbox_events(gw.runtime, CONVERSIONS_TOPIC)


def _csv(rows: list[dict], columns: list[str] | None = None) -> bytes:
    columns = columns or list(rows[0])
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _upload(gw, headers, data: bytes, content_type: str, **params):  # type: ignore[no-untyped-def]
    return gw.client.post(
        "/v1/conversions/upload",
        content=data,
        headers={**headers, "content-type": content_type},
        params=params,
    )


def test_a_single_purchase_becomes_one_conversion_event(gw) -> None:
    mid, headers = gw.merchant()
    r = _post(gw, headers, purchase(description_id="desc_1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["accepted"], body["duplicate_count"], body["rejected"]) == (
        1,
        1,
        0,
        [],
    )
    (event,) = _events(gw)
    assert isinstance(event, ConversionRecorded)
    assert (event.merchant_id, event.kind, event.order_id) == (mid, "purchase", "o-1")
    assert (event.revenue, event.currency, event.description_id) == ("19.99", "USD", "desc_1")
    assert event.occurred_at == datetime.fromisoformat(WHEN)


def test_a_batch_mixes_kinds_and_views_need_no_order_or_revenue(gw) -> None:
    _, headers = gw.merchant()
    view = {"kind": "view", "visitor_id": "v-2", "product_id": "sku-1", "occurred_at": WHEN}
    cart = {**view, "kind": "add_to_cart", "revenue": "5.00", "currency": "USD"}
    r = _post(gw, headers, {"conversions": [view, cart, purchase(), view]})
    assert r.json()["accepted"] == 4
    events = _events(gw)
    assert [(e.kind, e.revenue, e.currency) for e in events] == [
        ("view", "0", "USD"),
        ("add_to_cart", "5.00", "USD"),
        ("purchase", "19.99", "USD"),
        ("view", "0", "USD"),
    ]


def test_the_same_order_and_kind_is_a_duplicate_within_and_across_requests(gw) -> None:
    _, headers = gw.merchant()
    r = _post(gw, headers, {"conversions": [purchase("o-1"), purchase("o-1"), purchase("o-2")]})
    assert r.json()["accepted"] == 2
    assert r.json()["duplicates"] == [
        {"index": 1, "row": None, "order_id": "o-1", "kind": "purchase"}
    ]
    again = _post(gw, headers, purchase("o-1"))
    assert again.status_code == 200
    assert (again.json()["accepted"], again.json()["duplicate_count"]) == (0, 1)
    other_kind = _post(gw, headers, purchase("o-1", kind="add_to_cart"))
    assert other_kind.json()["accepted"] == 1
    assert len(_events(gw)) == 3


def test_orders_are_deduplicated_per_merchant(gw) -> None:
    _, alice = gw.merchant("Alice")
    _, bob = gw.merchant("Bob")
    assert _post(gw, alice, purchase("o-1")).json()["accepted"] == 1
    assert _post(gw, bob, purchase("o-1")).json()["accepted"] == 1


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"revenue": 19.99}, "revenue", "not_a_string"),
        ({"revenue": 20}, "revenue", "not_a_string"),
        ({"revenue": "-5.00"}, "revenue", "negative"),
        ({"revenue": "1e3"}, "revenue", "not_a_decimal"),
        ({"revenue": "1,000.00"}, "revenue", "not_a_decimal"),
        ({"revenue": "19.999"}, "revenue", "too_precise"),
        ({"revenue": "NaN"}, "revenue", "not_a_decimal"),
        ({"revenue": "10000000000000"}, "revenue", "too_large"),
        ({"revenue": None}, "revenue", "required"),
        ({"order_id": None}, "order_id", "required"),
        ({"order_id": "o" * 129}, "order_id", "too_long"),
        ({"kind": "refund"}, "kind", "invalid"),
        ({"kind": None}, "kind", "required"),
        ({"visitor_id": ""}, "visitor_id", "required"),
        ({"product_id": ["x"]}, "product_id", "invalid"),
        ({"currency": "EUR"}, "currency", "currency_mismatch"),
        ({"currency": "XYZ"}, "currency", "unknown_currency"),
        ({"currency": None}, "currency", "required"),
        ({"occurred_at": "2026-11-28T10:00:00"}, "occurred_at", "timezone_required"),
        ({"occurred_at": "yesterday"}, "occurred_at", "invalid"),
        ({"occurred_at": "2019-12-31T23:59:59Z"}, "occurred_at", "too_old"),
        (
            {"occurred_at": (NOW + timedelta(days=2)).isoformat()},
            "occurred_at",
            "in_future",
        ),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_each_rule_rejects_naming_the_field(gw, overrides, field, reason) -> None:
    _, headers = gw.merchant()
    r = _post(gw, headers, purchase(**overrides))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("rows_rejected", field)
    (rejected,) = error["rejected"]
    assert (rejected["index"], rejected["field"], rejected["reason"]) == (0, field, reason)
    assert _events(gw) == []


def test_a_json_number_for_revenue_gets_a_clear_message(gw) -> None:
    _, headers = gw.merchant()
    error = _post(gw, headers, purchase(revenue=19.99)).json()["error"]
    assert "decimal string" in error["message"]
    assert "not a JSON number" in error["rejected"][0]["message"]


def test_a_rejected_row_refuses_the_batch_unless_best_effort(gw) -> None:
    _, headers = gw.merchant()
    batch = {"conversions": [purchase("o-1"), purchase("o-2", revenue="-1"), purchase("o-3")]}
    r = _post(gw, headers, batch)
    assert r.status_code == 400
    assert r.json()["error"]["rows"] == 3
    assert _events(gw) == []
    r = _post(gw, headers, batch, best_effort="true")
    assert r.status_code == 200
    body = r.json()
    assert (body["accepted"], body["rejected_count"]) == (2, 1)
    assert body["rejected"][0]["index"] == 1
    assert [e.order_id for e in _events(gw)] == ["o-1", "o-3"]
    assert _post(gw, headers, purchase("o-2")).json()["accepted"] == 1


def test_malformed_bodies_are_400_never_500(gw) -> None:
    _, headers = gw.merchant()
    for body in ([1, 2], "text", {"conversions": []}, {"conversions": "x"}, {"conversions": [1]}):
        r = _post(gw, headers, body)
        assert r.status_code == 400, (body, r.text)
    r = _post(gw, headers, {"conversions": [purchase()], "extra": 1})
    assert (r.status_code, r.json()["error"]["param"]) == (400, "extra")
    r = gw.client.post(
        "/v1/conversions", content=b"{nope", headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 400
    r = _post(gw, headers, {"conversions": [purchase()] * 10_001})
    assert r.status_code in (400, 413)


def test_conversions_need_the_conversions_scope(gw) -> None:
    mid, _ = gw.merchant()
    body = {"name": "ro", "merchant_id": mid, "scopes": ["descriptions:write"]}
    key = gw.client.post("/v1/keys", headers=gw.admin, json=body).json()["secret"]
    r = _post(gw, {"Authorization": f"Bearer {key}"}, purchase())
    assert r.status_code == 403
    assert _post(gw, {}, purchase()).status_code == 401


def test_a_csv_file_is_read_row_by_row_with_row_numbers(gw) -> None:
    _, headers = gw.merchant()
    rows = [purchase("o-1"), purchase("o-2"), purchase("o-1")]
    r = _upload(gw, headers, _csv(rows), "text/csv")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["accepted"], body["duplicate_count"]) == (3, 2, 1)
    assert body["duplicates"][0]["row"] == 3
    again = _upload(gw, headers, _csv(rows), "text/csv; charset=utf-8")
    assert (again.json()["accepted"], again.json()["duplicate_count"]) == (0, 3)
    assert len(_events(gw)) == 2


def test_a_csv_with_a_bad_row_records_nothing_unless_best_effort(gw) -> None:
    _, headers = gw.merchant()
    rows = [purchase("o-1"), purchase("o-2", revenue="-3.00"), purchase("o-3", currency="EUR")]
    r = _upload(gw, headers, _csv(rows), "text/csv")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "rows_rejected"
    assert [(x["row"], x["field"], x["reason"]) for x in error["rejected"]] == [
        (2, "revenue", "negative"),
        (3, "currency", "currency_mismatch"),
    ]
    assert "refunds are a separate kind" in error["rejected"][0]["message"]
    assert _events(gw) == []
    r = _upload(gw, headers, _csv(rows), "text/csv", best_effort="true")
    assert r.json()["accepted"] == 1
    assert [e.order_id for e in _events(gw)] == ["o-1"]


def test_csv_as_multipart_with_blank_optional_fields(gw) -> None:
    _, headers = gw.merchant()
    view = {"kind": "view", "visitor_id": "v-9", "product_id": "p", "occurred_at": WHEN}
    data = _csv([view, purchase("o-5")], list(purchase()) + ["description_id"])
    r = gw.client.post(
        "/v1/conversions/upload", files={"file": ("orders.csv", data, "text/csv")}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2
    view_event = _events(gw)[0]
    assert (view_event.order_id, view_event.revenue, view_event.description_id) == (None, "0", None)


@pytest.mark.parametrize(
    ("data", "code", "param"),
    [
        (b"", "invalid_file", "file"),
        (b"kind,visitor_id,product_id,occurred_at,colour\n", "invalid_file", "colour"),
        (b"kind,visitor_id,product_id\n", "invalid_file", "occurred_at"),
        (b"kind,visitor_id,product_id,occurred_at\n\xff\xfe,x,y,z\n", "invalid_file", "file"),
        (b'kind,visitor_id,product_id,occurred_at\n"view,x\n', "invalid_file", "file"),
    ],
)
def test_unreadable_csv_files_are_400_naming_the_problem(gw, data, code, param) -> None:
    _, headers = gw.merchant()
    r = _upload(gw, headers, data, "text/csv")
    assert r.status_code == 400, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == (code, param)


def test_a_short_csv_row_is_rejected_with_its_number(gw) -> None:
    _, headers = gw.merchant()
    data = _csv([purchase("o-1")]) + b"purchase,v-1\n"
    r = _upload(gw, headers, data, "text/csv")
    (rejected,) = r.json()["error"]["rejected"]
    assert (rejected["row"], rejected["field"], rejected["reason"]) == (2, "row", "invalid")


def test_a_parquet_file_with_decimal_revenue_and_timestamps(gw) -> None:
    _, headers = gw.merchant()
    table = pa.table(
        {
            "kind": ["purchase", "purchase", "view"],
            "visitor_id": ["v-1", "v-2", "v-3"],
            "product_id": [101, 102, 103],
            "order_id": ["o-1", "o-2", None],
            "revenue": pa.array(
                [Decimal("10.50"), Decimal("3.25"), None], type=pa.decimal128(12, 2)
            ),
            "currency": ["USD", "USD", None],
            "occurred_at": pa.array(
                [NOW - timedelta(minutes=m) for m in (1, 2, 3)], type=pa.timestamp("us", "UTC")
            ),
        }
    )
    r = _upload(gw, headers, _parquet(table), "application/vnd.apache.parquet")
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3
    events = _events(gw)
    assert [(e.product_id, e.revenue) for e in events] == [
        ("101", "10.50"),
        ("102", "3.25"),
        ("103", "0"),
    ]
    r = gw.client.post(
        "/v1/conversions/upload",
        files={"file": ("orders.parquet", _parquet(table), "application/octet-stream")},
        headers=headers,
    )
    assert r.json()["duplicate_count"] == 2


def test_parquet_rows_are_checked_and_numbered(gw) -> None:
    _, headers = gw.merchant()
    table = pa.table(
        {
            "kind": ["purchase", "purchase"],
            "visitor_id": ["v-1", "v-2"],
            "product_id": ["p", "p"],
            "order_id": ["o-1", "o-2"],
            "revenue": ["1.00", "-1.00"],
            "currency": ["USD", "USD"],
            "occurred_at": [WHEN, WHEN],
        }
    )
    r = _upload(gw, headers, _parquet(table), "application/vnd.apache.parquet")
    assert r.status_code == 400
    (rejected,) = r.json()["error"]["rejected"]
    assert (rejected["row"], rejected["reason"]) == (2, "negative")


@pytest.mark.parametrize(
    ("column", "values", "param"),
    [
        ("revenue", pa.array([1.5], type=pa.float64()), "revenue"),
        ("occurred_at", pa.array([datetime(2026, 1, 1)], type=pa.timestamp("us")), "occurred_at"),
    ],
)
def test_parquet_columns_that_cannot_be_exact_refuse_the_file(gw, column, values, param) -> None:
    _, headers = gw.merchant()
    data = {
        "kind": ["purchase"],
        "visitor_id": ["v"],
        "product_id": ["p"],
        "order_id": ["o"],
        "revenue": ["1.00"],
        "currency": ["USD"],
        "occurred_at": [WHEN],
    }
    data[column] = values
    r = _upload(gw, headers, _parquet(pa.table(data)), "application/vnd.apache.parquet")
    assert r.status_code == 400
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == ("invalid_file", param)


def test_files_that_are_not_csv_or_parquet_are_refused(gw) -> None:
    _, headers = gw.merchant()
    r = _upload(gw, headers, b"PAR1garbage", "application/vnd.apache.parquet")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_file")
    r = _upload(gw, headers, b"{}", "application/json")
    assert (r.status_code, r.json()["error"]["code"]) == (415, "unsupported_media_type")
    r = gw.client.post("/v1/conversions/upload", files={"other": ("a.csv", b"x")}, headers=headers)
    assert (r.status_code, r.json()["error"]["param"]) == (400, "file")


def _limited(gw, **gateway):  # type: ignore[no-untyped-def]
    """A second app on the same runtime with smaller limits."""
    from fastapi.testclient import TestClient

    from liftmeter.settings import GatewaySettings

    settings = gw.runtime.settings.model_copy(
        update={"gateway": GatewaySettings(run_relay=False, **gateway)}
    )
    return TestClient(create_app(settings, runtime=gw.runtime), raise_server_exceptions=False)


def test_size_and_row_limits(gw) -> None:
    _, headers = gw.merchant()
    rows = [purchase(f"o-{i}") for i in range(60)]
    data = _csv(rows)
    with _limited(gw, max_upload_bytes=2048, max_upload_rows=10) as client:
        r = client.post(
            "/v1/conversions/upload", content=data, headers={**headers, "content-type": "text/csv"}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(data), 500):
                yield data[start : start + 500]

        r = client.post(
            "/v1/conversions/upload",
            content=chunks(),
            headers={**headers, "content-type": "text/csv"},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")
        r = client.post(
            "/v1/conversions/upload",
            content=_csv(rows[:11]),
            headers={**headers, "content-type": "text/csv"},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (400, "too_many_rows")
        assert (
            client.post(
                "/v1/conversions/upload",
                content=_csv(rows[:10]),
                headers={**headers, "content-type": "text/csv"},
            ).json()["accepted"]
            == 10
        )
    huge = {"conversions": [purchase(f"o-{i}", product_id="p" * 100) for i in range(6000)]}
    r = _post(gw, headers, huge)
    assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")
