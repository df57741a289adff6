"""The rules of attribution intake: which exposure and conversion events count, and where.

`record_events` is the `attribution` consumer handler's body. In the caller's transaction
(the consumer batch's, which also claims the event ids) it

1. rejects what must not count, with a reason naming the field, so the runner
   dead-letters it and goes on: an unknown merchant; an exposure of an unknown experiment
   (or another merchant's), of the wrong unit type, or outside the experiment's window
   [starts_at, ends_at); a conversion in another currency than the merchant's, or one
   that happened before the merchant's first experiment started (no unit can have been
   exposed yet, and intake never back-fills history); anything more than a day ahead;
2. inserts raw exposures keyed by event id (`ON CONFLICT DO NOTHING`) and merges only
   the rows actually inserted into the per-unit state (`experiment_units`: earliest
   exposure, its arm, product and category, a flag for units seen in both arms);
3. inserts conversions, skipping a stored event id or a stored (merchant, order id, kind).

Every write is an insert-ignore or a commutative merge, so redelivery, a crash between
the database commit and the offset commit, and a replay from offset 0 change nothing.

`conversion_touches` is the lineage read side: which description a converting shopper
saw (never used for billing; billing uses the randomized lift only).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from attribution import repository
from attribution.models import Experiment
from liftmeter.consumer import Rejection
from liftmeter.events import ConversionRecorded, Event, ExposureRecorded
from liftmeter.money import parse_amount

MAX_AHEAD = timedelta(days=1)


def _exposure_problem(
    event: ExposureRecorded, experiment: Experiment | None, now: datetime
) -> str | None:
    if experiment is None or experiment.merchant_id != event.merchant_id:
        return f"experiment_id: unknown experiment {event.experiment_id!r}"
    if event.unit_type != experiment.unit_type:
        return f"unit_type: the experiment randomizes by {experiment.unit_type}"
    start = repository.as_utc(experiment.starts_at)
    if event.occurred_at < start:
        return f"occurred_at: {event.occurred_at.isoformat()} is before the experiment started"
    if experiment.ends_at is not None and event.occurred_at >= repository.as_utc(
        experiment.ends_at
    ):
        return f"occurred_at: {event.occurred_at.isoformat()} is after the experiment ended"
    if event.occurred_at > now + MAX_AHEAD:
        return f"occurred_at: {event.occurred_at.isoformat()} is more than a day in the future"
    return None


def _conversion_problem(
    event: ConversionRecorded, currency: str, first_start: datetime | None, now: datetime
) -> str | None:
    if event.currency != currency:
        return f"currency: {event.currency} is not the merchant's currency {currency}"
    if first_start is None:
        return "merchant_id: the merchant has no experiment; nothing to attribute to"
    if event.occurred_at < first_start:
        return (
            f"occurred_at: {event.occurred_at.isoformat()} is before the merchant's first "
            f"experiment started ({first_start.isoformat()})"
        )
    if event.occurred_at > now + MAX_AHEAD:
        return f"occurred_at: {event.occurred_at.isoformat()} is more than a day in the future"
    return None


def _sort(
    session: Session, events: Sequence[Event], now: datetime
) -> tuple[list[ExposureRecorded], list[ConversionRecorded], list[Rejection]]:
    """Split fresh events into accepted exposures, accepted conversions and rejections."""
    currencies = repository.merchant_currencies(session, {e.merchant_id for e in events})
    experiments = repository.experiments_by_id(
        session, {e.experiment_id for e in events if isinstance(e, ExposureRecorded)}
    )
    starts = repository.first_experiment_starts(
        session, {e.merchant_id for e in events if isinstance(e, ConversionRecorded)}
    )
    exposures: list[ExposureRecorded] = []
    conversions: list[ConversionRecorded] = []
    rejections: list[Rejection] = []
    seen: set[uuid.UUID] = set()
    for event in events:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        problem: str | None
        if event.merchant_id not in currencies:
            problem = f"merchant_id: unknown merchant {event.merchant_id!r}"
        elif isinstance(event, ExposureRecorded):
            problem = _exposure_problem(event, experiments.get(event.experiment_id), now)
            if problem is None:
                exposures.append(event)
        elif isinstance(event, ConversionRecorded):
            currency = currencies[event.merchant_id]
            problem = _conversion_problem(event, currency, starts.get(event.merchant_id), now)
            if problem is None:
                conversions.append(event)
        else:
            problem = f"not an attribution event: {event.event_type}"
        if problem is not None:
            rejections.append(Rejection(event.event_id, problem))
    return exposures, conversions, rejections


def _exposure_row(event: ExposureRecorded, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "merchant_id": event.merchant_id,
        "experiment_id": event.experiment_id,
        "unit_type": event.unit_type,
        "unit_id": event.unit_id,
        "product_id": event.product_id,
        "arm": event.arm,
        "description_id": event.description_id,
        "category": event.category,
        "occurred_at": event.occurred_at,
        "recorded_at": now,
    }


def unit_rows(exposures: Sequence[ExposureRecorded]) -> list[dict[str, Any]]:
    """One per-unit row per (experiment, unit): the earliest exposure, arms seen merged."""
    units: dict[tuple[str, str], dict[str, Any]] = {}
    for event in exposures:
        key = (event.experiment_id, event.unit_id)
        row = units.get(key)
        if row is None:
            units[key] = {
                "experiment_id": event.experiment_id,
                "unit_id": event.unit_id,
                "merchant_id": event.merchant_id,
                "arm": event.arm,
                "product_id": event.product_id,
                "category": event.category,
                "first_exposed_at": event.occurred_at,
                "multiple_arms": False,
            }
            continue
        row["multiple_arms"] = row["multiple_arms"] or row["arm"] != event.arm
        if event.occurred_at < row["first_exposed_at"]:
            row.update(
                arm=event.arm,
                product_id=event.product_id,
                category=event.category,
                first_exposed_at=event.occurred_at,
            )
    return list(units.values())


def _conversion_row(event: ConversionRecorded, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "merchant_id": event.merchant_id,
        "kind": event.kind,
        "visitor_id": event.visitor_id,
        "product_id": event.product_id,
        "order_id": event.order_id,
        "revenue": parse_amount(event.revenue, param="revenue"),
        "currency": event.currency,
        "description_id": event.description_id,
        "occurred_at": event.occurred_at,
        "recorded_at": now,
    }


def record_events(
    session: Session, events: Sequence[Event], *, now: datetime | None = None
) -> list[Rejection]:
    """Store exposures and conversions exactly once; return the events that must not count.

    Flushes, never commits: the caller's transaction (one consumer batch) makes it durable.
    """
    now = now or datetime.now(UTC)
    exposures, conversions, rejections = _sort(session, events, now)
    inserted = repository.insert_exposures(session, [_exposure_row(e, now) for e in exposures])
    repository.upsert_units(session, unit_rows([e for e in exposures if e.event_id in inserted]))
    repository.insert_conversions(session, [_conversion_row(e, now) for e in conversions])
    return rejections


def conversion_touches(
    session: Session, *, merchant_id: str, start: datetime, end: datetime, window_days: int
) -> list[tuple[uuid.UUID, str | None, str]]:
    """Lineage of conversions in [start, end): (event id, description id, direct|last_touch)."""
    return repository.touch_links(
        session, merchant_id=merchant_id, start=start, end=end, window_days=window_days
    )
