"""Late units of closed periods, billed on a later invoice as `adjustment` lines.

A period is closed once its invoice is finalized. Two kinds of units reach it later:

- late call events, which metering keeps as pending `usage_adjustments`;
- review calls approved after the invoice was finalized (`billing.review_usage`).

Both are priced as a **delta** with the plan of the period they belong to:
rating(billed + late) − rating(billed), per component, plus the change of that period's
minimum true-up, so late units continue the tiers and free units where the period left
off. "Billed" is what the period's invoice and earlier adjustments billed: the ledger, the
settled adjustments and the settled review approvals. Per period, late events come first,
then the late approvals on top of them. Finalizing the invoice that carries the lines
settles the adjustment ids and the review item ids it lists, so each is billed once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from billing import repository
from billing.billable import (
    APPROVED_REVIEW,
    HOUR,
    ComposedLine,
    billable_quantities,
    iso,
    review_lineage,
)
from billing.period import Period
from billing.plans import Component, Plan, plan_from_json
from billing.pricing import LineKind, PricedLine, price_late_usage
from billing.repository import UsageGroup
from billing.review_usage import ReviewGroup, settled_review_groups
from liftmeter.money import quantize
from metering.models import MEASURES, UsageAdjustment
from metering.repository import as_utc

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LateUsage:
    """Late billable units of one closed period, with what that period already billed.

    Two sources: pending `usage_adjustments` (late events, `what` "late usage") and review
    items approved after the period's invoice was finalized (`what` "approved in review").
    `source` is the lineage of the late units (adjustment or review item ids, hours, sums).
    """

    period_start: datetime
    plan_version_id: str
    plan: Plan
    base: Mapping[Component, int]
    late: Mapping[Component, int]
    other_amount: Decimal
    adjusts_invoice: str | None
    what: str
    source: Mapping[str, Any]


def late_lines(late: LateUsage, currency: str) -> list[ComposedLine]:
    """The adjustment lines of `late`, described with its period; one zero line when the
    plan charges none of the late units (it still lists them, so finalize settles them)."""
    lineage = {
        "adjusts_period": iso(late.period_start),
        "adjusts_invoice": late.adjusts_invoice,
        "plan_version_id": late.plan_version_id,
        **late.source,
    }
    priced = price_late_usage(
        late.plan, late.base, late.late, other_amount=late.other_amount, what=late.what
    )
    if not priced:
        zero = quantize(ZERO, currency)
        counted = late.source.get(APPROVED_REVIEW, late.source)
        calls = Decimal(counted.get("calls", 0))
        priced = [
            PricedLine(
                LineKind.ADJUSTMENT,
                f"{late.what.capitalize()}, nothing billable",
                calls,
                None,
                zero,
            )
        ]
    period = late.period_start.strftime("%Y-%m")
    return [
        ComposedLine(
            PricedLine(
                p.kind,
                f"{p.description} ({period})",
                p.quantity,
                p.unit_price,
                p.amount,
                p.component,
                p.detail,
            ),
            lineage,
        )
        for p in priced
    ]


def _quantities_of(adjustments: Sequence[UsageAdjustment]) -> list[UsageGroup]:
    groups: dict[tuple[str, bool], list[UsageAdjustment]] = {}
    for adj in adjustments:
        groups.setdefault((adj.risk_verdict, adj.cache_hit), []).append(adj)
    return [
        UsageGroup(
            merchant_id=rows[0].merchant_id,
            risk_verdict=verdict,
            cache_hit=hit,
            first_hour=min(r.hour_start for r in rows),
            last_hour=max(r.hour_start for r in rows),
            hour_rows=len(rows),
            measures={m: sum(getattr(r, m) for r in rows) for m in MEASURES},
        )
        for (verdict, hit), rows in sorted(groups.items())
    ]


@dataclass(frozen=True, slots=True)
class _Closed:
    """What a closed period of one merchant already billed, for pricing late units."""

    plan_version_id: str
    plan: Plan
    base: dict[Component, int]
    other_amount: Decimal
    adjusts_invoice: str | None

    def late(
        self,
        start: datetime,
        base: Mapping[Component, int],
        late: Mapping[Component, int],
        what: str,
        source: Mapping[str, Any],
    ) -> LateUsage:
        """`late` units of this period (priced on top of `base`) with their lineage."""
        return LateUsage(
            period_start=start,
            plan_version_id=self.plan_version_id,
            plan=self.plan,
            base=base,
            late=late,
            other_amount=self.other_amount,
            adjusts_invoice=self.adjusts_invoice,
            what=what,
            source=source,
        )


def _closed_period(
    session: Session, merchant_id: str, start: datetime, invoice_id: str
) -> _Closed | None:
    """The closed period's plan and billed quantities (ledger, settled adjustments and
    settled review approvals, except those `invoice_id` settles); None without a plan."""
    original = repository.finalized_invoice(session, merchant_id, start)
    end = as_utc(original.period_end) if original else Period.of(start).end
    version = repository.plans_in_effect(session, at=start, merchant_id=merchant_id).get(
        merchant_id
    )
    if version is None:
        return None  # no plan priced that period: nothing to bill late units at
    base_groups = repository.usage_groups(
        session, start=start, end=end, merchant_id=merchant_id
    ).get(merchant_id, [])
    base_groups += repository.settled_adjustment_groups(
        session, merchant_id=merchant_id, period_start=start, exclude_invoice=invoice_id
    )
    settled = settled_review_groups(
        session, merchant_id=merchant_id, period_start=start, exclude_invoice=invoice_id
    )
    other = ZERO
    if original is not None:
        other = sum(
            (
                Decimal(line.amount)
                for line in repository.lines_of(session, [original.id])[original.id]
                if line.kind == LineKind.REVENUE_SHARE
            ),
            ZERO,
        )
    return _Closed(
        plan_version_id=version.id,
        plan=plan_from_json(version.spec_json),
        base=billable_quantities(base_groups, settled),
        other_amount=other,
        adjusts_invoice=original.number if original else None,
    )


def _adjustments_source(rows: Sequence[UsageAdjustment]) -> dict[str, Any]:
    return {
        "adjustment_ids": [r.id for r in rows],
        "table": "usage_adjustments",
        "hour_from": iso(min(as_utc(r.hour_start) for r in rows)),
        "hour_to": iso(max(as_utc(r.hour_start) for r in rows) + HOUR),
        **{m: sum(getattr(r, m) for r in rows) for m in MEASURES},
    }


def late_usage(
    session: Session,
    merchant_id: str,
    *,
    pending: Sequence[UsageAdjustment],
    approved: Sequence[ReviewGroup],
    invoice_id: str,
) -> list[LateUsage]:
    """Late units per closed period (queries per late period, never per merchant).

    Per period, late events are priced first on top of what the period billed, then the
    review calls approved after its invoice was finalized on top of both, so each delta
    continues the tiers and free units where the previous one left off.
    """
    by_period: dict[datetime, list[UsageAdjustment]] = {}
    for adj in pending:
        by_period.setdefault(as_utc(adj.period_start), []).append(adj)
    reviews_by_period: dict[datetime, list[ReviewGroup]] = {}
    for group in approved:
        assert group.period_start is not None
        reviews_by_period.setdefault(group.period_start, []).append(group)
    out = []
    for start in sorted(by_period.keys() | reviews_by_period.keys()):
        closed = _closed_period(session, merchant_id, start, invoice_id)
        if closed is None:
            continue
        base = closed.base
        rows = by_period.get(start, [])
        if rows:
            late = billable_quantities(_quantities_of(rows))
            out.append(closed.late(start, base, late, "late usage", _adjustments_source(rows)))
            base = {c: base[c] + late[c] for c in Component}
        reviews = reviews_by_period.get(start, [])
        if reviews:
            source = {APPROVED_REVIEW: review_lineage(reviews, review_status="approved")}
            late = billable_quantities((), reviews)
            out.append(closed.late(start, base, late, "approved in review", source))
    return out
