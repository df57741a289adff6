"""The fast call decoder (`decode_call`) agrees with the contract (`decode_event`).

Every message below goes through both: where `decode_event` raises, `decode_call` raises
the same error; where it accepts, `decode_call` reads the same values. The mutations cover
each field with wrong types, boundary values and the spellings where JSON decoders differ
(times, UUIDs, numbers, unicode escapes, duplicated keys).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from liftmeter import events
from liftmeter.events import (
    CallCompleted,
    CallCompletedStruct,
    ConversionRecorded,
    Event,
    EventDecodeError,
    decode_call,
    decode_event,
)


def _call(**overrides: Any) -> dict[str, Any]:
    event = CallCompleted(
        merchant_id="mer_1",
        occurred_at=datetime(2026, 11, 3, 14, 5, 9, 250000, tzinfo=UTC),
        call_id="call_1",
        description_id="desc_1",
        product_id="sku-1",
        api_key_id="key_1",
        model="sparse-small",
        backend="local",
        prompt_tokens=120,
        completion_tokens=64,
        cached_tokens=16,
        latency_ms=12.5,
        cache_hit=False,
        risk_verdict="review",
        risk_score=0.42,
        status="succeeded",
        idempotency_key="idem-1",
    )
    body: dict[str, Any] = json.loads(event.encode())
    body.update(overrides)
    return body


_ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, 0.5, -0.0, 10**20, "", "x", "1", "0", "true",
    "x" * 128, "x" * 129, "x" * 255, "x" * 256, [], {}, "é" * 128, "\ud800", "\U0001f600",
    "2026-11-01T00:00:00Z", "2026-11-01T00:00:00+02:00", "2026-11-01T00:00:00-05:30",
    "2026-11-01 00:00:00Z", "2026-11-01T00:00:00", "2026-11-01T00:00:00+0000",
    "2026-11-01T00:00:00.123456789Z", "2026-11-01T23:59:60Z", "2026-11-01", "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z", "1970-01-01T01:00:00+02:00", "0001-01-01T00:00:00Z",
    "2026-11-01T00:00:00z", "20261101T000000Z", 1762000000,
    "49ac369a-be22-471d-92fa-fd8d7e103b8f", "49ac369abe22471d92fafd8d7e103b8f",
    "49AC369A-BE22-471D-92FA-FD8D7E103B8F", "{49ac369a-be22-471d-92fa-fd8d7e103b8f}",
    "urn:uuid:49ac369a-be22-471d-92fa-fd8d7e103b8f", "49ac369a-be22-471d-92fa-fd8d7e103b8",
    "call.completed", "exposure.recorded", 2, "local", "openai", "pass", "review", "block",
    "succeeded", "blocked", "failed", 1e308, 2.0, 1.0000001,
]  # fmt: skip


def _compact(body: dict[str, Any]) -> bytes:
    """As producers write events (`Event.encode`): the spelling that takes the fast path."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate stays invalid UTF-8


def _mutations() -> list[bytes]:
    base = _call()
    out = [_compact(base), json.dumps(base).encode()]
    for field in base:
        for value in _ODD_VALUES:
            out.append(_compact({**base, field: value}))
        missing = {k: v for k, v in base.items() if k != field}
        out.append(_compact(missing))
    raw_json = json.dumps(base, separators=(",", ":"))
    out += [
        json.dumps({**base, "extra": 1}).encode(),
        raw_json.replace('"prompt_tokens":120', '"prompt_tokens":1e400').encode(),
        raw_json.replace('"latency_ms":12.5', '"latency_ms":1e400').encode(),
        raw_json.replace('"latency_ms":12.5', '"latency_ms":NaN').encode(),
        raw_json.replace('"latency_ms":12.5', '"latency_ms":Infinity').encode(),
        raw_json.replace('"prompt_tokens":120', '"prompt_tokens":1,"prompt_tokens":-1').encode(),
        raw_json.replace('"merchant_id":"mer_1"', '"merchant_id":"mer_\\u0000"').encode(),
        raw_json.replace('"merchant_id":"mer_1"', '"merchant_id":"\\ud83d\\ude00"').encode(),
        raw_json.replace('"merchant_id":"mer_1"', '"merchant_id":"\\udc00x"').encode(),
        raw_json.replace('"call_id":"call_1"', '"occurred_at":"1969-01-01T00:00:00Z"').encode(),
        raw_json.replace(
            '"call_id":"call_1"', '"occurred\\u005fat":"2026-11-01T00:00:00.123456789Z"'
        ).encode(),
        raw_json.replace('"call_id":"call_1"', '"call_id":"x\\"occurred_at\\":\\"y"').encode(),
        raw_json.encode("utf-16"),
        b"\xff\xfe not json",
        b"[]",
        b"",
        raw_json.encode()[:-1],
        (raw_json + " ").encode(),
        ("\ufeff" + raw_json).encode(),
    ]  # fmt: skip
    return out


