"""The lift read API, an `APIRouter` the gateway mounts: `GET /v1/lift`.

Query parameters: `from`, `to` (ISO 8601 with a timezone; results whose period lies in
[from, to)), optional `experiment_id`, and for finance/admin keys an optional
`merchant_id`. A merchant key sees only its own results: another merchant's experiment id
is a 404 exactly like an unknown one (never a 403 that would confirm the id). Finance and
admin keys see every merchant. The response holds the newest stored result per
(experiment, period) with its statistics. Bad parameters raise `ValidationFailed` naming
the parameter; the gateway maps errors to HTTP statuses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from attribution.compute import latest_results
from attribution.experiments import get_experiment
from attribution.schemas import LiftPage, LiftResultOut
from liftmeter.errors import ValidationFailed
from liftmeter.web import Principal, Scope, db_session, require

router = APIRouter(prefix="/v1", tags=["lift"])
MAX_ID = 64


def _parse_time(value: str | None, param: str) -> datetime:
    if not value:
        raise ValidationFailed("is required (ISO 8601 with a timezone)", param=param)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"not an ISO 8601 time: {value!r}", param=param) from None
    if moment.tzinfo is None:
        raise ValidationFailed("needs a timezone (e.g. Z or +00:00)", param=param)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(f"out of range: {value!r}", param=param) from None


def _check_id(value: str | None, param: str) -> str | None:
    if value is not None and not 1 <= len(value) <= MAX_ID:
        raise ValidationFailed(f"must be 1 to {MAX_ID} characters", param=param)
    return value


@router.get("/lift", response_model=LiftPage, summary="Stored lift results with statistics")
def get_lift(
    principal: Annotated[Principal, Depends(require(Scope.USAGE_READ))],
    session: Annotated[Session, Depends(db_session)],
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    experiment_id: str | None = None,
    merchant_id: str | None = None,
) -> LiftPage:
    """The newest result per (experiment, period) whose period lies in [from, to)."""
    begin, finish = _parse_time(start, "from"), _parse_time(end, "to")
    if finish <= begin:
        raise ValidationFailed("must be after 'from'", param="to")
    merchant = principal.merchant_scope(_check_id(merchant_id, "merchant_id"))
    experiment = _check_id(experiment_id, "experiment_id")
    if experiment is not None:
        get_experiment(session, experiment, merchant_id=merchant)  # 404 for other tenants
    rows = latest_results(
        session, merchant_id=merchant, experiment_id=experiment, start=begin, end=finish
    )
    return LiftPage(data=[LiftResultOut.from_row(row) for row in rows])
