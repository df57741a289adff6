"""Conversion intake rules: validate reported conversions and dedupe them within a batch.

A conversion is `{kind, visitor_id, product_id, order_id?, revenue?, currency?,
occurred_at, description_id?}`, from JSON, a CSV row or a Parquet row. The rules:

- `kind` is `view`, `add_to_cart` or `purchase`; refunds are not a kind of conversion, so a
  negative revenue is rejected ("refunds are a separate kind").
- A purchase needs `order_id` and `revenue`.
- `revenue` is an exact decimal string (`"19.99"`; no sign, exponent, separators or more
  decimals than the currency has). A JSON number is rejected: binary floats cannot hold
  cents exactly, and money is `Decimal` end to end. Parquet decimal columns are exact too.
- `currency` must be the merchant's own currency. Lift and the revenue share are sums of
  revenue per visitor in one currency; liftmeter holds no exchange rates, and converting
  at intake would bill on rates nobody agreed to. A known ISO code that is not the
  merchant's is `currency_mismatch`, an unknown one `unknown_currency`. Without revenue the
  currency may be left out (it is the merchant's).
- `occurred_at` is timezone-aware, not before 2020-01-01 and not in the future beyond five
  minutes of clock skew.
- Ids are 1 to 128 characters; integer ids from files are read as their decimal text.

Every row is checked and gets at most one `Rejection` (the first failing field). Rows with
an `order_id` are deduplicated on (order_id, kind): within one batch here, across
requests by the caller's receipt table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from attribution.errors import Rejection
from attribution.experiments import CLOCK_SKEW
from liftmeter.events import ConversionRecorded
from liftmeter.money import MINOR_UNITS

KINDS = ("view", "add_to_cart", "purchase")
FIELDS = (
    "kind",
    "visitor_id",
    "product_id",
    "order_id",
    "revenue",
    "currency",
    "occurred_at",
    "description_id",
)
REQUIRED = ("kind", "visitor_id", "product_id", "occurred_at")
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
MAX_REVENUE = Decimal(10) ** 12
MAX_ID_CHARS = 128
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Conversion:
    """A valid conversion; `position` is where it was in the request or file."""

    position: int
    kind: str
    visitor_id: str
    product_id: str
    order_id: str | None
    revenue: Decimal
    currency: str
    occurred_at: datetime
    description_id: str | None

    @property
    def dedupe_key(self) -> tuple[str, str] | None:
        return (self.order_id, self.kind) if self.order_id is not None else None

    def event(self, merchant_id: str) -> ConversionRecorded:
        return ConversionRecorded(
            merchant_id=merchant_id,
            occurred_at=self.occurred_at,
            kind=self.kind,  # type: ignore[arg-type]
            visitor_id=self.visitor_id,
            product_id=self.product_id,
            order_id=self.order_id,
            revenue=format(self.revenue, "f"),
            currency=self.currency,
            description_id=self.description_id,
        )


class _Reject(Exception):
    def __init__(self, field: str, reason: str, message: str):
        self.field, self.reason, self.message = field, reason, message


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _identifier(raw: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = raw.get(name)
    if _blank(value):
        if required:
            raise _Reject(name, "required", "is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Reject(name, "invalid", "must be a string")
    if len(value) > MAX_ID_CHARS:
        raise _Reject(name, "too_long", f"at most {MAX_ID_CHARS} characters")
    return value


def _kind(raw: Mapping[str, Any]) -> str:
    value = raw.get("kind")
    if _blank(value):
        raise _Reject("kind", "required", "is required")
    if value not in KINDS:
        if value in ("refund", "return"):
            raise _Reject("kind", "invalid", "refunds are a separate kind, not a conversion")
        raise _Reject("kind", "invalid", f"must be one of {', '.join(KINDS)}")
    return str(value)


def _revenue_text(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _Reject("revenue", "not_a_decimal", "must be a finite decimal")
        return value
    if isinstance(value, int | float):  # bool is an int too
        raise _Reject(
            "revenue",
            "not_a_string",
            'must be a decimal string such as "19.99", not a JSON number '
            "(binary floats cannot hold cents exactly)",
        )
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value.strip()):
        raise _Reject("revenue", "not_a_decimal", 'must be a decimal string such as "19.99"')
    return Decimal(value.strip())


def _revenue(raw: Mapping[str, Any], currency: str) -> Decimal:
    amount = _revenue_text(raw.get("revenue"))
    if amount.is_zero():
        amount = abs(amount)  # "-0.00" is zero, not a refund
    if amount < 0:
        raise _Reject("revenue", "negative", "must not be negative (refunds are a separate kind)")
    if amount >= MAX_REVENUE:
        raise _Reject("revenue", "too_large", f"must be below {MAX_REVENUE:,}")
    places = MINOR_UNITS[currency]
    if amount != round(amount, places):
        raise _Reject("revenue", "too_precise", f"{currency} has {places} decimal places")
    return amount


def _currency(raw: Mapping[str, Any], merchant_currency: str, *, has_revenue: bool) -> str:
    value = raw.get("currency")
    if _blank(value):
        if has_revenue:
            raise _Reject("currency", "required", "is required with revenue")
        return merchant_currency
    if not isinstance(value, str) or value not in MINOR_UNITS:
        raise _Reject("currency", "unknown_currency", f"unknown currency {value!r}")
    if value != merchant_currency:
        raise _Reject(
            "currency",
            "currency_mismatch",
            f"report revenue in the merchant's currency {merchant_currency} "
            "(liftmeter does not convert currencies)",
        )
    return value


def _occurred_at(raw: Mapping[str, Any], now: datetime) -> datetime:
    value = raw.get("occurred_at")
    if _blank(value):
        raise _Reject("occurred_at", "required", "is required")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Reject("occurred_at", "invalid", "must be an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise _Reject("occurred_at", "invalid", "must be an ISO 8601 timestamp")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Reject("occurred_at", "timezone_required", "must carry a timezone offset")
    value = value.astimezone(UTC)
    if value > now + CLOCK_SKEW:
        raise _Reject("occurred_at", "in_future", "must not be in the future")
    if value < EARLIEST:
        raise _Reject("occurred_at", "too_old", "must not be before 2020-01-01")
    return value


def _unknown_field(raw: Mapping[str, Any]) -> None:
    for key in raw:
        if key not in FIELDS:
            raise _Reject(str(key), "unknown_field", "unknown field")


def _check(
    raw: Mapping[str, Any], position: int, merchant_currency: str, now: datetime
) -> Conversion:
    _unknown_field(raw)
    kind = _kind(raw)
    visitor_id = _identifier(raw, "visitor_id", required=True)
    product_id = _identifier(raw, "product_id", required=True)
    order_id = _identifier(raw, "order_id", required=kind == "purchase")
    has_revenue = not _blank(raw.get("revenue"))
    if kind == "purchase" and not has_revenue:
        raise _Reject("revenue", "required", "a purchase needs revenue")
    currency = _currency(raw, merchant_currency, has_revenue=has_revenue)
    revenue = _revenue(raw, currency) if has_revenue else Decimal(0)
    return Conversion(
        position=position,
        kind=kind,
        visitor_id=visitor_id or "",
        product_id=product_id or "",
        order_id=order_id,
        revenue=revenue,
        currency=currency,
        occurred_at=_occurred_at(raw, now),
        description_id=_identifier(raw, "description_id", required=False),
    )


def check_conversion(
    raw: Any, *, position: int, merchant_currency: str, now: datetime
) -> Conversion | Rejection:
    """The valid conversion, or a `Rejection` naming the first field that fails."""
    if not isinstance(raw, Mapping):
        return Rejection(position, "row", "invalid", "must be an object")
    try:
        return _check(raw, position, merchant_currency, now)
    except _Reject as problem:
        return Rejection(position, problem.field, problem.reason, problem.message)


@dataclass
class CheckedConversions:
    """Rows sorted into valid and rejected; `duplicates` repeat an earlier row's key."""

    valid: list[Conversion] = field(default_factory=list)
    duplicates: list[Conversion] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    rows: int = 0


