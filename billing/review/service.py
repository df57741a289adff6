"""The rules of the review queue: enqueue an output, list and read items, decide once.

- `enqueue_review` runs inside the caller's transaction (the gateway's call-completion
  transaction), so a call with a `review` verdict and its queue item commit together.
- `decide_review` approves or rejects a pending item and writes its audit row in the same
  transaction; a decided item is final (`ReviewAlreadyDecided`). A rejection needs a note.
- Reads take `merchant_id`: a merchant's scope sees only its own items; another
  merchant's item is reported as not found, so ids of other tenants are never confirmed.

Services flush, callers commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from billing.review import repository
from billing.review.errors import ReviewAlreadyDecided, ReviewItemNotFound, ReviewNoteRequired
from billing.review.models import ReviewItem, ReviewStatus
from billing.risk.schemas import ReviewOutcome
from liftmeter.audit import record_audit
from liftmeter.errors import ValidationFailed
from liftmeter.ids import new_id

AUDIT_SUBJECT = "review_item"
MAX_PAGE = 500
_STATUS_OF = {
    ReviewOutcome.APPROVE: ReviewStatus.APPROVED,
    ReviewOutcome.REJECT: ReviewStatus.REJECTED,
}


def enqueue_review(
    session: Session,
    *,
    call_id: str,
    description_id: str,
    merchant_id: str,
    product_id: str,
    text: str,
    category: str | None,
    score: float,
    reasons: Sequence[str],
    model_version: str,
    item_id: str | None = None,
) -> ReviewItem:
    """Queue one output for a person (flushed in the caller's transaction).

    `item_id` lets the caller name the item before the transaction (the gateway puts it in
    the stored response); by default a new `rev_` id.
    """
    item = ReviewItem(
        id=item_id or new_id("rev"),
        call_id=call_id,
        description_id=description_id,
        merchant_id=merchant_id,
        product_id=product_id,
        text=text,
        category=category,
        score=score,
        reasons=",".join(reasons)[:1000],
        model_version=model_version,
        status=ReviewStatus.PENDING,
        created_at=datetime.now(UTC),
    )
    return repository.add_item(session, item)


def get_review_item(session: Session, item_id: str, *, merchant_id: str | None) -> ReviewItem:
    """One item; `merchant_id` (a merchant's own scope) hides other merchants' items."""
    item = repository.get_item(session, item_id)
    if item is None or (merchant_id is not None and item.merchant_id != merchant_id):
        raise ReviewItemNotFound("no such review item", param="item_id")
    return item


def list_review_items(
    session: Session,
    *,
    status: ReviewStatus | None = None,
    merchant_id: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[ReviewItem], str | None]:
    """A page of items oldest first and the cursor of the next page (None at the end)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}", param="limit")
    items = repository.list_items(
        session, status=status, merchant_id=merchant_id, after_id=cursor, limit=limit + 1
    )
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].id if more else None)


def _checked_note(outcome: ReviewOutcome, note: str | None) -> str | None:
    cleaned = note.strip() if note is not None else None
    if outcome is ReviewOutcome.REJECT and not cleaned:
        raise ReviewNoteRequired("a rejection needs a note saying why", param="note")
    return cleaned or None


def decide_review(
    session: Session,
    item_id: str,
    *,
    outcome: ReviewOutcome,
    actor: str,
    note: str | None = None,
    merchant_id: str | None = None,
) -> ReviewItem:
    """Approve or reject a pending item and audit-log it, in the caller's transaction.

    Approve releases the description (shown to shoppers, billed as good work); reject keeps
    it withheld (credited). Raises `ReviewNoteRequired`, `ReviewItemNotFound` or
    `ReviewAlreadyDecided`; nothing is written when it raises.
    """
    checked = _checked_note(outcome, note)
    item = get_review_item(session, item_id, merchant_id=merchant_id)
    status = _STATUS_OF[outcome]
    decided_at = datetime.now(UTC)
    if not repository.mark_decided(
        session, item.id, status=status, decided_by=actor, decided_at=decided_at, note=checked
    ):
        session.refresh(item)
        raise ReviewAlreadyDecided(
            f"review item {item.id} was already {item.status} by {item.decided_by}",
            param="item_id",
        )
    record_audit(
        session,
        actor=actor,
        action=f"review.{outcome.value}",
        subject_type=AUDIT_SUBJECT,
        subject_id=item.id,
        merchant_id=item.merchant_id,
        reason=checked,
        details={
            "call_id": item.call_id,
            "description_id": item.description_id,
            "score": item.score,
            "reasons": item.reason_list,
            "model_version": item.model_version,
            "status": status.value,
        },
    )
    session.refresh(item)
    return item
