"""Rating: pure functions from a plan and quantities to priced invoice lines. No I/O.

Arithmetic is exact `Decimal` (a 60-digit context, so no intermediate rounding); each line
is rounded once, half-up, to the currency's minor unit with `liftmeter.money.quantize`, and
an invoice total is the sum of its rounded lines, so lines always add up to the total.

- A charge first gives away `included_units` (an `included` line at price 0), then prices
  the remaining units: one `unit_price`, or tiers. Tier bounds count billable units (after
  the included ones) and are inclusive (`up_to: 1000` holds unit 1,000). Graduated: one line
  per tier the quantity reaches, each tier pricing its slice (+ its flat fee). Volume: one
  line, every unit at the price of the tier the total falls in (+ that tier's flat fee).
- Revenue share: percent × conservative incremental revenue, capped at `cap`.
- Minimum commitment: when the period's usage and revenue-share lines sum below it, a
  true-up line brings the subtotal exactly to the minimum.
- Late usage of a closed period is priced as a delta: rating (base + late) minus rating
  (base) with that period's plan, per component, plus the change of its minimum true-up; so
  late units continue the tiers and free units where the period left off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Any

from billing.plans import UNIT_SIZE, Charge, Component, Plan, Tier, TierMode
from liftmeter.money import quantize

ZERO = Decimal(0)
_NAMES = {
    Component.PROMPT_TOKENS: "Prompt tokens (per 1k)",
    Component.COMPLETION_TOKENS: "Completion tokens (per 1k)",
    Component.CALLS: "Calls",
    Component.CACHE_HITS: "Cache hits",
}


class LineKind(StrEnum):
    USAGE = "usage"
    INCLUDED = "included"
    WITHHELD = "withheld"
    REVENUE_SHARE = "revenue_share"
    MINIMUM = "minimum_true_up"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True, slots=True)
class PricedLine:
    """One invoice line: `amount` is already rounded; `unit_price` is per the unit size."""

    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal | None
    amount: Decimal
    component: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


def _exact(quantity: int | Decimal, price: Decimal, unit_size: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return Decimal(quantity) * price / unit_size


def _bounds(tiers: tuple[Tier, ...]) -> list[tuple[int, int | None, Tier]]:
    lower, out = 0, []
    for tier in tiers:
        out.append((lower, tier.up_to, tier))
        lower = tier.up_to if tier.up_to is not None else lower
    return out


def _tier_line(
    charge: Charge, currency: str, units: int, tier: Tier, index: int, lower: int, upper: int | None
) -> PricedLine:
    size = UNIT_SIZE[charge.component]
    with localcontext() as ctx:
        ctx.prec = 60
        amount = _exact(units, tier.unit_price, size) + tier.flat_fee
    span = f"{lower + 1}-{upper}" if upper is not None else f"{lower + 1}+"
    return PricedLine(
        kind=LineKind.USAGE,
        description=f"{_NAMES[charge.component]}, tier {index + 1} ({span})",
        quantity=Decimal(units),
        unit_price=tier.unit_price,
        amount=quantize(amount, currency),
        component=charge.component.value,
        detail={
            "tier": index + 1,
            "mode": charge.mode.value,
            "from_unit": lower + 1,
            "to_unit": upper,
            "flat_fee": str(tier.flat_fee),
        },
    )


def _tiered(charge: Charge, currency: str, billable: int) -> list[PricedLine]:
    bounds = _bounds(charge.tiers)
    if charge.mode is TierMode.VOLUME:
        for i, (lower, upper, tier) in enumerate(bounds):
            if upper is None or billable <= upper:
                return [_tier_line(charge, currency, billable, tier, i, lower, upper)]
    lines = []
    for i, (lower, upper, tier) in enumerate(bounds):
        units = min(billable, upper if upper is not None else billable) - lower
        if units > 0:
            lines.append(_tier_line(charge, currency, units, tier, i, lower, upper))
    return lines


def price_charge(charge: Charge, quantity: int, currency: str) -> list[PricedLine]:
    """The lines of one component for `quantity` units (none for zero usage)."""
    lines: list[PricedLine] = []
    free = min(quantity, charge.included_units)
    name = _NAMES[charge.component]
    if free > 0:
        lines.append(
            PricedLine(
                kind=LineKind.INCLUDED,
                description=f"{name}, included",
                quantity=Decimal(free),
                unit_price=ZERO,
                amount=quantize(ZERO, currency),
                component=charge.component.value,
                detail={"included_units": charge.included_units},
            )
        )
    billable = quantity - free
    if billable <= 0:
        return lines
    if charge.tiers:
        return lines + _tiered(charge, currency, billable)
    amount = _exact(billable, charge.unit_price, UNIT_SIZE[charge.component])
    lines.append(
        PricedLine(
            kind=LineKind.USAGE,
            description=name,
            quantity=Decimal(billable),
            unit_price=charge.unit_price,
            amount=quantize(amount, currency),
            component=charge.component.value,
        )
    )
    return lines


def price_usage(plan: Plan, quantities: Mapping[Component, int]) -> list[PricedLine]:
    """Usage lines of every charged component, in `Component` order."""
    lines: list[PricedLine] = []
    for component in Component:
        charge = plan.charge(component)
        if charge is not None:
            lines.extend(price_charge(charge, quantities.get(component, 0), plan.currency))
    return lines


def revenue_share_line(plan: Plan, conservative_amount: Decimal) -> PricedLine:
    """Percent × conservative incremental revenue, capped at the plan's cap, rounded once."""
    with localcontext() as ctx:
        ctx.prec = 60
        share = conservative_amount * plan.revenue_share_percent / 100
    capped = plan.revenue_share_cap is not None and share > plan.revenue_share_cap
    if capped:
        assert plan.revenue_share_cap is not None
        share = plan.revenue_share_cap
    return PricedLine(
        kind=LineKind.REVENUE_SHARE,
        description=f"Revenue share {plan.revenue_share_percent}% of incremental revenue"
        + (" (capped)" if capped else ""),
        quantity=conservative_amount,
        unit_price=plan.revenue_share_percent / 100,
        amount=quantize(share, plan.currency),
        detail={
            "cap": None if plan.revenue_share_cap is None else str(plan.revenue_share_cap),
            "cap_applied": capped,
        },
    )


