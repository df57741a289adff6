"""The invoice run: draft invoices for every merchant of a period, set-based.

`run_invoices` reads its inputs with one statement each over all merchants (the hourly
ledger summed per merchant × risk verdict × cache hit, the period's review-verdict calls
by review status, the plans in effect, the stored lift results, existing invoices, pending
adjustments, review items approved after their period was finalized), rates each merchant
with the pure functions of `billing.pricing`, and writes all drafts and lines with one
statement per table. It is deterministic and idempotent: a draft keeps its id, its lines
are replaced in the same transaction and get ids `<invoice id>-<position>`, so running
twice over the same data (and the same review decisions) yields the same draft. Finalized,
paid and void invoices are never touched.

What is billed:

- calls with risk verdict `pass` (from `usage_hourly`): model-served calls (`cache_hit`
  false) are charged their prompt and completion tokens and the calls; cache hits the
  calls, at the cache-hit price (their tokens are not charged again);
- calls with verdict `review` whose review item is `approved` (decided at or before the
  run's `now`), exactly like `pass` calls of the same cache-hit kind, in the same usage
  lines and tiers; their tokens come from metering's raw rows (`billing.review_usage`);
- never billed, shown as `withheld` lines with price 0 (counts and tokens in the lineage):
  review calls still pending ("Pending review") or rejected ("Rejected in review"),
  blocked calls (`block`), and failed calls. The ledger does not split tokens by status
  inside a verdict, so a `pass` call with status blocked or failed is removed from the
  call counts only (the gateway records every blocked call with verdict `block`, and
  emits no failed calls).

Late units of a period whose invoice is already finalized are billed on a later invoice
as `adjustment` lines priced as a delta with that period's plan: late events
(`usage_adjustments`), then review items approved after the finalization. Finalizing an
invoice settles both (`settle_adjustments`, `review_settlements`), so each is billed once;
an approved review item is settled by the invoice that bills it, in its own period or later.

Every line stores its lineage: the plan version, the ledger hour range, row count and sums
it came from (with the dimension filter), the lift result id, the adjustment ids, and under
`approved_review` the approved review calls it bills (count, token sums, decision time
range, review item ids).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from attribution.results import LiftResult
from billing import repository
from billing.billable import APPROVED_REVIEW as APPROVED_REVIEW
from billing.billable import ComposedLine, iso, ledger_lineage, review_lineage
from billing.billable import billable_quantities as billable_quantities
from billing.errors import PeriodInFuture, PlanNotFound
from billing.late_usage import LateUsage, late_lines, late_usage
from billing.models import Invoice, InvoiceStatus, PlanVersion
from billing.period import Period as Period
from billing.plans import Component, Plan, plan_from_json
from billing.pricing import (
    LineKind,
    PricedLine,
    minimum_true_up,
    price_usage,
    revenue_share_line,
    total,
)
from billing.repository import UsageGroup
from billing.review.models import ReviewStatus
from billing.review_usage import ReviewGroup, late_approved_reviews, review_groups
from liftmeter.audit import record_audit
from liftmeter.errors import NotFound
from liftmeter.ids import new_id
from liftmeter.models import utcnow
from liftmeter.money import quantize

ZERO = Decimal(0)
Progress = Callable[[int, int], None]


@dataclass
class RunSummary:
    period: str
    created: int = 0
    recomputed: int = 0
    skipped_final: int = 0
    skipped_no_plan: int = 0
    lines: int = 0
    invoice_ids: list[str] = field(default_factory=list)


_REVIEW_WITHHELD = (
    (ReviewStatus.PENDING, "Pending review, not billed"),
    (ReviewStatus.REJECTED, "Rejected in review, not billed"),
)


def _withheld(
    groups: Sequence[UsageGroup], reviews: Sequence[ReviewGroup], currency: str
) -> list[ComposedLine]:
    zero = quantize(ZERO, currency)
    out = []
    for status, name in _REVIEW_WITHHELD:
        chosen_reviews = [r for r in reviews if r.status == status]
        calls = sum(r.calls for r in chosen_reviews)
        if calls:
            line = PricedLine(LineKind.WITHHELD, name, Decimal(calls), ZERO, zero)
            lineage = review_lineage(chosen_reviews, review_status=status.value)
            if status == ReviewStatus.PENDING:
                del lineage["review_item_ids"]  # undecided: the filter finds them
            out.append(ComposedLine(line, {"review": lineage}))
    blocked = [g for g in groups if g.risk_verdict == "block"]
    calls = sum(g.measures["calls"] for g in blocked)
    if calls:
        line = PricedLine(
            LineKind.WITHHELD, "Blocked by risk screen, not billed", Decimal(calls), ZERO, zero
        )
        out.append(ComposedLine(line, {"ledger": ledger_lineage(blocked, risk_verdict="block")}))
    passed = [g for g in groups if g.risk_verdict == "pass"]
    for measure, name in (("blocked_calls", "Blocked"), ("failed_calls", "Failed")):
        calls = sum(g.measures[measure] for g in passed)
        if calls:
            line = PricedLine(
                LineKind.WITHHELD, f"{name} calls, not billed", Decimal(calls), ZERO, zero
            )
            out.append(ComposedLine(line, {"ledger": ledger_lineage(passed, risk_verdict="pass")}))
    return out


def _usage_lineage(
    line: PricedLine, groups: Sequence[UsageGroup], reviews: Sequence[ReviewGroup]
) -> dict[str, Any]:
    """The ledger rows of `pass` calls and, when any, the approved review calls billed."""
    cache_hit = line.component == Component.CACHE_HITS
    chosen = [g for g in groups if g.risk_verdict == "pass" and g.cache_hit == cache_hit]
    lineage: dict[str, Any] = {
        "ledger": ledger_lineage(chosen, risk_verdict="pass", cache_hit=cache_hit)
    }
    approved = [
        r for r in reviews if r.status == ReviewStatus.APPROVED and r.cache_hit == cache_hit
    ]
    if approved:
        lineage[APPROVED_REVIEW] = review_lineage(
            approved, review_status="approved", cache_hit=cache_hit
        )
    return lineage


def _revenue_share(plan: Plan, lift: LiftResult | None, version_id: str) -> list[ComposedLine]:
    if lift is None or plan.revenue_share_percent == 0:
        return []
    lineage = {
        "plan_version_id": version_id,
        "lift_result_id": lift.id,
        "lift_reason": lift.reason,
        "conservative_amount": str(lift.conservative_amount),
        "lift_period": [iso(lift.period_start), iso(lift.period_end)],
    }
    if lift.currency != plan.currency:
        zero = quantize(ZERO, plan.currency)
        line = PricedLine(
            LineKind.REVENUE_SHARE,
            f"Revenue share not billed: lift result in {lift.currency}",
            Decimal(lift.conservative_amount),
            ZERO,
            zero,
        )
        return [ComposedLine(line, lineage)]
    return [ComposedLine(revenue_share_line(plan, Decimal(lift.conservative_amount)), lineage)]


def compose_invoice(
    *,
    version: PlanVersion,
    plan: Plan,
    groups: Sequence[UsageGroup],
    lift: LiftResult | None,
    reviews: Sequence[ReviewGroup] = (),
    late: Sequence[LateUsage] = (),
) -> list[ComposedLine]:
    """All lines of one merchant's invoice, in a fixed order. No I/O.

    `reviews` are the period's review-verdict calls by review status as of the run: the
    approved ones join the usage lines, the others are withheld.
    """
    base = {"plan_version_id": version.id}
    usage = [
        ComposedLine(p, {**base, **_usage_lineage(p, groups, reviews), **p.detail})
        for p in price_usage(plan, billable_quantities(groups, reviews))
    ]
    lines = usage + _revenue_share(plan, lift, version.id)
    true_up = minimum_true_up(plan, total(c.priced for c in lines))
    if true_up is not None:
        lines.append(ComposedLine(true_up, {**base, **true_up.detail}))
    lines += _withheld(groups, reviews, plan.currency)
    for item in late:
        lines += late_lines(item, plan.currency)
    return lines


def _line_rows(invoice_id: str, lines: Sequence[ComposedLine]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{invoice_id}-{pos:04d}",
            "invoice_id": invoice_id,
            "position": pos,
            "kind": c.priced.kind.value,
            "component": c.priced.component,
            "description": c.priced.description[:300],
            "quantity": c.priced.quantity,
            "unit_price": c.priced.unit_price,
            "amount": c.priced.amount,
            "lineage_json": json.dumps(c.lineage, sort_keys=True, default=str),
        }
        for pos, c in enumerate(lines, start=1)
    ]


def run_invoices(
    session: Session,
    *,
    period: Period,
    merchant_id: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    actor: str | None = None,
) -> RunSummary:
    """Create or recompute the period's drafts (all merchants, or one); flushes, no commit.

    With an `actor`, the run writes one audit row (finalize's inner recompute passes none).
    """
    now = now or utcnow()
    if period.start > now:
        raise PeriodInFuture(f"{period.label} has not started yet", param="period")
    currencies = repository.merchant_currencies(session, merchant_id)
    if merchant_id is not None and not currencies:
        raise NotFound("no such merchant", param="merchant_id")
    existing = repository.invoices_for_period(
        session, start=period.start, merchant_id=merchant_id, lock_drafts=True
    )
    plans = repository.plans_in_effect(session, at=period.start, merchant_id=merchant_id)
    if merchant_id is not None and merchant_id not in plans:
        raise PlanNotFound(f"no plan in effect on {period.start:%Y-%m-%d}", param="merchant_id")
    usage = repository.usage_groups(
        session, start=period.start, end=period.end, merchant_id=merchant_id
    )
    lifts = repository.lift_results(
        session, start=period.start, end=period.end, merchant_id=merchant_id
    )
    reviews = review_groups(
        session, start=period.start, end=period.end, as_of=now, merchant_id=merchant_id
    )
    pending = repository.pending_adjustments(session, before=period.start, merchant_id=merchant_id)
    approved = late_approved_reviews(
        session, before=period.start, as_of=now, merchant_id=merchant_id
    )
    repository.replace_draft_lines(session, start=period.start, merchant_id=merchant_id)
    summary = RunSummary(period=period.label)
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    for done, mid in enumerate(sorted(currencies), start=1):
        invoice = existing.get(mid)
        version = plans.get(mid)
        if invoice is not None and invoice.status != InvoiceStatus.DRAFT:
            summary.skipped_final += 1
        elif version is None:
            summary.skipped_no_plan += 1
        else:
            invoice_id = invoice.id if invoice is not None else new_id("inv")
            plan = plan_from_json(version.spec_json)  # merchants often share a spec
            late = []
            if mid in pending or mid in approved:
                late = late_usage(
                    session,
                    mid,
                    pending=pending.get(mid, []),
                    approved=approved.get(mid, []),
                    invoice_id=invoice_id,
                )
            lines = compose_invoice(
                version=version,
                plan=plan,
                groups=usage.get(mid, []),
                lift=lifts.get(mid),
                reviews=reviews.get(mid, []),
                late=late,
            )
            row = {
                "id": invoice_id,
                "total": total(c.priced for c in lines),
                "plan_version_id": version.id,
                "currency": plan.currency,
                "computed_at": now,
            }
            if invoice is None:
                new.append(_new_invoice(row, mid, period))
                summary.created += 1
            else:
                changed.append(row)
                summary.recomputed += 1
            line_rows += _line_rows(invoice_id, lines)
            summary.invoice_ids.append(invoice_id)
        if progress is not None:
            progress(done, len(currencies))
    repository.write_invoices(session, new=new, changed=changed, lines=line_rows)
    summary.lines = len(line_rows)
    if actor is not None:
        record_audit(
            session,
            actor=actor,
            action="invoice.run",
            subject_type="invoice_run",
            subject_id=period.label,
            merchant_id=merchant_id,
            details={
                "created": summary.created,
                "recomputed": summary.recomputed,
                "lines": summary.lines,
            },
        )
    return summary


def _new_invoice(row: dict[str, Any], merchant_id: str, period: Period) -> dict[str, Any]:
    return {
        **row,
        "merchant_id": merchant_id,
        "period_start": period.start,
        "period_end": period.end,
        "status": InvoiceStatus.DRAFT.value,
    }


def invoice_lines(session: Session, invoice: Invoice) -> list[Any]:
    """The lines of one invoice, in order."""
    return repository.lines_of(session, [invoice.id])[invoice.id]
