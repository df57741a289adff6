"""SQL of review-verdict calls for the invoice run: their queue outcome and their tokens.

The usage ledger counts a call with risk verdict `review` in `usage_hourly` whatever a
reviewer later decides, so billing reads such calls from metering's raw rows
(`usage_calls`, one per event) joined on `call_id` with `review_items`, and groups them
per merchant × cache hit × review status *as of* the run (`decided_at <= as_of`; an item
decided later still counts as pending). Each read is one statement over every merchant of
the run (`review_groups`, `late_approved_reviews`); only merchants with late approvals cost
one more small query per late period (`settled_review_groups`).

`review_settlements` records which approved items a finalized invoice billed (its primary
key is the item id): an item is billed on exactly one finalized invoice. Functions flush
into the caller's transaction, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, insert, literal, select
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus, ReviewSettlement
from billing.review.models import ReviewItem, ReviewStatus
from metering.models import UsageCall
from metering.repository import as_utc, total

REVIEW_VERDICT = "review"
_UNBILLED_STATUSES = ("blocked", "failed")


@dataclass(frozen=True, slots=True)
class ReviewGroup:
    """Review-verdict calls of one merchant, review status (as of the run) and cache hit.

    `item_ids` lists the decided items (approved or rejected), sorted; pending ones are
    counted only. `unbilled_calls` are calls with status blocked or failed, which are never
    billed (the gateway records review calls as succeeded). For a late approval,
    `period_start` and `adjusts_invoice` name the closed period and its invoice number.
    """

    merchant_id: str
    status: ReviewStatus
    cache_hit: bool
    first_hour: datetime
    last_hour: datetime
    calls: int
    prompt_tokens: int
    completion_tokens: int
    unbilled_calls: int
    item_ids: tuple[str, ...]
    decided_from: datetime | None = None
    decided_to: datetime | None = None
    period_start: datetime | None = None
    adjusts_invoice: str | None = None


def _status_as_of(as_of: datetime) -> Any:
    decided = ReviewItem.decided_at <= as_of
    return case(
        (and_(decided, ReviewItem.status == ReviewStatus.APPROVED), literal("approved")),
        (and_(decided, ReviewItem.status == ReviewStatus.REJECTED), literal("rejected")),
        else_=literal("pending"),
    )


def _measures(src: Any) -> list[Any]:
    """Aggregates over a subquery of review calls (see `_calls`), one label each."""
    decided = src.c.status != "pending"
    return [
        func.min(src.c.hour_start).label("first_hour"),
        func.max(src.c.hour_start).label("last_hour"),
        func.count().label("calls"),
        total(src.c.prompt_tokens).label("prompt_tokens"),
        total(src.c.completion_tokens).label("completion_tokens"),
        total(case((src.c.call_status.in_(_UNBILLED_STATUSES), 1), else_=0)).label("unbilled"),
        func.aggregate_strings(case((decided, src.c.item_id)), ",").label("item_ids"),
        func.min(case((decided, src.c.decided_at))).label("decided_from"),
        func.max(case((decided, src.c.decided_at))).label("decided_to"),
    ]


def _calls(status: Any, *extra: Any) -> Select[Any]:
    """Review-verdict raw calls with their item: one row per call (a subquery's body).

    Grouping happens outside, on the computed `status` column: PostgreSQL would not match
    a GROUP BY on an expression holding a bound parameter against the same select item.
    """
    u = UsageCall.__table__.c
    return select(
        u.merchant_id,
        u.cache_hit,
        u.hour_start,
        u.prompt_tokens,
        u.completion_tokens,
        u.status.label("call_status"),
        ReviewItem.id.label("item_id"),
        ReviewItem.decided_at,
        status.label("status"),
        *extra,
    ).where(u.risk_verdict == REVIEW_VERDICT)


def _join_items(stmt: Select[Any], *, outer: bool) -> Select[Any]:
    u = UsageCall.__table__.c
    on = and_(ReviewItem.call_id == u.call_id, ReviewItem.merchant_id == u.merchant_id)
    return stmt.join_from(UsageCall, ReviewItem, on, isouter=outer)


def _ids(text: str | None) -> tuple[str, ...]:
    return tuple(sorted(text.split(","))) if text else ()


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _group(row: Any, **extra: Any) -> ReviewGroup:
    return ReviewGroup(
        merchant_id=row.merchant_id,
        status=ReviewStatus(row.status),
        cache_hit=bool(row.cache_hit),
        first_hour=as_utc(row.first_hour),
        last_hour=as_utc(row.last_hour),
        calls=int(row.calls),
        prompt_tokens=int(row.prompt_tokens),
        completion_tokens=int(row.completion_tokens),
        unbilled_calls=int(row.unbilled),
        item_ids=_ids(row.item_ids),
        decided_from=_maybe_utc(row.decided_from),
        decided_to=_maybe_utc(row.decided_to),
        **extra,
    )


def review_groups(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    merchant_id: str | None = None,
) -> dict[str, list[ReviewGroup]]:
    """The period's review calls per merchant × status as of `as_of` × cache hit.

    Only calls counted in the hourly ledger (`disposition = 'hourly'`), the same calls
    `usage_hourly` holds for [start, end); a call without a queue item counts as pending.
    One statement for every merchant.
    """
    u = UsageCall.__table__.c
    body = _join_items(_calls(_status_as_of(as_of)), outer=True).where(
        u.hour_start >= start, u.hour_start < end, u.disposition == "hourly"
    )
    if merchant_id is not None:
        body = body.where(u.merchant_id == merchant_id)
    src = body.subquery("review_calls")
    keys = [src.c.merchant_id, src.c.status, src.c.cache_hit]
    stmt = select(*keys, *_measures(src)).group_by(*keys).order_by(*keys)
    out: dict[str, list[ReviewGroup]] = {}
    for row in session.execute(stmt):
        out.setdefault(row.merchant_id, []).append(_group(row))
    return out


def late_approved_reviews(
    session: Session, *, before: datetime, as_of: datetime, merchant_id: str | None = None
) -> dict[str, list[ReviewGroup]]:
    """Approved items no finalized invoice billed yet, of periods already finalized.

    An item counts when it was approved by `as_of`, has no `review_settlements` row, and
    its call lies in a period before `before` whose invoice is not a draft (finalized, paid
    or void): the approval came after that invoice was computed for the last time. Grouped
    per merchant × period × cache hit; one statement for every merchant.
    """
    u = UsageCall.__table__.c
    inv = Invoice.__table__.c
    settled = ReviewSettlement.__table__.c
    body = (
        _join_items(
            _calls(_status_as_of(as_of), inv.period_start.label("period_start"), inv.number),
            outer=False,
        )
        .join(
            Invoice,
            and_(
                inv.merchant_id == u.merchant_id,
                inv.period_start <= u.hour_start,
                inv.period_end > u.hour_start,
                inv.status != InvoiceStatus.DRAFT,
            ),
        )
        .join(ReviewSettlement, settled.review_item_id == ReviewItem.id, isouter=True)
        .where(
            ReviewItem.status == ReviewStatus.APPROVED,
            ReviewItem.decided_at <= as_of,
            settled.review_item_id.is_(None),
            inv.period_start < before,
        )
    )
    if merchant_id is not None:
        body = body.where(u.merchant_id == merchant_id)
    src = body.subquery("late_reviews")
    keys = [src.c.merchant_id, src.c.period_start, src.c.number, src.c.status, src.c.cache_hit]
    stmt = select(*keys, *_measures(src)).group_by(*keys).order_by(*keys)
    out: dict[str, list[ReviewGroup]] = {}
    for row in session.execute(stmt):
        out.setdefault(row.merchant_id, []).append(
            _group(row, period_start=as_utc(row.period_start), adjusts_invoice=row.number)
        )
    return out


def settled_review_groups(
    session: Session, *, merchant_id: str, period_start: datetime, exclude_invoice: str
) -> list[ReviewGroup]:
    """Approved calls of a period that finalized invoices (other than one) already billed."""
    settled = ReviewSettlement.__table__.c
    body = (
        _join_items(_calls(literal("approved")), outer=False)
        .join(ReviewSettlement, settled.review_item_id == ReviewItem.id)
        .where(
            settled.merchant_id == merchant_id,
            settled.period_start == period_start,
            settled.invoice_id != exclude_invoice,
        )
    )
    src = body.subquery("settled_reviews")
    keys = [src.c.merchant_id, src.c.status, src.c.cache_hit]
    stmt = select(*keys, *_measures(src)).group_by(*keys).order_by(*keys)
    return [_group(row) for row in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class BilledReview:
    """One approved item an invoice bills, and the period its call belongs to."""

    review_item_id: str
    period_start: datetime


def settle_reviews(
    session: Session,
    billed: Iterable[BilledReview],
    *,
    invoice: Invoice,
    settled_at: datetime,
) -> int:
    """Record that the finalized `invoice` billed these approved items; return how many.

    One multi-row INSERT. The item id is the primary key: an item some invoice already
    settled makes the statement (and so the finalize) fail instead of billing it twice.
    """
    rows: Sequence[dict[str, Any]] = [
        {
            "review_item_id": b.review_item_id,
            "merchant_id": invoice.merchant_id,
            "period_start": b.period_start,
            "invoice_id": invoice.id,
            "settled_at": settled_at,
        }
        for b in sorted(set(billed), key=lambda b: b.review_item_id)
    ]
    if rows:
        session.execute(insert(ReviewSettlement), list(rows))
        session.flush()
    return len(rows)