def _outcome(decode: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", decode(raw)
    except EventDecodeError as exc:
        return "error", (exc.param, exc.message)


@pytest.mark.parametrize("raw", _mutations(), ids=lambda raw: raw[:0].hex() or None)
def test_decode_call_agrees_with_the_contract(raw: bytes) -> None:
    expected, fast = _outcome(decode_event, raw), _outcome(decode_call, raw)
    if expected[0] == "error":
        assert fast == expected
        return
    assert fast[0] == "ok"
    event, got = expected[1], fast[1]
    if not isinstance(event, CallCompleted):
        assert got == event
        return
    assert isinstance(got, CallCompletedStruct)
    for name in CallCompletedStruct.__struct_fields__:
        assert getattr(got, name) == getattr(event, name), name
    assert got.occurred_at.utcoffset() is not None
    assert got.occurred_at.tzinfo is UTC


def test_struct_has_exactly_the_contract_fields() -> None:
    assert set(CallCompletedStruct.__struct_fields__) == set(CallCompleted.model_fields)
    required = {n for n, f in CallCompleted.model_fields.items() if f.is_required()}
    optional = len(CallCompletedStruct.__struct_defaults__)
    struct_required = set(CallCompletedStruct.__struct_fields__[:-optional])
    # event_id, event_type and schema_version have model defaults but are required on the wire
    assert struct_required - {"event_id", "event_type", "schema_version"} == required


def test_producer_spelling_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    contract: list[bytes | str] = []

    def counting(raw: bytes | str) -> Event:
        contract.append(raw)
        return decode_event(raw)

    monkeypatch.setattr(events, "decode_event", counting)
    event = CallCompleted.model_validate_json(json.dumps(_call()))
    assert isinstance(decode_call(event.encode()), CallCompletedStruct)
    assert contract == []  # msgspec alone
    spaced = json.dumps(_call()).encode()
    assert isinstance(decode_call(spaced), CallCompletedStruct)
    assert contract == [spaced]  # another spelling: pydantic decides


def test_offset_times_are_normalised_to_utc() -> None:
    raw = json.dumps(_call(occurred_at="2026-11-03T16:05:09+02:00")).encode()
    got = decode_call(raw)
    assert isinstance(got, CallCompletedStruct)
    assert got.occurred_at == datetime(2026, 11, 3, 14, 5, 9, tzinfo=UTC)
    assert got.occurred_at.tzinfo is UTC


def test_other_event_types_come_back_as_their_models() -> None:
    conversion = ConversionRecorded(
        merchant_id="mer_1",
        occurred_at=datetime(2026, 11, 3, tzinfo=UTC),
        kind="view",
        visitor_id="v1",
        product_id="sku-1",
        currency="USD",
    )
    assert decode_call(conversion.encode()) == conversion


def test_unknown_schema_version_names_the_field() -> None:
    with pytest.raises(EventDecodeError) as err:
        decode_call(json.dumps(_call(schema_version=2)).encode())
    assert err.value.param == "schema_version"


def test_event_id_round_trips() -> None:
    event_id = uuid.uuid4()
    got = decode_call(json.dumps(_call(event_id=str(event_id))).encode())
    assert isinstance(got, CallCompletedStruct)
    assert got.event_id == event_id