def minimum_true_up(plan: Plan, subtotal: Decimal) -> PricedLine | None:
    """The line that lifts `subtotal` (of rounded lines) to the monthly minimum, if below."""
    minimum = quantize(plan.minimum_commitment, plan.currency)
    if subtotal >= minimum:
        return None
    return PricedLine(
        kind=LineKind.MINIMUM,
        description=f"Minimum commitment true-up (minimum {minimum} {plan.currency})",
        quantity=Decimal(1),
        unit_price=minimum - subtotal,
        amount=minimum - subtotal,
        detail={"minimum_commitment": str(minimum), "subtotal": str(subtotal)},
    )


def total(lines: Iterable[PricedLine]) -> Decimal:
    """The sum of rounded line amounts: the invoice total, with no drift by construction."""
    return sum((line.amount for line in lines), ZERO)


def price_period(
    plan: Plan, quantities: Mapping[Component, int], conservative_amount: Decimal | None
) -> list[PricedLine]:
    """Usage lines, the revenue-share line (when a lift result exists) and the true-up."""
    lines = price_usage(plan, quantities)
    if conservative_amount is not None and plan.revenue_share_percent > 0:
        lines.append(revenue_share_line(plan, conservative_amount))
    true_up = minimum_true_up(plan, total(lines))
    return [*lines, true_up] if true_up is not None else lines


def price_late_usage(
    plan: Plan,
    base: Mapping[Component, int],
    late: Mapping[Component, int],
    *,
    other_amount: Decimal = ZERO,
    what: str = "late usage",
) -> list[PricedLine]:
    """Adjustment lines for `late` units of a closed period already billed on `base`.

    `other_amount` is what the period's invoice billed besides usage (its revenue share),
    needed to recompute that period's minimum true-up. `what` names the late units in the
    descriptions ("late usage", "approved in review").
    """
    after = {c: base.get(c, 0) + late.get(c, 0) for c in Component}
    lines: list[PricedLine] = []
    for component in Component:
        charge = plan.charge(component)
        if charge is None or late.get(component, 0) == 0:
            continue
        delta = total(price_charge(charge, after[component], plan.currency)) - total(
            price_charge(charge, base.get(component, 0), plan.currency)
        )
        lines.append(
            PricedLine(
                kind=LineKind.ADJUSTMENT,
                description=f"{_NAMES[component]}, {what}",
                quantity=Decimal(late[component]),
                unit_price=None,
                amount=delta,
                component=component.value,
            )
        )
    before_usage = total(price_usage(plan, base)) + other_amount
    after_usage = total(price_usage(plan, after)) + other_amount
    old_up = minimum_true_up(plan, before_usage)
    new_up = minimum_true_up(plan, after_usage)
    change = (new_up.amount if new_up else ZERO) - (old_up.amount if old_up else ZERO)
    if change != 0:
        lines.append(
            PricedLine(
                kind=LineKind.ADJUSTMENT,
                description=f"Minimum commitment true-up, change from {what}",
                quantity=Decimal(1),
                unit_price=change,
                amount=change,
            )
        )
    return lines
