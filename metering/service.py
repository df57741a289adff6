"""The rules of metering: which call events count, where, and how they add up.

`record_calls` is the consumer handler's body. In the caller's transaction (the consumer
batch's, which also claims the event ids) it

1. rejects what must not be counted (unknown merchant, a time before 2020 or more than a
   day ahead, an event that is not a call), so the runner dead-letters it with the reason;
2. sends calls whose hour lies in a closed period to `usage_adjustments`, the rest to the
   hourly ledger (a late event lands in the hour it happened);
3. inserts the raw rows in one statement (`ON CONFLICT (event_id) DO NOTHING RETURNING`) and
   adds to the aggregates and adjustments only the rows actually inserted. On PostgreSQL
   that is one COPY and one statement per batch (`repository.ingest_calls`: hours, closed
   periods and sums computed by the database); on SQLite the rows are classified and
   summed in Python per (merchant, hour, dimensions), then one upsert.

The raw rows are unique on `event_id`, so the metering consumer needs no separate claim of
the event ids: `ingest_calls` reports how many events were repeats.

Nothing is half-applied: a failure rolls back the whole batch with its claims.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from liftmeter.consumer import Applied, Rejection, claimed_event_ids
from liftmeter.db import is_postgres
from liftmeter.errors import Conflict, ValidationFailed
from liftmeter.events import CallCompleted, CallCompletedStruct, Event, as_call_struct
from metering import repository
from metering.models import MEASURES, METER_DESCRIPTIONS, ClosedPeriod, Disposition

EARLIEST_OCCURRED_AT = datetime(2020, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)
_HOUR = timedelta(hours=1)

Periods = dict[str, list[tuple[datetime, datetime]]]


def hour_of(moment: datetime) -> datetime:
    """The UTC hour that contains `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


Call = CallCompleted | CallCompletedStruct
"""A call event as the consumer decodes it (`decode_call`) or as a producer built it."""


def _reject_reason(event: Event | Call, now: datetime, merchants: set[str]) -> str | None:
    if not isinstance(event, Call):
        return f"not a call event: {event.event_type}"
    if event.merchant_id not in merchants:
        return f"merchant_id: unknown merchant {event.merchant_id!r}"
    if event.occurred_at < EARLIEST_OCCURRED_AT:
        return f"occurred_at: {event.occurred_at.isoformat()} is before 2020-01-01"
    if event.occurred_at > now + MAX_AHEAD:
        return f"occurred_at: {event.occurred_at.isoformat()} is more than a day in the future"
    return None


def _closed_period_start(periods: Periods, merchant_id: str, hour: datetime) -> datetime | None:
    for start, end in periods.get(merchant_id, ()):
        if start <= hour < end:
            return start
    return None


def _measures(call: Call) -> tuple[int, ...]:
    """One call as the MEASURES counters (same arithmetic as `repository.calls_as_measures`)."""
    cached = call.cached_tokens
    return (
        1,
        call.prompt_tokens,
        call.completion_tokens,
        cached or 0,
        int(cached is None),
        int(call.status == "blocked"),
        int(call.risk_verdict == "review"),
        int(call.status == "failed"),
    )


@dataclass
class _Batch:
    """The accepted calls of one batch, column-wise for the bulk insert."""

    calls: list[Call]
    hours: list[datetime]
    periods: list[datetime | None]

    def columns(self) -> dict[str, list[Any]]:
        c = self.calls
        return {
            "event_id": [e.event_id for e in c],
            "merchant_id": [e.merchant_id for e in c],
            "occurred_at": [e.occurred_at for e in c],
            "hour_start": self.hours,
            "call_id": [e.call_id for e in c],
            "model": [e.model for e in c],
            "cache_hit": [e.cache_hit for e in c],
            "risk_verdict": [e.risk_verdict for e in c],
            "status": [e.status for e in c],
            "prompt_tokens": [e.prompt_tokens for e in c],
            "completion_tokens": [e.completion_tokens for e in c],
            "cached_tokens": [e.cached_tokens for e in c],
            "disposition": [
                Disposition.HOURLY.value if p is None else Disposition.ADJUSTMENT.value
                for p in self.periods
            ],
        }


def _classify(session: Session, calls: list[Call]) -> _Batch:
    hours = [hour_of(e.occurred_at) for e in calls]
    periods: Periods = {}
    if calls:
        periods = repository.closed_periods(
            session, {e.merchant_id for e in calls}, start=min(hours), end=max(hours) + _HOUR
        )
    in_period = [
        _closed_period_start(periods, e.merchant_id, h) if periods else None
        for e, h in zip(calls, hours, strict=True)
    ]
    return _Batch(calls, hours, in_period)


def _hourly_rows(batch: _Batch, inserted: set[uuid.UUID]) -> list[dict[str, Any]]:
    sums: dict[tuple[str, datetime, str, bool, str], list[int]] = {}
    for call, hour, period in zip(batch.calls, batch.hours, batch.periods, strict=True):
        if period is not None or call.event_id not in inserted:
            continue
        key = (call.merchant_id, hour, call.model, call.cache_hit, call.risk_verdict)
        acc = sums.get(key)
        if acc is None:
            sums[key] = list(_measures(call))
        else:
            for i, value in enumerate(_measures(call)):
                acc[i] += value
    return [
        {
            "merchant_id": m,
            "hour_start": h,
            "meter": METER_DESCRIPTIONS,
            "model": model,
            "cache_hit": hit,
            "risk_verdict": verdict,
            **dict(zip(MEASURES, values, strict=True)),
        }
        for (m, h, model, hit, verdict), values in sums.items()
    ]


def _adjustment_rows(batch: _Batch, inserted: set[uuid.UUID]) -> list[dict[str, Any]]:
    return [
        {
            "event_id": call.event_id,
            "merchant_id": call.merchant_id,
            "hour_start": hour,
            "period_start": period,
            "meter": METER_DESCRIPTIONS,
            "model": call.model,
            "cache_hit": call.cache_hit,
            "risk_verdict": call.risk_verdict,
            **dict(zip(MEASURES, _measures(call), strict=True)),
        }
        for call, hour, period in zip(batch.calls, batch.hours, batch.periods, strict=True)
        if period is not None and call.event_id in inserted
    ]


def record_calls(
    session: Session, events: Sequence[Event | Call], *, now: datetime | None = None
) -> list[Rejection]:
    """Count `events` in the ledger exactly once; return the ones that must not count.

    Idempotent on `event_id`: an event already recorded changes nothing. Flushes, never
    commits: the caller's transaction (one consumer batch) makes it durable.
    """
    return list(ingest_calls(session, events, now=now).rejections)


def ingest_calls(
    session: Session,
    events: Sequence[Event | Call],
    *,
    now: datetime | None = None,
    settled_group: str | None = None,
) -> Applied:
    """`record_calls`, also counting the repeats (already recorded, or twice in `events`).

    With `settled_group`, events that group's consumer rejected before (their ids are in
    `processed_events`, see `liftmeter.consumer`) stay rejected: they count as repeats, even
    if they would pass now (their merchant was created since, their time is no longer ahead).
    """
    now = now or datetime.now(UTC)
    repository.lock_ledger_for_ingest(session)
    accepted, rejections, repeats = _screen(session, events, now)
    if not accepted:
        return Applied(rejections, repeats)
    if is_postgres(session):
        structs = [c if isinstance(c, CallCompletedStruct) else as_call_struct(c) for c in accepted]
        fresh = repository.ingest_calls(
            session, structs, recorded_at=now, settled_group=settled_group
        )
        return Applied(rejections, repeats + len(accepted) - fresh)
    if settled_group is not None:
        settled = claimed_event_ids(session, settled_group, [c.event_id for c in accepted])
        accepted = [c for c in accepted if c.event_id not in settled]
        repeats += len(settled)
    batch = _classify(session, accepted)
    inserted = repository.insert_calls(session, batch.columns(), recorded_at=now)
    repository.add_to_hourly(session, _hourly_rows(batch, inserted))
    repository.insert_adjustments(session, _adjustment_rows(batch, inserted))
    return Applied(rejections, repeats + len(accepted) - len(inserted))


def _screen(
    session: Session, events: Sequence[Event | Call], now: datetime
) -> tuple[list[Call], list[Rejection], int]:
    """The calls that may count, the rejected events, and the repeats inside `events`."""
    merchants = repository.known_merchants(session, {e.merchant_id for e in events})
    rejections: list[Rejection] = []
    accepted: list[Call] = []
    seen: set[uuid.UUID] = set()
    for event in events:
        if event.event_id in seen:
            continue  # a repeat inside the batch; the raw insert would skip it as well
        seen.add(event.event_id)
        reason = _reject_reason(event, now, merchants)
        if reason is None:
            assert isinstance(event, Call)
            accepted.append(event)
        else:
            rejections.append(Rejection(event.event_id, reason))
    return accepted, rejections, len(events) - len(seen)


def close_period(
    session: Session, merchant_id: str, period_start: datetime, period_end: datetime
) -> ClosedPeriod:
    """Freeze a merchant's usage in [period_start, period_end): billing calls this on finalize.

    Waits for in-flight ingest batches and holds them off until the caller commits, so the
    invoice the caller computes in the same transaction sees every call the period will
    ever hold; later calls for the period become `usage_adjustments`. Bounds must be UTC
    hours. Closing the same period again is a no-op; an overlapping one is a `Conflict`.
    """
    for name, value in (("period_start", period_start), ("period_end", period_end)):
        if value.tzinfo is None or hour_of(value) != value:
            raise ValidationFailed("must be a timezone-aware whole hour", param=name)
    if period_end <= period_start:
        raise ValidationFailed("must be after period_start", param="period_end")
    repository.lock_ledger_for_close(session)
    existing = repository.closed_periods(
        session, [merchant_id], start=period_start, end=period_end
    ).get(merchant_id, [])
    if existing == [(period_start.astimezone(UTC), period_end.astimezone(UTC))]:
        found = session.get(ClosedPeriod, (merchant_id, period_start))
        assert found is not None
        return found
    if existing:
        raise Conflict(f"overlaps the closed period starting {existing[0][0].isoformat()}")
    period = ClosedPeriod(merchant_id=merchant_id, period_start=period_start, period_end=period_end)
    session.add(period)
    session.flush()
    return period