class ConversionChecker:
    """Checks rows one at a time (files stream through it) and dedupes within the batch."""

    def __init__(self, *, merchant_currency: str, now: datetime | None = None):
        self._currency = merchant_currency
        self._now = now or datetime.now(UTC)
        self._seen: set[tuple[str, str]] = set()
        self.result = CheckedConversions()

    def add(self, raw: Any, position: int) -> None:
        """Check one row (a file reader may hand over a row it already rejected)."""
        self.result.rows += 1
        checked = (
            raw
            if isinstance(raw, Rejection)
            else check_conversion(
                raw, position=position, merchant_currency=self._currency, now=self._now
            )
        )
        if isinstance(checked, Rejection):
            self.result.rejected.append(checked)
            return
        key = checked.dedupe_key
        if key is not None and key in self._seen:
            self.result.duplicates.append(checked)
            return
        if key is not None:
            self._seen.add(key)
        self.result.valid.append(checked)


def check_conversions(
    raw_rows: Sequence[Any], *, merchant_currency: str, now: datetime | None = None, first: int = 0
) -> CheckedConversions:
    """Check a JSON batch; positions count from `first`."""
    checker = ConversionChecker(merchant_currency=merchant_currency, now=now)
    for offset, raw in enumerate(raw_rows):
        checker.add(raw, first + offset)
    return checker.result
