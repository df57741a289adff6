"""All SQL of the review queue. Functions flush, never commit: the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from billing.review.models import ReviewItem, ReviewStatus


def add_item(session: Session, item: ReviewItem) -> ReviewItem:
    session.add(item)
    session.flush()
    return item


def get_item(session: Session, item_id: str) -> ReviewItem | None:
    return session.get(ReviewItem, item_id)


def list_items(
    session: Session,
    *,
    status: ReviewStatus | None,
    merchant_id: str | None,
    after_id: str | None,
    limit: int,
) -> list[ReviewItem]:
    """Items in id order (ids sort by creation time), after `after_id` when given."""
    stmt = select(ReviewItem).order_by(ReviewItem.id).limit(limit)
    if status is not None:
        stmt = stmt.where(ReviewItem.status == status)
    if merchant_id is not None:
        stmt = stmt.where(ReviewItem.merchant_id == merchant_id)
    if after_id is not None:
        stmt = stmt.where(ReviewItem.id > after_id)
    return list(session.scalars(stmt))


def mark_decided(
    session: Session,
    item_id: str,
    *,
    status: ReviewStatus,
    decided_by: str,
    decided_at: datetime,
    note: str | None,
) -> bool:
    """Move a *pending* item to `status`; False when it was not pending (or does not exist).

    One conditional UPDATE: two reviewers deciding at once both run it, the database lets
    exactly one of them match the `pending` row, so a decision can never be overwritten.
    """
    stmt = (
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.status == ReviewStatus.PENDING)
        .values(status=status, decided_by=decided_by, decided_at=decided_at, note=note)
        .execution_options(synchronize_session=False)
    )
    result: CursorResult[tuple[()]] = session.execute(stmt)  # type: ignore[assignment]
    session.flush()
    return result.rowcount == 1
