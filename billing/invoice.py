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
from liftmeter.audit import record_audit
from liftmeter.errors import NotFound, ValidationFailed
from liftmeter.ids import new_id
from liftmeter.models import utcnow
from liftmeter.money import quantize
from metering.models import MEASURES, UsageAdjustment
from metering.repository import as_utc

ZERO = Decimal(0)
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
    """Pending adjustments of one closed period, with what that period already billed."""

    period_start: datetime
    plan_version_id: str
    plan: Plan
    base: Mapping[Component, int]
    late: Mapping[Component, int]
    other_amount: Decimal
    adjusts_invoice: str | None
    adjustment_ids: tuple[int, ...]
    first_hour: datetime
    last_hour: datetime
    late_measures: Mapping[str, int]


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


def billable_quantities(groups: Sequence[UsageGroup]) -> dict[Component, int]:
    """Quantities that are billed: `pass` calls, minus blocked and failed ones (see module)."""
    q = dict.fromkeys(Component, 0)
    for g in groups:
        if g.risk_verdict != "pass":
            continue
        m = g.measures
        good = m["calls"] - m["blocked_calls"] - m["failed_calls"]
        if g.cache_hit:
            q[Component.CACHE_HITS] += good
        else:
            q[Component.CALLS] += good
            q[Component.PROMPT_TOKENS] += m["prompt_tokens"]
            q[Component.COMPLETION_TOKENS] += m["completion_tokens"]
    return q


def _withheld(groups: Sequence[UsageGroup], currency: str) -> list[ComposedLine]:
    zero = quantize(ZERO, currency)
    out = []
    for verdict, name in (("review", "Flagged for review"), ("block", "Blocked by risk screen")):
        chosen = [g for g in groups if g.risk_verdict == verdict]
        calls = sum(g.measures["calls"] for g in chosen)
        if calls:
            line = PricedLine(LineKind.WITHHELD, f"{name}, not billed", Decimal(calls), ZERO, zero)
            out.append(ComposedLine(line, {"ledger": _ledger(chosen, risk_verdict=verdict)}))
    passed = [g for g in groups if g.risk_verdict == "pass"]
    for measure, name in (("blocked_calls", "Blocked"), ("failed_calls", "Failed")):
        calls = sum(g.measures[measure] for g in passed)
        if calls:
            line = PricedLine(
                LineKind.WITHHELD, f"{name} calls, not billed", Decimal(calls), ZERO, zero
            )
            out.append(ComposedLine(line, {"ledger": _ledger(passed, risk_verdict="pass")}))
    return out


def _usage_lineage(line: PricedLine, groups: Sequence[UsageGroup]) -> dict[str, Any]:
    cache_hit = line.component == Component.CACHE_HITS
    chosen = [g for g in groups if g.risk_verdict == "pass" and g.cache_hit == cache_hit]
    return {"ledger": _ledger(chosen, risk_verdict="pass", cache_hit=cache_hit)}


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
        "adjustment_ids": list(late.adjustment_ids),
        "table": "usage_adjustments",
        "hour_from": _iso(late.first_hour),
        "hour_to": _iso(late.last_hour + _HOUR),
        **late.late_measures,
    }
    priced = price_late_usage(late.plan, late.base, late.late, other_amount=late.other_amount)
    if not priced:
        zero = quantize(ZERO, currency)
        calls = Decimal(late.late_measures.get("calls", 0))
        priced = [
            PricedLine(LineKind.ADJUSTMENT, "Late usage, nothing billable", calls, None, zero)
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
    late: Sequence[LateUsage] = (),
) -> list[ComposedLine]:
    """All lines of one merchant's invoice, in a fixed order. No I/O."""
    base = {"plan_version_id": version.id}
    usage = [
        ComposedLine(p, {**base, **_usage_lineage(p, groups), **p.detail})
        for p in price_usage(plan, billable_quantities(groups))
    ]
    lines = usage + _revenue_share(plan, lift, version.id)
    true_up = minimum_true_up(plan, total(c.priced for c in lines))
    if true_up is not None:
        lines.append(ComposedLine(true_up, {**base, **true_up.detail}))
    lines += _withheld(groups, plan.currency)
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


def _late_usage(
    session: Session, merchant_id: str, pending: Sequence[UsageAdjustment], invoice_id: str
) -> list[LateUsage]:
    """Late usage per closed period (queries per late period, never per merchant)."""
    by_period: dict[datetime, list[UsageAdjustment]] = {}
    for adj in pending:
        by_period.setdefault(as_utc(adj.period_start), []).append(adj)
    out = []
    for start, rows in sorted(by_period.items()):
        original = repository.finalized_invoice(session, merchant_id, start)
        end = as_utc(original.period_end) if original else Period.of(start).end
        version = repository.plans_in_effect(session, at=start, merchant_id=merchant_id).get(
            merchant_id
        )
        if version is None:
            continue  # no plan priced that period: nothing to bill the late usage at
        base_groups = repository.usage_groups(
            session, start=start, end=end, merchant_id=merchant_id
        ).get(merchant_id, [])
        base_groups += repository.settled_adjustment_groups(
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
        late_groups = _quantities_of(rows)
        out.append(
            LateUsage(
                period_start=start,
                plan_version_id=version.id,
                plan=plan_from_json(version.spec_json),
                base=billable_quantities(base_groups),
                late=billable_quantities(late_groups),
                other_amount=other,
                adjusts_invoice=original.number if original else None,
                adjustment_ids=tuple(r.id for r in rows),
                first_hour=min(as_utc(r.hour_start) for r in rows),
                last_hour=max(as_utc(r.hour_start) for r in rows),
                late_measures={m: sum(getattr(r, m) for r in rows) for m in MEASURES},
            )
        )
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
    pending = repository.pending_adjustments(session, before=period.start, merchant_id=merchant_id)
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
            late = _late_usage(session, mid, pending[mid], invoice_id) if mid in pending else []
            lines = compose_invoice(
                version=version,
                plan=plan,
                groups=usage.get(mid, []),
                lift=lifts.get(mid),
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
