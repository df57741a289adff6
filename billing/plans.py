"""Price plans as values: parsed, validated, serialized. Pure: no I/O.

A plan version prices one merchant's usage from its `effective_from` (the first day of a
month, 00:00 UTC) until the next version starts. Components:

- charges per meter component (`Component`): prompt tokens and completion tokens priced per
  1,000 tokens, model-served calls and cache hits priced per call; each either one
  `unit_price` or `tiers` (graduated or volume), after `included_units` free units;
- `minimum_commitment`: a monthly minimum, topped up by a true-up line;
- `revenue_share`: a percentage of the conservative incremental revenue of the period's
  stored lift result, with an optional `cap`;
- `monthly_spend_cap`: stored for the gateway, which refuses calls past it; not an invoice line.

Validation raises `ValidationFailed` whose `param` names the field (`charges.calls.tiers[1].up_to`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from liftmeter.errors import ValidationFailed
from liftmeter.money import check_currency, parse_amount


class Component(StrEnum):
    """What a charge counts. Token components are priced per 1,000 tokens."""

    PROMPT_TOKENS = "prompt_tokens"
    COMPLETION_TOKENS = "completion_tokens"
    CALLS = "calls"
    CACHE_HITS = "cache_hits"


UNIT_SIZE: dict[Component, int] = {
    Component.PROMPT_TOKENS: 1000,
    Component.COMPLETION_TOKENS: 1000,
    Component.CALLS: 1,
    Component.CACHE_HITS: 1,
}


class TierMode(StrEnum):
    """Graduated: each tier prices its own slice. Volume: the tier the total falls in prices all."""

    GRADUATED = "graduated"
    VOLUME = "volume"


@dataclass(frozen=True, slots=True)
class Tier:
    """Units up to and including `up_to` (None: open-ended) at `unit_price` per unit size."""

    up_to: int | None
    unit_price: Decimal
    flat_fee: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Charge:
    """How one component is priced; `tiers` empty means one `unit_price` for every unit."""

    component: Component
    unit_price: Decimal = Decimal(0)
    tiers: tuple[Tier, ...] = ()
    mode: TierMode = TierMode.GRADUATED
    included_units: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    """The pricing of one plan version (see the module docstring)."""

    currency: str
    charges: tuple[Charge, ...] = ()
    minimum_commitment: Decimal = Decimal(0)
    revenue_share_percent: Decimal = Decimal(0)
    revenue_share_cap: Decimal | None = None
    monthly_spend_cap: Decimal | None = None

    def charge(self, component: Component) -> Charge | None:
        return next((c for c in self.charges if c.component is component), None)


_TOP_KEYS = {"currency", "charges", "minimum_commitment", "revenue_share", "monthly_spend_cap"}
_CHARGE_KEYS = {"unit_price", "tiers", "mode", "included_units"}
_TIER_KEYS = {"up_to", "unit_price", "flat_fee"}


def _maybe_money(value: Any, param: str) -> Decimal | None:
    return None if value is None else _money(value, param)


def _money(value: Any, param: str) -> Decimal:
    if value is None:
        raise ValidationFailed("is required", param=param)
    if isinstance(value, float):
        # JSON and YAML numbers arrive as floats; their repr is the literal that was written.
        value = repr(value)
    amount = parse_amount(value, param=param)
    if amount < 0:
        raise ValidationFailed("must not be negative", param=param)
    return amount


def _units(value: Any, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed("must be a non-negative integer", param=param)
    return value


def _mapping(value: Any, param: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationFailed("must be an object", param=param)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}", param=f"{param}.{unknown[0]}")
    return value


def _tiers(raw: Any, param: str) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("must be a non-empty list", param=param)
    tiers: list[Tier] = []
    previous = 0
    for i, item in enumerate(raw):
        where = f"{param}[{i}]"
        data = _mapping(item, where, _TIER_KEYS)
        up_to = data.get("up_to")
        last = i == len(raw) - 1
        if up_to is None and not last:
            raise ValidationFailed("only the last tier may be open-ended", param=f"{where}.up_to")
        if up_to is not None:
            if last:
                raise ValidationFailed("the last tier must be open-ended", param=f"{where}.up_to")
            up_to = _units(up_to, f"{where}.up_to")
            if up_to <= previous:
                raise ValidationFailed(
                    f"must be greater than the previous tier's bound {previous}",
                    param=f"{where}.up_to",
                )
            previous = up_to
        price = _money(data.get("unit_price"), f"{where}.unit_price")
        fee = _money(data.get("flat_fee", "0"), f"{where}.flat_fee")
        tiers.append(Tier(up_to=up_to, unit_price=price, flat_fee=fee))
    return tuple(tiers)


def _charge(component: Component, raw: Any, param: str) -> Charge:
    data = _mapping(raw, param, _CHARGE_KEYS)
    if "tiers" in data and "unit_price" in data:
        raise ValidationFailed("give unit_price or tiers, not both", param=f"{param}.tiers")
    try:
        mode = TierMode(data.get("mode", TierMode.GRADUATED))
    except ValueError:
        raise ValidationFailed("must be graduated or volume", param=f"{param}.mode") from None
    tiers = _tiers(data["tiers"], f"{param}.tiers") if "tiers" in data else ()
    price = _money(data.get("unit_price", "0"), f"{param}.unit_price")
    included = _units(data.get("included_units", 0), f"{param}.included_units")
    return Charge(component, unit_price=price, tiers=tiers, mode=mode, included_units=included)


def parse_plan(raw: Any, *, merchant_currency: str | None = None) -> Plan:
    """Validate a plan given as JSON-like data; raise `ValidationFailed` naming the field."""
    data = _mapping(raw, "plan", _TOP_KEYS)
    currency = data.get("currency")
    if not isinstance(currency, str):
        raise ValidationFailed("is required (ISO 4217 code)", param="currency")
    check_currency(currency)
    if merchant_currency is not None and currency != merchant_currency:
        raise ValidationFailed(
            f"must equal the merchant's currency {merchant_currency}", param="currency"
        )
    charges_raw = _mapping(data.get("charges", {}), "charges", {c.value for c in Component})
    charges = tuple(
        _charge(c, charges_raw[c.value], f"charges.{c.value}")
        for c in Component
        if c.value in charges_raw
    )
    share = _mapping(data.get("revenue_share", {}), "revenue_share", {"percent", "cap"})
    percent = _money(share.get("percent", "0"), "revenue_share.percent")
    if percent > 100:
        raise ValidationFailed("must be at most 100", param="revenue_share.percent")
    minimum = _money(data.get("minimum_commitment", "0"), "minimum_commitment")
    return Plan(
        currency=currency,
        charges=charges,
        minimum_commitment=minimum,
        revenue_share_percent=percent,
        revenue_share_cap=_maybe_money(share.get("cap"), "revenue_share.cap"),
        monthly_spend_cap=_maybe_money(data.get("monthly_spend_cap"), "monthly_spend_cap"),
    )


@lru_cache(maxsize=1024)
def plan_from_json(spec_json: str) -> Plan:
    """A stored plan version's spec, parsed once per distinct spec (plans are immutable)."""
    return parse_plan(json.loads(spec_json))


