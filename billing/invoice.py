"""The invoice run: draft invoices for every merchant of a period, set-based.

`run_invoices` reads its inputs with one statement each over all merchants (the hourly
ledger summed per merchant × risk verdict × cache hit, the plans in effect, the stored lift
results, existing invoices, pending adjustments), rates each merchant with the pure
functions of `billing.pricing`, and writes all drafts and lines with one statement per
table. It is deterministic and idempotent: a draft keeps its id, its lines are replaced in
the same transaction and get ids `<invoice id>-<position>`, so running twice over the same
data yields the same draft. Finalized, paid and void invoices are never touched.

What is billed (from `usage_hourly`, calls with risk verdict `pass`):

- model-served calls (`cache_hit` false): their prompt and completion tokens and the calls;
- cache hits: the calls, at the cache-hit price (their tokens are not charged again);
- calls the risk screen flagged (`review`) or blocked (`block`), and failed calls, are never
  billed: they appear as `withheld` lines with price 0, their counts and tokens in the
  lineage. The ledger does not split tokens by status inside a verdict, so a `pass` call
  with status blocked or failed is removed from the call counts only (the gateway records
  every blocked call with verdict `block`, and emits no failed calls).

Every line stores its lineage: the plan version, the ledger hour range, row count and sums
it came from (with the dimension filter), the lift result id, the adjustment ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from attribution.results import LiftResult
from billing import repository
from billing.errors import PeriodInFuture, PlanNotFound
from billing.models import Invoice, InvoiceStatus, PlanVersion
from billing.plans import Component, Plan, plan_from_json
from billing.pricing import (
    LineKind,
    PricedLine,
    minimum_true_up,
    price_late_usage,
    price_usage,
    revenue_share_line,
    total,
)
from billing.repository import UsageGroup
from billing.review.models import ReviewStatus
from billing.review_usage import (
    ReviewGroup,
    late_approved_reviews,
    review_groups,
    settled_review_groups,
)
from liftmeter.audit import record_audit
from liftmeter.errors import NotFound, ValidationFailed
from liftmeter.ids import new_id
from liftmeter.models import utcnow
from liftmeter.money import quantize
from metering.models import MEASURES, UsageAdjustment
from metering.repository import as_utc

ZERO = Decimal(0)
APPROVED_REVIEW = "approved_review"
"""Lineage key of the approved review calls a line bills; finalize settles their item ids."""
_HOUR = timedelta(hours=1)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month in UTC: [start, end)."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, text: str) -> Period:
        try:
            year, month = (int(p) for p in text.split("-"))
            start = datetime(year, month, 1, tzinfo=UTC)
        except ValueError:
            raise ValidationFailed(f"must be YYYY-MM, got {text!r}", param="period") from None
        return cls.of(start)

    @classmethod
    def of(cls, moment: datetime) -> Period:
        start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        return cls(start, end)

    @property
    def label(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"


@dataclass(frozen=True, slots=True)
class ComposedLine:
    priced: PricedLine
    lineage: dict[str, Any]


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


@dataclass
class RunSummary:
    period: str
    created: int = 0
    recomputed: int = 0
    skipped_final: int = 0
    skipped_no_plan: int = 0
    lines: int = 0
    invoice_ids: list[str] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _ledger(groups: Sequence[UsageGroup], **filters: Any) -> dict[str, Any]:
    """Lineage of a set of ledger groups: hour range, rows, sums and the filter used."""
    sums = {m: sum(g.measures[m] for g in groups) for m in MEASURES}
    return {
        "table": "usage_hourly",
        "filter": filters,
        "hour_from": _iso(min(g.first_hour for g in groups)) if groups else None,
        "hour_to": _iso(max(g.last_hour for g in groups) + _HOUR) if groups else None,
        "hour_rows": sum(g.hour_rows for g in groups),
        **sums,
    }


def _add(
    q: dict[Component, int], *, cache_hit: bool, calls: int, prompt: int, completion: int
) -> None:
    if cache_hit:
        q[Component.CACHE_HITS] += calls
    else:
        q[Component.CALLS] += calls
        q[Component.PROMPT_TOKENS] += prompt
        q[Component.COMPLETION_TOKENS] += completion


def billable_quantities(
    groups: Sequence[UsageGroup], reviews: Sequence[ReviewGroup] = ()
) -> dict[Component, int]:
    """Quantities that are billed: `pass` calls, minus blocked and failed ones (see module),
    plus the `approved` review calls among `reviews`, counted exactly like `pass` calls."""
    q = dict.fromkeys(Component, 0)
    for g in groups:
        if g.risk_verdict != "pass":
            continue
        m = g.measures
        good = m["calls"] - m["blocked_calls"] - m["failed_calls"]
        _add(
            q,
            cache_hit=g.cache_hit,
            calls=good,
            prompt=m["prompt_tokens"],
            completion=m["completion_tokens"],
        )
    for r in reviews:
        if r.status == ReviewStatus.APPROVED:
            _add(
                q,
                cache_hit=r.cache_hit,
                calls=r.calls - r.unbilled_calls,
                prompt=r.prompt_tokens,
                completion=r.completion_tokens,
            )
    return q


def _review_lineage(reviews: Sequence[ReviewGroup], **filters: Any) -> dict[str, Any]:
    """Lineage of review calls: raw rows joined with the queue, sums, decided item ids."""
    decided = [r.decided_from for r in reviews if r.decided_from is not None]
    decided_to = [r.decided_to for r in reviews if r.decided_to is not None]
    return {
        "table": "usage_calls JOIN review_items ON call_id",
        "filter": {"risk_verdict": "review", **filters},
        "hour_from": _iso(min(r.first_hour for r in reviews)),
        "hour_to": _iso(max(r.last_hour for r in reviews) + _HOUR),
        "decided_from": _iso(min(decided)) if decided else None,
        "decided_to": _iso(max(decided_to)) if decided_to else None,
        "calls": sum(r.calls for r in reviews),
        "prompt_tokens": sum(r.prompt_tokens for r in reviews),
        "completion_tokens": sum(r.completion_tokens for r in reviews),
        "unbilled_calls": sum(r.unbilled_calls for r in reviews),
        "review_item_ids": sorted(i for r in reviews for i in r.item_ids),
    }


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
            lineage = _review_lineage(chosen_reviews, review_status=status.value)
            if status == ReviewStatus.PENDING:
                del lineage["review_item_ids"]  # undecided: the filter finds them
            out.append(ComposedLine(line, {"review": lineage}))
    blocked = [g for g in groups if g.risk_verdict == "block"]
    calls = sum(g.measures["calls"] for g in blocked)
    if calls:
        line = PricedLine(
            LineKind.WITHHELD, "Blocked by risk screen, not billed", Decimal(calls), ZERO, zero
        )
        out.append(ComposedLine(line, {"ledger": _ledger(blocked, risk_verdict="block")}))
    passed = [g for g in groups if g.risk_verdict == "pass"]
    for measure, name in (("blocked_calls", "Blocked"), ("failed_calls", "Failed")):
        calls = sum(g.measures[measure] for g in passed)
        if calls:
            line = PricedLine(
                LineKind.WITHHELD, f"{name} calls, not billed", Decimal(calls), ZERO, zero
            )
            out.append(ComposedLine(line, {"ledger": _ledger(passed, risk_verdict="pass")}))
    return out


def _usage_lineage(
    line: PricedLine, groups: Sequence[UsageGroup], reviews: Sequence[ReviewGroup]
) -> dict[str, Any]:
    """The ledger rows of `pass` calls and, when any, the approved review calls billed."""
    cache_hit = line.component == Component.CACHE_HITS
    chosen = [g for g in groups if g.risk_verdict == "pass" and g.cache_hit == cache_hit]
    lineage: dict[str, Any] = {"ledger": _ledger(chosen, risk_verdict="pass", cache_hit=cache_hit)}
    approved = [
        r for r in reviews if r.status == ReviewStatus.APPROVED and r.cache_hit == cache_hit
    ]
    if approved:
        lineage[APPROVED_REVIEW] = _review_lineage(
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
        "lift_period": [_iso(lift.period_start), _iso(lift.period_end)],
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


def _late_lines(late: LateUsage, currency: str) -> list[ComposedLine]:
    lineage = {
        "adjusts_period": _iso(late.period_start),
        "adjusts_invoice": late.adjusts_invoice,
        "plan_version_id": late.plan_version_id,
        **late.source,
    }
    priced = price_late_usage(
        late.plan, late.base, late.late, other_amount=late.other_amount, what=late.what
    )
    if not priced:
        zero = quantize(ZERO, currency)
        calls = Decimal(late.source.get("calls", 0))
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
        lines += _late_lines(item, plan.currency)
    return lines


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
        "hour_from": _iso(min(as_utc(r.hour_start) for r in rows)),
        "hour_to": _iso(max(as_utc(r.hour_start) for r in rows) + _HOUR),
        **{m: sum(getattr(r, m) for r in rows) for m in MEASURES},
    }


def _late_usage(
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
            source = {APPROVED_REVIEW: _review_lineage(reviews, review_status="approved")}
            late = billable_quantities((), reviews)
            out.append(closed.late(start, base, late, "approved in review", source))
    return out


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
                late = _late_usage(
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
