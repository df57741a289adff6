"""The review queue API, an `APIRouter` the gateway mounts under `/v1/review-items`.

- `GET /v1/review-items` — a page of items oldest first; filters `status`
  (pending/approved/rejected), `merchant_id`, `limit` (1–500, default 100), `cursor`.
- `GET /v1/review-items/{item_id}` — one item.
- `POST /v1/review-items/{item_id}/decision` — `{"decision": "approve"|"reject", "note"}`;
  a rejection needs a note (400 `review_note_required`); a decided item is a 409
  `review_already_decided`. The audit row is written in the decision's transaction.

Who: staff keys with `review` (or `finance`, or `admin`) see and decide every merchant's
items; a merchant key with `descriptions:write` reads only its own outputs' items (another
merchant's item, or filter, is a 404) and cannot decide. Routes only translate.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session, sessionmaker

from billing.review.models import ReviewStatus
from billing.review.schemas import ReviewDecisionIn, ReviewItemOut, ReviewPage
from billing.review.service import MAX_PAGE, decide_review, get_review_item, list_review_items
from liftmeter.errors import Forbidden
from liftmeter.web import Principal, Scope, current_principal, db_session, require, sessions

router = APIRouter(prefix="/v1/review-items", tags=["review"])


def review_reader(request: Request) -> Principal:
    """Reviewers (and finance, admin) or a merchant key that generates descriptions."""
    principal = current_principal(request)
    if principal.has(Scope.REVIEW):
        return principal
    if principal.merchant_id is not None and principal.has(Scope.DESCRIPTIONS_WRITE):
        return principal
    raise Forbidden("this key lacks the 'review' scope")


def review_decider(
    principal: Annotated[Principal, Depends(require(Scope.REVIEW))],
) -> Principal:
    """Only staff decide: a merchant never approves its own outputs."""
    if principal.merchant_id is not None:
        raise Forbidden("review decisions need a staff key with the 'review' scope")
    return principal


def _merchant_filter(caller: Principal, requested: str | None) -> str | None:
    """Staff reviewers see every merchant (or the one they name); a merchant only itself.

    Review keys are staff only here: `Principal.is_staff` stays finance/admin so a review
    key reads no other merchant data (usage, invoices, dashboards).
    """
    if caller.merchant_id is None and caller.has(Scope.REVIEW):
        return requested
    return caller.merchant_scope(requested)


Reader = Annotated[Principal, Depends(review_reader)]
Decider = Annotated[Principal, Depends(review_decider)]
ReadSession = Annotated[Session, Depends(db_session)]
Sessions = Annotated[sessionmaker[Session], Depends(sessions)]


@router.get("", response_model=ReviewPage, summary="List the review queue")
def list_items(
    caller: Reader,
    session: ReadSession,
    status: ReviewStatus | None = None,
    merchant_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ReviewPage:
    scope = _merchant_filter(caller, merchant_id)
    items, next_cursor = list_review_items(
        session, status=status, merchant_id=scope, cursor=cursor, limit=limit
    )
    return ReviewPage(items=[ReviewItemOut.of(i) for i in items], next_cursor=next_cursor)


@router.get("/{item_id}", response_model=ReviewItemOut, summary="Read one review item")
def get_item(item_id: str, caller: Reader, session: ReadSession) -> ReviewItemOut:
    scope = _merchant_filter(caller, None)
    return ReviewItemOut.of(get_review_item(session, item_id, merchant_id=scope))


@router.post(
    "/{item_id}/decision",
    response_model=ReviewItemOut,
    summary="Approve or reject a pending review item",
    responses={
        404: {"description": "No such review item"},
        409: {"description": "Already decided (code review_already_decided)"},
        400: {"description": "A rejection without a note (code review_note_required)"},
    },
)
def decide(
    item_id: str, body: ReviewDecisionIn, caller: Decider, factory: Sessions
) -> ReviewItemOut:
    with factory.begin() as session:
        item = decide_review(
            session, item_id, outcome=body.decision, actor=caller.key_id, note=body.note
        )
        return ReviewItemOut.of(item)
