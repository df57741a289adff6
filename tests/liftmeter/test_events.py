"""Event contracts: round trips, strict validation, clear decode errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from liftmeter.events import (
    CALLS_TOPIC,
    CONVERSIONS_TOPIC,
    EXPOSURES_TOPIC,
    EventDecodeError,
    decode_event,
)

from factories import call_event, conversion_event, exposure_event


@pytest.mark.parametrize(
    ("event", "topic"),
    [
        (call_event(), CALLS_TOPIC),
        (exposure_event(), EXPOSURES_TOPIC),
        (conversion_event(), CONVERSIONS_TOPIC),
    ],
)
def test_event_round_trips_through_the_wire_format(event, topic) -> None:
    assert event.topic == topic
    assert decode_event(event.encode()) == event
    assert event.key == event.merchant_id.encode()


def test_occurred_at_is_normalised_to_utc() -> None:
    local = datetime(2026, 11, 2, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    event = call_event(occurred_at=local)
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.occurred_at.hour == 12


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        call_event(occurred_at=datetime(2026, 11, 2, 12, 0))


def test_events_are_frozen() -> None:
    event = call_event()
    with pytest.raises(ValidationError):
        event.prompt_tokens = 5  # type: ignore[misc]


def _mutated(event, **changes) -> bytes:
    data = json.loads(event.encode())
    data.update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("raw", "param", "fragment"),
    [
        (_mutated(call_event(), surprise=1), "surprise", "Extra inputs"),
        (_mutated(call_event(), prompt_tokens="12"), "prompt_tokens", "integer"),
        (_mutated(call_event(), prompt_tokens=-1), "prompt_tokens", "greater than or equal"),
        (_mutated(call_event(), schema_version=2), "schema_version", "unknown schema_version 2"),
        (_mutated(call_event(), event_type="call.exploded"), "event_type", "unknown event_type"),
        (_mutated(call_event(), occurred_at="1969-12-31T23:59:59Z"), "occurred_at", "1970"),
        (_mutated(conversion_event(), revenue="-5"), "revenue", "negative"),
        (_mutated(conversion_event(), revenue="abc"), "revenue", "decimal"),
        (_mutated(conversion_event(), currency="XXX"), "currency", "unknown currency"),
        (_mutated(conversion_event(), order_id=None), "conversion.recorded", "order_id"),
        (b"not json", "message", "not JSON"),
        (b"[1, 2]", "message", "JSON object"),
    ],
)
def test_bad_messages_fail_with_an_error_naming_the_field(
    raw: bytes, param: str, fragment: str
) -> None:
    with pytest.raises(EventDecodeError) as info:
        decode_event(raw)
    assert fragment in info.value.message
    assert param in (info.value.param or "") or info.value.param == "event"


def test_a_view_needs_no_order_and_defaults_to_zero_revenue() -> None:
    event = conversion_event(kind="view", order_id=None, revenue="0")
    assert decode_event(event.encode()) == event


def test_the_decode_union_lists_every_event_model_with_one_version_per_type() -> None:
    from typing import get_args

    from liftmeter.events import EVENT_TYPES, AnyEvent

    members = set(get_args(get_args(AnyEvent)[0]))
    assert members == set(EVENT_TYPES.values())
    assert len({event_type for event_type, _ in EVENT_TYPES}) == len(EVENT_TYPES)


def test_a_message_without_schema_version_is_rejected() -> None:
    data = json.loads(call_event().encode())
    del data["schema_version"]
    with pytest.raises(EventDecodeError) as info:
        decode_event(json.dumps(data).encode())
    assert info.value.param == "schema_version"


def test_an_exposure_without_category_still_decodes_as_version_1() -> None:
    data = json.loads(exposure_event().encode())
    del data["category"]
    event = decode_event(json.dumps(data).encode())
    assert event.schema_version == 1
    assert event.category is None  # type: ignore[attr-defined]


def test_an_exposure_carries_its_category_and_a_long_one_is_refused() -> None:
    event = exposure_event(category="shoes")
    assert decode_event(event.encode()) == event
    with pytest.raises(EventDecodeError) as info:
        decode_event(_mutated(event, category="x" * 101))
    assert info.value.param == "category"
