"""Review queue page: outputs the risk screen sent to a person, and their decisions.

- `GET /dashboard/review?status=pending&merchant_id=…&cursor=…`: items oldest first (100 a
  page), each with its text, risk score and reasons; pending ones with an approve / reject
  form (a rejection needs a note).
- `POST /dashboard/review/{item_id}/decision` (`decision`, `note`, CSRF token):
  `billing.review.service.decide_review` in its own transaction, so the rules, the error
  codes and the audit row are the API's. A refusal (no note on a rejection, an item someone
  else decided meanwhile) re-renders the queue with the message and the error's status.

Who: staff keys with `review`, `finance` or `admin` (no merchant). Merchants do not decide
their own outputs, and the page is not theirs (403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from billing.review.errors import ReviewItemNotFound
from billing.review.models import ReviewStatus
from billing.review.service import decide_review, list_review_items
from billing.risk.schemas import ReviewOutcome
from dashboards.auth import CsrfViewerDep, Viewer, ViewerDep
from dashboards.errors import BadPageParameter, PageForbidden, PageNotFound, refusal_status
from dashboards.nav import PREFIX, NavItem
from dashboards.templating import merchant_picker, render
from liftmeter.errors import LiftmeterError
from liftmeter.web import db_session, sessions

router = APIRouter(prefix=PREFIX)
NAV = NavItem("Review", "/dashboard/review", lambda viewer: viewer.is_reviewer)
PAGE_SIZE = 100
DONE = {"approve": "Approved: the description is released.", "reject": "Rejected: withheld."}


def _require_reviewer(viewer: Viewer) -> None:
    if not viewer.is_reviewer:
        raise PageForbidden("the review queue needs a staff key with the 'review' scope")


def _status(raw: str | None) -> ReviewStatus | None:
    if raw is None:
        return ReviewStatus.PENDING
    if raw == "":
        return None  # any status
    if raw not in set(ReviewStatus):
        raise BadPageParameter("must be pending, approved or rejected", param="status")
    return ReviewStatus(raw)


def _queue_response(
    request: Request,
    viewer: Viewer,
    session: Session,
    *,
    status: ReviewStatus | None,
    merchant_id: str | None,
    cursor: str | None = None,
    done: str | None = None,
    error: LiftmeterError | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    items, next_cursor = list_review_items(
        session, status=status, merchant_id=merchant_id, cursor=cursor, limit=PAGE_SIZE
    )
    return render(
        request,
        "review.html",
        viewer=viewer,
        title="Review queue",
        picker=merchant_picker(session, viewer, merchant_id),
        items=items,
        next_cursor=next_cursor,
        status="" if status is None else status.value,
        statuses=[s.value for s in ReviewStatus],
        merchant_id=merchant_id or "",
        done=DONE.get(done or ""),
        error=error,
        form=form or {},
        status_code=refusal_status(error) if error is not None else 200,
    )


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    viewer: ViewerDep,
    session: Annotated[Session, Depends(db_session)],
    status: str | None = None,
    merchant_id: str | None = None,
    cursor: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    _require_reviewer(viewer)
    return _queue_response(
        request,
        viewer,
        session,
        status=_status(status),
        merchant_id=merchant_id or None,
        cursor=cursor or None,
        done=done,
    )


@router.post("/review/{item_id}/decision")
def decide(
    request: Request,
    item_id: str,
    viewer: CsrfViewerDep,
    factory: Annotated[sessionmaker[Session], Depends(sessions)],
    decision: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _require_reviewer(viewer)
    try:
        outcome = ReviewOutcome(decision)
    except ValueError:
        raise BadPageParameter("must be approve or reject", param="decision") from None
    try:
        with factory.begin() as session:
            decide_review(
                session, item_id, outcome=outcome, actor=viewer.principal.key_id, note=note
            )
    except ReviewItemNotFound:
        raise PageNotFound("no such review item") from None
    except LiftmeterError as error:
        with factory() as session:
            return _queue_response(
                request,
                viewer,
                session,
                status=ReviewStatus.PENDING,
                merchant_id=None,
                error=error,
                form={"item_id": item_id, "note": note},
            )
    return RedirectResponse(f"{PREFIX}/review?done={outcome.value}", status_code=303)
