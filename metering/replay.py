"""Replay and reconcile: rebuild the aggregates from raw rows; compare the ledger with the log.

- `rebuild_ledger` recomputes `usage_hourly` from `usage_calls` in the caller's one
  transaction, a day at a time (for progress), while ingest waits (the same lock as
  `close_period`). Adjustments are not touched: they are already per call.
- `reconcile` reads the calls topic from the beginning with a throwaway consumer group
  (it never commits offsets) and compares, per merchant and hour, calls and token sums with
  the ledger (hourly aggregates plus adjustments). Duplicates in the log count once (first
  occurrence; a merchant's duplicates share a partition, so that is the copy the consumer
  applied); messages the metering group dead-lettered do not count.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from liftmeter.eventlog import EventLog
from liftmeter.events import CALLS_TOPIC, CallCompleted, EventDecodeError, decode_event
from liftmeter.models import DeadLetter
from metering import repository
from metering.consumer import GROUP_ID
from metering.models import UsageAdjustment, UsageHourly
from metering.service import hour_of

_DAY = timedelta(days=1)
Totals = dict[tuple[str, datetime], tuple[int, int, int]]
"""(merchant, hour) → (calls, prompt_tokens, completion_tokens)."""


def rebuild_ledger(session: Session, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every hourly aggregate from raw rows; return the raw rows counted.

    `progress(done_days, total_days)` is called after each day. Flushes, never commits.
    """
    repository.lock_ledger_for_close(session)
    repository.clear_hourly(session)
    span = repository.call_hours(session)
    if span is None:
        return 0
    day = span[0].replace(hour=0)
    days = (span[1] - day) // _DAY + 1
    rows = 0
    for i in range(days):
        start = day + i * _DAY
        rows += repository.hourly_from_calls(session, start=start, end=start + _DAY)
        if progress is not None:
            progress(i + 1, days)
    return rows


@dataclass(frozen=True)
class Difference:
    """One (merchant, hour) where the log and the ledger disagree."""

    merchant_id: str
    hour_start: datetime
    log: tuple[int, int, int]
    ledger: tuple[int, int, int]


@dataclass(frozen=True)
class Reconciliation:
    differences: list[Difference]
    events: int
    duplicates: int
    dead_lettered: int
    lag: int


def _read_log(
    event_log: EventLog, dead: set[tuple[int, int]], *, topic: str, timeout_s: float
) -> tuple[Totals, int, int, int]:
    ends = {p: o for (t, p), o in event_log.end_offsets([topic]).items() if t == topic and o > 0}
    seen: set[uuid.UUID] = set()
    sums: dict[tuple[str, datetime], list[int]] = {}
    events = duplicates = skipped = 0
    deadline = time.monotonic() + timeout_s
    with event_log.consumer(f"{GROUP_ID}-reconcile-{uuid.uuid4().hex[:12]}", [topic]) as consumer:
        while ends:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout_s:.0f}s")
            for record in consumer.poll(max_records=10_000, timeout_ms=500):
                end = ends.get(record.partition)
                if end is None or record.offset >= end:
                    continue  # written after the snapshot of end offsets
                if record.offset + 1 >= end:
                    del ends[record.partition]
                try:
                    event = decode_event(record.value)
                except EventDecodeError:
                    skipped += 1
                    continue
                if event.event_id in seen:
                    duplicates += 1
                    continue
                seen.add(event.event_id)
                if (record.partition, record.offset) in dead or not isinstance(
                    event, CallCompleted
                ):
                    skipped += 1
                    continue
                events += 1
                acc = sums.setdefault((event.merchant_id, hour_of(event.occurred_at)), [0, 0, 0])
                acc[0] += 1
                acc[1] += event.prompt_tokens
                acc[2] += event.completion_tokens
    return {k: (v[0], v[1], v[2]) for k, v in sums.items()}, events, duplicates, skipped


def _ledger_totals(session: Session) -> Totals:
    out: dict[tuple[str, datetime], list[int]] = {}
    for table in (UsageHourly.__table__, UsageAdjustment.__table__):
        c = table.c
        rows = session.execute(
            select(
                c.merchant_id,
                c.hour_start,
                repository.total(c.calls),
                repository.total(c.prompt_tokens),
                repository.total(c.completion_tokens),
            ).group_by(c.merchant_id, c.hour_start)
        )
        for merchant_id, hour, calls, prompt, completion in rows:
            acc = out.setdefault((merchant_id, repository.as_utc(hour)), [0, 0, 0])
            acc[0] += int(calls)
            acc[1] += int(prompt)
            acc[2] += int(completion)
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def reconcile(
    event_log: EventLog,
    sessions: sessionmaker[Session],
    *,
    topic: str = CALLS_TOPIC,
    group_id: str = GROUP_ID,
    timeout_s: float = 600,
) -> Reconciliation:
    """Compare the ledger with the log, read from offset 0; empty `differences` = agreement.

    Run it when the consumer has caught up (`lag` says how far behind the group is).
    """
    lag = event_log.lag(group_id, [topic])
    with sessions() as session:
        dead = {
            (p, o)
            for p, o in session.execute(
                select(DeadLetter.partition, DeadLetter.offset).where(
                    DeadLetter.group_id == group_id, DeadLetter.topic == topic
                )
            )
        }
    expected, events, duplicates, skipped = _read_log(
        event_log, dead, topic=topic, timeout_s=timeout_s
    )
    with sessions() as session:
        actual = _ledger_totals(session)
    zero = (0, 0, 0)
    differences = [
        Difference(m, h, expected.get((m, h), zero), actual.get((m, h), zero))
        for m, h in sorted(expected.keys() | actual.keys())
        if expected.get((m, h), zero) != actual.get((m, h), zero)
    ]
    return Reconciliation(differences, events, duplicates, skipped, lag)
