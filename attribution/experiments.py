"""Holdout experiments: create, read, stop, and find the one running for a merchant.

Rules:
- `holdout_share` is strictly between 0 and 1 with at most four decimals (the published hash
  resolves shares to 1/10000, so a finer share would be silently rounded by every storefront).
- At most one experiment per merchant is active at a time; creating a second one is a
  `Conflict`. An active experiment whose window has already ended is stopped on the way.
- `starts_at` defaults to now and may not lie in the past (beyond a small clock skew): units
  could not have been assigned by a hash seeded with an id that did not exist yet.
- Product-level experiments are allowed, with a warning: treated products can take sales from
  held-out products of the same store (interference), which inflates measured lift.
- Reads check the tenant: another merchant's experiment is `NotFound`, never "forbidden".

Services flush, never commit; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attribution.models import Experiment, ExperimentStatus, UnitType
from liftmeter.errors import Conflict, NotFound, ValidationFailed
from liftmeter.ids import new_id
from liftmeter.models import Merchant

CLOCK_SKEW = timedelta(minutes=5)
SHARE_DECIMALS = 4
PRODUCT_LEVEL_WARNING = (
    "product-level holdouts let treated products take sales from held-out ones (shoppers "
    "substitute between products of one store), which can inflate the measured lift; prefer "
    "unit_type 'visitor' when the storefront has visitor ids"
)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; naive values (SQLite drops the offset) are read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class CreatedExperiment:
    experiment: Experiment
    warnings: list[str]


def warnings_of(experiment: Experiment) -> list[str]:
    """Caveats shown with an experiment (product-level interference)."""
    return [PRODUCT_LEVEL_WARNING] if experiment.unit_type == UnitType.PRODUCT else []


def check_holdout_share(value: Decimal | str | float) -> Decimal:
    """The share as a Decimal in (0, 1) with at most four decimals, else `ValidationFailed`."""
    try:
        share = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed("must be a number", param="holdout_share") from None
    if not share.is_finite() or not Decimal(0) < share < Decimal(1):
        raise ValidationFailed("must be strictly between 0 and 1", param="holdout_share")
    if share != share.quantize(Decimal(1).scaleb(-SHARE_DECIMALS)):
        raise ValidationFailed(
            "at most 4 decimals: the assignment hash resolves shares to 1/10000",
            param="holdout_share",
        )
    return share


def _check_window(
    starts_at: datetime, ends_at: datetime | None, now: datetime
) -> tuple[datetime, datetime | None]:
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed("must carry a timezone offset", param=name)
    starts_at = as_utc(starts_at)
    if starts_at < now - CLOCK_SKEW:
        raise ValidationFailed("must not be in the past", param="starts_at")
    if ends_at is not None:
        ends_at = as_utc(ends_at)
        if ends_at <= starts_at:
            raise ValidationFailed("must be after starts_at", param="ends_at")
    return starts_at, ends_at


def create_experiment(
    session: Session,
    *,
    merchant_id: str,
    name: str,
    holdout_share: Decimal | str | float,
    unit_type: str = UnitType.VISITOR,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    now: datetime | None = None,
    experiment_id: str | None = None,
) -> CreatedExperiment:
    """Create the merchant's active experiment; `Conflict` if one is already active.

    The id is generated unless given (a reproducible setup such as the demo's: the id seeds
    the assignment hash); a given id that exists is a `Conflict`.
    """
    now = as_utc(now or datetime.now(UTC))
    share = check_holdout_share(holdout_share)
    try:
        unit = UnitType(unit_type)
    except ValueError:
        raise ValidationFailed("must be 'visitor' or 'product'", param="unit_type") from None
    start, end = _check_window(starts_at or now, ends_at, now)
    if session.get(Merchant, merchant_id) is None:
        raise NotFound("no such merchant", param="merchant_id")
    _stop_ended(session, merchant_id, now)
    if experiment_id is not None and session.get(Experiment, experiment_id) is not None:
        raise Conflict(f"experiment {experiment_id} exists", param="experiment_id")
    running = _active_row(session, merchant_id)
    if running is not None:
        raise Conflict(
            f"experiment {running.id} is already active; stop it first", param="experiment_id"
        )
    experiment = Experiment(
        id=experiment_id or new_id("exp"),
        merchant_id=merchant_id,
        name=name,
        holdout_share=share,
        unit_type=unit,
        starts_at=start,
        ends_at=end,
        status=ExperimentStatus.ACTIVE,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(experiment)
            session.flush()
    except IntegrityError:  # a concurrent create won the partial unique index
        raise Conflict("another experiment is already active", param="experiment_id") from None
    return CreatedExperiment(experiment, warnings_of(experiment))


def _active_row(session: Session, merchant_id: str) -> Experiment | None:
    stmt = select(Experiment).where(
        Experiment.merchant_id == merchant_id, Experiment.status == ExperimentStatus.ACTIVE
    )
    return session.scalars(stmt).first()


def _stop_ended(session: Session, merchant_id: str, now: datetime) -> None:
    row = _active_row(session, merchant_id)
    if row is not None and row.ends_at is not None and as_utc(row.ends_at) <= now:
        row.status = ExperimentStatus.STOPPED
        session.flush()


def list_experiments(session: Session, *, merchant_id: str | None) -> list[Experiment]:
    """Experiments of one merchant (or of all, for staff), newest first."""
    stmt = select(Experiment).order_by(Experiment.created_at.desc(), Experiment.id.desc())
    if merchant_id is not None:
        stmt = stmt.where(Experiment.merchant_id == merchant_id)
    return list(session.scalars(stmt))


def get_experiment(session: Session, experiment_id: str, *, merchant_id: str | None) -> Experiment:
    """The experiment if it belongs to `merchant_id` (None: any merchant), else `NotFound`."""
    experiment = session.get(Experiment, experiment_id)
    if experiment is None or (merchant_id is not None and experiment.merchant_id != merchant_id):
        raise NotFound("no such experiment", param="experiment_id")
    return experiment


def stop_experiment(
    session: Session, experiment_id: str, *, merchant_id: str | None, now: datetime | None = None
) -> Experiment:
    """Stop an experiment (idempotent): its window closes now unless it already ended."""
    now = as_utc(now or datetime.now(UTC))
    experiment = get_experiment(session, experiment_id, merchant_id=merchant_id)
    if experiment.status == ExperimentStatus.ACTIVE:
        experiment.status = ExperimentStatus.STOPPED
        if experiment.ends_at is None or as_utc(experiment.ends_at) > now:
            experiment.ends_at = max(now, as_utc(experiment.starts_at))
        session.flush()
    return experiment


def active_experiment(session: Session, merchant_id: str, at: datetime) -> Experiment | None:
    """The experiment running for `merchant_id` at `at` (active, and `at` inside its window)."""
    at = as_utc(at)
    stmt = select(Experiment).where(
        Experiment.merchant_id == merchant_id,
        Experiment.status == ExperimentStatus.ACTIVE,
        Experiment.starts_at <= at,
        or_(Experiment.ends_at.is_(None), Experiment.ends_at > at),
    )
    return session.scalars(stmt).first()


def window_of(experiment: Experiment) -> tuple[datetime, datetime | None]:
    """[starts_at, ends_at) in UTC."""
    end = experiment.ends_at
    return as_utc(experiment.starts_at), as_utc(end) if end is not None else None
