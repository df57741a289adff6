"""Wire types of the review queue: items out, a decision in, a page of items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from billing.review.models import ReviewItem, ReviewStatus
from billing.risk.schemas import ReviewOutcome

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC datetimes; the wire always carries an offset."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class ReviewItemOut(BaseModel):
    """One queued output and, once decided, who decided what, when and why."""

    id: str
    call_id: str
    description_id: str
    merchant_id: str
    product_id: str
    text: str
    category: str | None
    score: float
    reasons: list[str]
    model_version: str
    status: ReviewStatus
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime | None

    @classmethod
    def of(cls, item: ReviewItem) -> ReviewItemOut:
        return cls(
            id=item.id,
            call_id=item.call_id,
            description_id=item.description_id,
            merchant_id=item.merchant_id,
            product_id=item.product_id,
            text=item.text,
            category=item.category,
            score=item.score,
            reasons=item.reason_list,
            model_version=item.model_version,
            status=ReviewStatus(item.status),
            decided_by=item.decided_by,
            decided_at=_aware(item.decided_at),
            note=item.note,
            created_at=_aware(item.created_at),
        )


class ReviewDecisionIn(BaseModel):
    """`decision` approve or reject; `note` is required (non-blank) when rejecting."""

    model_config = ConfigDict(extra="forbid")

    decision: ReviewOutcome
    note: Note | None = None


class ReviewPage(BaseModel):
    """Items oldest first; pass `next_cursor` as `cursor` for the next page (null: no more)."""

    items: list[ReviewItemOut]
    next_cursor: str | None = Field(default=None)