def _charge_json(charge: Charge) -> dict[str, Any]:
    out: dict[str, Any] = {"included_units": charge.included_units}
    if charge.tiers:
        out["mode"] = charge.mode.value
        out["tiers"] = [
            {"up_to": t.up_to, "unit_price": str(t.unit_price), "flat_fee": str(t.flat_fee)}
            for t in charge.tiers
        ]
    else:
        out["unit_price"] = str(charge.unit_price)
    return out


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The canonical JSON form (decimals as strings); `parse_plan` reads it back unchanged."""
    share: dict[str, Any] = {"percent": str(plan.revenue_share_percent)}
    if plan.revenue_share_cap is not None:
        share["cap"] = str(plan.revenue_share_cap)
    out: dict[str, Any] = {
        "currency": plan.currency,
        "charges": {c.component.value: _charge_json(c) for c in plan.charges},
        "minimum_commitment": str(plan.minimum_commitment),
        "revenue_share": share,
    }
    if plan.monthly_spend_cap is not None:
        out["monthly_spend_cap"] = str(plan.monthly_spend_cap)
    return out


def dump_plan(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), sort_keys=True, separators=(",", ":"))


def parse_effective_from(value: Any) -> datetime:
    """A plan change applies from the first day of a month, 00:00 UTC (a period start)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        day = moment.astimezone(UTC)
        if (day.hour, day.minute, day.second, day.microsecond) != (0, 0, 0, 0):
            raise ValidationFailed("must be a date (00:00 UTC)", param="effective_from")
        moment = day
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValidationFailed("must be a date YYYY-MM-DD", param="effective_from") from None
        moment = datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
    else:
        raise ValidationFailed("is required (YYYY-MM-DD)", param="effective_from")
    if moment.day != 1:
        raise ValidationFailed("must be the first day of a month", param="effective_from")
    return moment
