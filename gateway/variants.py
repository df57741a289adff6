"""What a storefront shows a shopper, and the exposures that result.

This module composes attribution (experiments, the published hash, exposure checks) with
the gateway's descriptions table, so it lives in the gateway.

Treatment without a description: the arm is decided by the hash alone, before anyone
looks at whether the product has a generated description yet. When it has none, the
shopper is shown the original (`show: "original"`, with a `reason`), and the exposure is
still recorded in the treatment arm with `description_id` null. Dropping such exposures,
or moving them to the holdout, would make arm membership depend on description coverage
instead of the hash: the arms would stop being comparable and the sample-ratio check would
fail. Keeping them is the intention-to-treat analysis: it dilutes the measured lift toward
zero (conservative, so a merchant never pays for lift that coverage gaps could fake), and
the null `description_id` lets the analysis report how often treatment units really saw a
generated description.

Exposures recorded here carry no product `category`: the descriptions table keeps no
category, so the lift of these units is segmented by product. Storefronts that report their
own exposures (`POST /v1/exposures`) may send the category per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from attribution.assignment import Arm, assign_arm
from attribution.errors import Rejection, RowsRejected
from attribution.experiments import active_experiment
from attribution.exposures import check_exposures, mentioned
from attribution.models import Experiment, UnitType
from billing.review.models import ReviewItem, ReviewStatus
from gateway.models import Description
from liftmeter.errors import NotFound, ValidationFailed
from liftmeter.events import ExposureRecorded
from liftmeter.outbox import enqueue_events

NO_DESCRIPTION = (
    "no generated description that passed the risk screen for this product yet: showing the "
    "original; the exposure still counts for the treatment arm"
)
_CHUNK = 500


@dataclass(frozen=True)
class Variant:
    experiment: Experiment
    arm: Arm
    unit_id: str
    description: Description | None
    reason: str | None
    exposure: ExposureRecorded


def latest_description(session: Session, merchant_id: str, product_id: str) -> Description | None:
    """The newest description of a product that passed the risk screen.

    Outputs held for review are not shown to shoppers until a person clears them: a
    `review` description is released once its review item is approved; pending and
    rejected ones stay withheld.
    """
    approved = (
        select(ReviewItem.id)
        .where(
            ReviewItem.description_id == Description.id,
            ReviewItem.status == ReviewStatus.APPROVED,
        )
        .exists()
    )
    released = or_(
        Description.risk_verdict == "pass",
        and_(Description.risk_verdict == "review", approved),
    )
    stmt = (
        select(Description)
        .where(
            Description.merchant_id == merchant_id,
            Description.product_id == product_id,
            released,
        )
        .order_by(Description.created_at.desc(), Description.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def _unit_of(experiment: Experiment, product_id: str, visitor_id: str | None) -> str:
    if experiment.unit_type == UnitType.PRODUCT:
        return product_id
    if not visitor_id:
        raise ValidationFailed(
            "the active experiment randomizes visitors: send visitor_id", param="visitor_id"
        )
    return visitor_id


def choose_variant(
    session: Session,
    *,
    merchant_id: str,
    product_id: str,
    visitor_id: str | None,
    now: datetime | None = None,
) -> Variant:
    """Assign the unit, pick what to show, and record the exposure in the outbox."""
    now = now or datetime.now(UTC)
    experiment = active_experiment(session, merchant_id, now)
    if experiment is None:
        raise NotFound("the merchant has no active experiment", code="no_active_experiment")
    unit_id = _unit_of(experiment, product_id, visitor_id)
    arm = assign_arm(
        merchant_id=merchant_id,
        experiment_id=experiment.id,
        unit_id=unit_id,
        holdout_share=float(experiment.holdout_share),
    )
    description = None
    if arm == Arm.TREATMENT:
        description = latest_description(session, merchant_id, product_id)
    exposure = ExposureRecorded(
        merchant_id=merchant_id,
        occurred_at=now,
        experiment_id=experiment.id,
        unit_type="product" if experiment.unit_type == "product" else "visitor",
        unit_id=unit_id,
        product_id=product_id,
        arm=arm.value,
        description_id=description.id if description else None,
    )
    enqueue_events(session, [exposure])
    reason = NO_DESCRIPTION if arm == Arm.TREATMENT and description is None else None
    return Variant(experiment, arm, unit_id, description, reason, exposure)


def _merchant_experiments(
    session: Session, merchant_id: str, ids: set[str]
) -> dict[str, Experiment]:
    found: dict[str, Experiment] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        stmt = select(Experiment).where(
            Experiment.merchant_id == merchant_id,
            Experiment.id.in_(ordered[start : start + _CHUNK]),
        )
        found.update((e.id, e) for e in session.scalars(stmt))
    return found


def _merchant_descriptions(session: Session, merchant_id: str, ids: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        stmt = select(Description.id).where(
            Description.merchant_id == merchant_id,
            Description.id.in_(ordered[start : start + _CHUNK]),
        )
        found.update(session.scalars(stmt))
    return found


@dataclass(frozen=True)
class ExposureIntake:
    accepted: int
    rejected: list[Rejection]
    total: int


def record_exposures(
    session: Session,
    raw_rows: Sequence[Any],
    *,
    merchant_id: str,
    best_effort: bool,
    now: datetime | None = None,
) -> ExposureIntake:
    """Check a storefront's batch; record the accepted rows through the outbox.

    All or nothing unless `best_effort`: with any rejected row and `best_effort` false,
    `RowsRejected` is raised before anything is written.
    """
    now = now or datetime.now(UTC)
    checked = check_exposures(
        raw_rows,
        merchant_id=merchant_id,
        experiments=_merchant_experiments(
            session, merchant_id, mentioned(raw_rows, "experiment_id")
        ),
        description_ids=_merchant_descriptions(
            session, merchant_id, mentioned(raw_rows, "description_id")
        ),
        now=now,
    )
    if checked.rejected and not best_effort:
        raise RowsRejected(
            checked.rejected, total=len(raw_rows), position_name="index", max_listed=1000
        )
    enqueue_events(session, checked.accepted)
    return ExposureIntake(len(checked.accepted), checked.rejected, len(raw_rows))
