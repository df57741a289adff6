"""Event contracts: every event liftmeter publishes, as frozen, versioned pydantic models.

Producers and consumers share these models. Each event carries `event_id` (a UUID, the
dedupe key), `event_type`, `schema_version`, `merchant_id` (the partition key) and a
timezone-aware `occurred_at`, normalised to UTC. On the wire an event is the UTF-8 JSON of
its model; `decode_event` rejects unknown fields, wrong types, unknown event types and
unknown schema versions with a `EventDecodeError` whose message names the field, so a
consumer can dead-letter the message and go on.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from liftmeter.errors import ValidationFailed
from liftmeter.ids import new_event_id
from liftmeter.money import MINOR_UNITS, parse_amount

CALLS_TOPIC = "liftmeter.calls.v1"
EXPOSURES_TOPIC = "liftmeter.exposures.v1"
CONVERSIONS_TOPIC = "liftmeter.conversions.v1"

Id = Annotated[str, Field(min_length=1, max_length=128)]
Count = Annotated[int, Field(ge=0)]
Category = Annotated[str, Field(min_length=1, max_length=100)]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EventDecodeError(ValidationFailed):
    """A message is not a valid liftmeter event; the message says why and where."""

    code = "event_decode_error"


class Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    topic: ClassVar[str]

    event_id: uuid.UUID = Field(default_factory=new_event_id)
    event_type: str
    schema_version: int
    merchant_id: Id
    occurred_at: AwareDatetime

    @field_validator("occurred_at")
    @classmethod
    def _utc_after_epoch(cls, value: datetime) -> datetime:
        value = value.astimezone(UTC)
        if value < EPOCH:
            raise ValueError("must not be before 1970-01-01T00:00:00Z")
        return value

    @property
    def key(self) -> bytes:
        """The partition key: all events of one merchant stay in order on one partition."""
        return self.merchant_id.encode()

    def encode(self) -> bytes:
        return self.model_dump_json().encode()


class CallCompleted(Event):
    """A description call finished (succeeded, or was blocked by the risk screen)."""

    topic: ClassVar[str] = CALLS_TOPIC

    event_type: Literal["call.completed"] = "call.completed"
    schema_version: Literal[1] = 1
    call_id: Id
    description_id: Id
    product_id: Id
    api_key_id: Id
    model: Id
    backend: Literal["local", "openai"]
    prompt_tokens: Count
    completion_tokens: Count
    cached_tokens: Count | None = None
    latency_ms: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    cache_hit: bool
    risk_verdict: Literal["pass", "review", "block"]
    risk_score: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    status: Literal["succeeded", "blocked", "failed"]
    idempotency_key: Annotated[str, Field(max_length=255)] | None = None


class ExposureRecorded(Event):
    """A storefront showed a visitor (or a product page) one arm of an experiment.

    `category` (the product's category, at most 100 characters) is an optional field added
    within schema version 1: it defaults to None, so events written before it existed still
    decode unchanged. Consumers built before it forbid unknown fields, so producers may set
    it only once every consumer runs this model. The lift statistics segment units by it
    when present (by product otherwise).
    """

    topic: ClassVar[str] = EXPOSURES_TOPIC

    event_type: Literal["exposure.recorded"] = "exposure.recorded"
    schema_version: Literal[1] = 1
    experiment_id: Id
    unit_type: Literal["visitor", "product"]
    unit_id: Id
    product_id: Id
    arm: Literal["treatment", "holdout"]
    description_id: Id | None = None
    category: Category | None = None


class ConversionRecorded(Event):
    """A shopper viewed, added to cart or bought; `revenue` is an exact decimal string."""

    topic: ClassVar[str] = CONVERSIONS_TOPIC

    event_type: Literal["conversion.recorded"] = "conversion.recorded"
    schema_version: Literal[1] = 1
    kind: Literal["view", "add_to_cart", "purchase"]
    visitor_id: Id
    product_id: Id
    order_id: Id | None = None
    revenue: Annotated[str, Field(max_length=40)] = "0"
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    description_id: Id | None = None

    @field_validator("revenue")
    @classmethod
    def _decimal_non_negative(cls, value: str) -> str:
        try:
            amount = parse_amount(value, param="revenue")
        except ValidationFailed as exc:
            raise ValueError(exc.message) from None
        if amount < 0:
            raise ValueError("must not be negative (refunds are a separate kind)")
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in MINOR_UNITS:
            raise ValueError(f"unknown currency {value!r}")
        return value

    @model_validator(mode="after")
    def _purchase_has_order(self) -> ConversionRecorded:
        if self.kind == "purchase" and self.order_id is None:
            raise ValueError("a purchase needs an order_id")
        return self


EVENT_TYPES: dict[tuple[str, int], type[Event]] = {
    ("call.completed", 1): CallCompleted,
    ("exposure.recorded", 1): ExposureRecorded,
    ("conversion.recorded", 1): ConversionRecorded,
}
TOPICS: tuple[str, ...] = (CALLS_TOPIC, EXPOSURES_TOPIC, CONVERSIONS_TOPIC)

# Every current event model, told apart by `event_type`: validating the raw bytes against it
# parses each message once (in pydantic-core), instead of `json.loads` to find the model and
# then the model's own parse. Each `event_type` has one schema version so far; the model's
# `Literal` `schema_version` checks it. When a second version of a type arrives, this becomes
# a union discriminated by (event_type, schema_version).
AnyEvent = Annotated[
    CallCompleted | ExposureRecorded | ConversionRecorded, Field(discriminator="event_type")
]
_ANY_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def _describe(exc: ValidationError) -> tuple[str, str]:
    """(field path, message) of the first error, e.g. ("revenue", "must not be negative")."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "event"
    return where, first["msg"].removeprefix("Value error, ")


_WIRE_REQUIRED = frozenset({"event_id", "schema_version"})


def decode_event(raw: bytes | str) -> Event:
    """Parse one wire message into its event model, or raise `EventDecodeError`.

    A valid message is parsed once. An invalid one is examined again by `_decode_error`, so
    the error names the field exactly as a two-step decode (type, then model) would.
    """
    try:
        event: Event = _ANY_EVENT.validate_json(raw)
    except ValidationError:
        raise _decode_error(raw) from None
    if not event.model_fields_set >= _WIRE_REQUIRED:
        # The model's defaults (a fresh event id, the current version) are for producers: on
        # the wire a missing id would defeat deduplication and a missing version is unknown.
        raise _decode_error(raw)
    return event


def _decode_error(raw: bytes | str) -> EventDecodeError:
    """Why `raw` is not a valid event: the first error, naming the field."""
    try:
        head: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return EventDecodeError(f"not JSON: {exc}", param="message")
    if not isinstance(head, dict):
        return EventDecodeError("must be a JSON object", param="message")
    kind = (head.get("event_type"), head.get("schema_version"))
    hashable = isinstance(kind[0], str) and type(kind[1]) is int  # not {} or [] (or true)
    model = EVENT_TYPES.get(kind) if hashable else None  # type: ignore[arg-type]
    if model is None:
        known = any(kind[0] == t for t, _ in EVENT_TYPES)
        field = "schema_version" if known else "event_type"
        return EventDecodeError(f"unknown {field} {head.get(field)!r}", param=field)
    if "event_id" not in head:
        return EventDecodeError("Field required", param="event_id")
    try:
        model.model_validate_json(raw)
    except ValidationError as exc:
        where, message = _describe(exc)
        return EventDecodeError(message, param=where)
    # Only reachable if the union accepted less than the model (a bug): say so, don't pass.
    return EventDecodeError("rejected by the event union but not by its model", param="event")


# --- The fast path for the hottest message -------------------------------------------------
#
# Metering reads every `CallCompleted` the gateway emits. Validating one with pydantic costs
# about as much as Kafka's own record parsing, so the metering consumer decodes call events
# with msgspec into `CallCompletedStruct`, a plain record with the same fields and the same
# constraints. pydantic stays the contract: a message the struct refuses is decoded again by
# `decode_event`, which either accepts it (another event type, or a spelling only pydantic
# takes) or raises the error that names the field. A test feeds both decoders the same
# valid and mutated messages and asserts the struct never accepts what `decode_event`
# rejects, and that both read the same values from what they accept.

_WireId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
_WireCount = Annotated[int, msgspec.Meta(ge=0)]


class CallCompletedStruct(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """`CallCompleted` as `decode_call` returns it: same fields, values and constraints."""

    event_id: uuid.UUID
    event_type: Literal["call.completed"]
    schema_version: Literal[1]
    merchant_id: _WireId
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    call_id: _WireId
    description_id: _WireId
    product_id: _WireId
    api_key_id: _WireId
    model: _WireId
    backend: Literal["local", "openai"]
    prompt_tokens: _WireCount
    completion_tokens: _WireCount
    latency_ms: Annotated[float, msgspec.Meta(ge=0, le=sys.float_info.max)]
    cache_hit: bool
    risk_verdict: Literal["pass", "review", "block"]
    risk_score: Annotated[float, msgspec.Meta(ge=0, le=1)]
    status: Literal["succeeded", "blocked", "failed"]
    cached_tokens: _WireCount | None = None
    idempotency_key: Annotated[str, msgspec.Meta(max_length=255)] | None = None


_CALL_DECODER = msgspec.json.Decoder(CallCompletedStruct)
_TIME_KEY = b'"occurred_at":"'
# The time spellings both decoders read alike: RFC 3339 in UTC with at most microseconds
# (msgspec rounds nanoseconds where pydantic truncates; other offsets need normalising).
_PLAIN_UTC_TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|\+00:00)\"")


def as_call_struct(event: CallCompleted) -> CallCompletedStruct:
    """A pydantic-decoded call as the struct (for the rare message only pydantic accepts)."""
    fields = CallCompletedStruct.__struct_fields__
    return CallCompletedStruct(**{name: getattr(event, name) for name in fields})


def decode_call(raw: bytes) -> CallCompletedStruct | Event:
    """Decode one wire message, fast when it is a valid `CallCompleted` in UTC.

    Returns a `CallCompletedStruct` for a valid call event (its `occurred_at` in UTC, like
    the model's), any other valid event as its pydantic model, and raises
    `EventDecodeError` exactly when `decode_event` would. Producers write compact JSON
    (`Event.encode`), which takes the fast path; other spellings are decoded by pydantic.
    """
    at = raw.find(_TIME_KEY)
    if (  # `occurred_at` once, unescaped (no escaped key can hide a second one), plain UTC
        at >= 0
        and b"\\" not in raw
        and raw.find(_TIME_KEY, at + 1) < 0
        and _PLAIN_UTC_TIME.match(raw, at + len(_TIME_KEY)) is not None
    ):
        try:
            call = _CALL_DECODER.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            pass
        else:
            if call.occurred_at.tzinfo is UTC and call.occurred_at >= EPOCH:
                return call
    # Refused, or a spelling the fast path leaves alone: the contract decides (and names
    # the field if it refuses).
    event = decode_event(raw)
    return as_call_struct(event) if isinstance(event, CallCompleted) else event
