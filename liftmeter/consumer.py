"""The consumer runner: poll a batch, apply it in one transaction, then commit offsets.

Delivery guarantee: effectively once. The log delivers at least once; the runner makes
redelivery harmless. Per batch it

1. decodes every message (undecodable ones become dead letters with the reason),
2. opens one database transaction in which it claims the event ids for its group in
   `processed_events` (`INSERT … ON CONFLICT DO NOTHING … RETURNING`): only ids that were
   not there before are handed to the handler, so duplicates within a batch, across
   batches, after a crash or in a replay change nothing,
3. lets the handler apply the fresh events (and dead-letters those it rejects),
4. commits the transaction, and only then commits the offsets.

A crash before (4) rolls the claims back with the effects; a crash between the commit and
the offset commit redelivers the batch, whose ids are then already claimed. An unexpected
error in the handler makes the runner retry the batch one event at a time, so a poison
message is dead-lettered alone and the rest goes through. Database connection errors are
not dead-lettered: they propagate, nothing is committed, and the batch comes again.

A handler whose own writes are unique on the event id (metering's raw call rows) may run
with `claims=False`: the runner then claims only the events the handler *rejected* (so a
rejection stays final on redelivery and replay, as with claims: "unknown merchant" or "too
far ahead" depend on when an event is seen), the handler skips ids its group has claimed
and reports which events were repeats (`Applied.duplicates`). The delivery guarantee is
the same, one unique insert per event cheaper. A runner may also take its own `decode`
(metering reads call events with `liftmeter.events.decode_call`); it must raise
`EventDecodeError` exactly where `decode_event` would.

`run` with `overlap_poll=True` (PostgreSQL) polls and decodes batch n+1 while batch n's
transaction runs in a worker thread: both mostly wait on sockets, so the overlap hides one
behind the other. The consumer is only touched from the caller's thread, batch n's offsets
are committed after its transaction committed and before batch n+1's transaction starts,
and a batch polled ahead is always applied before `run` returns. After an exception the
consumer's position may be past uncommitted batches (as after any failed batch): drop the
consumer and open a new one, which resumes at the committed offsets.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import select, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from liftmeter.consumer_metrics import ConsumerMetrics
from liftmeter.db import insert_ignoring_conflicts, is_postgres
from liftmeter.errors import EventLogUnavailable, LiftmeterError
from liftmeter.eventlog.base import Consumer, EventLog, Record, next_offsets
from liftmeter.events import EventDecodeError, decode_event
from liftmeter.logging import get_logger
from liftmeter.models import DeadLetter, ProcessedEvent

log = get_logger(__name__)

_CLAIM_CHUNK = 1000
# PostgreSQL: the whole batch as one uuid[] parameter. A compiled multi-row VALUES list costs
# more in SQLAlchemy and psycopg (bind parameter processing per row) than the insert itself.
_PG_CLAIM = text(
    "INSERT INTO processed_events (group_id, event_id, processed_at) "
    "SELECT :group_id, event_id, now() FROM unnest(CAST(:event_ids AS uuid[])) AS event_id "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


class Rejection(NamedTuple):
    """An event the handler refused to apply, and why (it becomes a dead letter)."""

    event_id: uuid.UUID
    reason: str


class Applied(NamedTuple):
    """What a self-deduplicating handler (`claims=False`) did with a batch.

    `duplicates` counts the events it skipped as already applied, repeats of an event
    inside the batch included.
    """

    rejections: Sequence[Rejection]
    duplicates: int


class Identified(Protocol):
    """A decoded message: an `Event`, or a faster record of one with its id."""

    @property
    def event_id(self) -> uuid.UUID: ...


class EventHandler(Protocol):
    """Applies fresh (never seen by this group) events inside the caller's transaction.

    With claims (the default) it returns the events it rejects; with `claims=False` it
    also deduplicates and returns `Applied`.
    """

    def __call__(
        self, session: Session, events: Sequence[Any]
    ) -> Sequence[Rejection] | Applied: ...


class _Polled(NamedTuple):
    records: Sequence[Record]
    decoded: list[tuple[Record, Identified]]
    bad: list[tuple[Record, str]]


@dataclass
class BatchOutcome:
    """What one or more batches did."""

    polled: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0

    def add(self, other: BatchOutcome) -> None:
        self.polled += other.polled
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.dead_lettered += other.dead_lettered


def _chunks(items: Sequence[uuid.UUID], size: int) -> Iterator[Sequence[uuid.UUID]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def claim_event_ids(
    session: Session, group_id: str, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Record `event_ids` as processed by `group_id`; return those not recorded before.

    `ON CONFLICT DO NOTHING RETURNING`: an id already claimed, or repeated in `event_ids`,
    is returned at most once, and only if this call inserted it.
    """
    if not event_ids:
        return set()
    if is_postgres(session):
        params = {"group_id": group_id, "event_ids": list(event_ids)}
        return set(session.execute(_PG_CLAIM, params).scalars().all())  # one fetchall
    fresh: set[uuid.UUID] = set()
    table = ProcessedEvent.__table__
    for chunk in _chunks(event_ids, _CLAIM_CHUNK):
        rows = [{"group_id": group_id, "event_id": eid} for eid in chunk]
        stmt = insert_ignoring_conflicts(session, table, rows, returning=[table.c.event_id])
        fresh.update(session.execute(stmt).scalars())
    return fresh


def claimed_event_ids(
    session: Session, group_id: str, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of `event_ids` `group_id` has claimed already (reads only)."""
    table = ProcessedEvent.__table__
    found: set[uuid.UUID] = set()
    for chunk in _chunks(event_ids, _CLAIM_CHUNK):
        query = select(table.c.event_id).where(
            table.c.group_id == group_id, table.c.event_id.in_(chunk)
        )
        found.update(session.scalars(query))
    return found


def record_dead_letter(session: Session, group_id: str, record: Record, reason: str) -> None:
    """Keep `record` with `reason`; a redelivered record is kept once."""
    row = {
        "group_id": group_id,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key,
        "value": record.value,
        "reason": reason[:2000],
    }
    session.execute(insert_ignoring_conflicts(session, DeadLetter.__table__, [row]))


class ConsumerRunner:
    """Runs one consumer-group member: poll → one transaction → commit offsets.

    `metrics`, when set, counts each committed batch's outcome and times its transaction.
    """

    def __init__(
        self,
        *,
        consumer: Consumer,
        sessions: sessionmaker[Session],
        group_id: str,
        handler: EventHandler,
        max_records: int = 5000,
        timeout_ms: int = 500,
        overlap_poll: bool = False,
        claims: bool = True,
        decode: Callable[[bytes], Identified] = decode_event,
        metrics: ConsumerMetrics | None = None,
    ):
        self.consumer = consumer
        self.metrics = metrics
        self._claims = claims
        self._decode_one = decode
        self._sessions = sessions
        self.group_id = group_id
        self._handler = handler
        self._max_records = max_records
        self._timeout_ms = timeout_ms
        self._overlap_poll = overlap_poll

    def run_once(self) -> BatchOutcome:
        """Process one polled batch (possibly empty) and commit its offsets."""
        records = self._poll()
        if not records:
            return BatchOutcome()
        outcome = self._apply_batch(*self._decode(records))
        outcome.polled = len(records)
        self._commit(records, outcome)
        return outcome

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        max_batches: int | None = None,
        idle_polls_before_exit: int | None = None,
    ) -> BatchOutcome:
        """Loop until `stop` is set, `max_batches` batches ran, or the log stayed idle.

        With `overlap_poll`, batch n+1 is polled and decoded while batch n's transaction
        runs in a worker thread; batch n's offsets are still committed only after its
        transaction committed, and a batch polled ahead is always applied before returning.
        """
        total, batches, idle = BatchOutcome(), 0, 0

        def more() -> bool:
            if stop and stop.is_set():
                return False
            if max_batches is not None and batches >= max_batches:
                return False
            return idle_polls_before_exit is None or idle < idle_polls_before_exit

        with (
            _prompt_gil_handoff(self._overlap_poll),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="consumer-tx") as worker,
        ):
            batch: _Polled | None = None
            while batch is not None or more():
                if batch is None:
                    batch = self._poll_and_decode()
                batches += 1
                if not batch.records:
                    idle, batch = idle + 1, None
                    continue
                idle = 0
                following: _Polled | None = None
                if self._overlap_poll:
                    pending = worker.submit(self._apply_batch, batch.decoded, batch.bad)
                    if more():  # poll and decode the next batch while this transaction runs
                        following = self._poll_and_decode()
                    outcome = pending.result()
                else:
                    outcome = self._apply_batch(batch.decoded, batch.bad)
                outcome.polled = len(batch.records)
                self._commit(batch.records, outcome)  # only after its transaction
                total.add(outcome)
                batch = following
        return total

    def _commit(self, records: Sequence[Record], outcome: BatchOutcome) -> None:
        self.consumer.commit(next_offsets(records))
        if self.metrics is not None:
            self.metrics.committed(self.group_id, outcome)

    def _poll(self) -> Sequence[Record]:
        return self.consumer.poll(max_records=self._max_records, timeout_ms=self._timeout_ms)

    def _poll_and_decode(self) -> _Polled:
        records = self._poll()
        return _Polled(records, *self._decode(records))

    def _apply_batch(
        self, decoded: Sequence[tuple[Record, Identified]], bad: Sequence[tuple[Record, str]]
    ) -> BatchOutcome:
        """One transaction for the batch; on an unexpected error, one per event."""
        started = time.perf_counter()
        outcome = self._transact(decoded, bad)
        if self.metrics is not None:
            self.metrics.transaction_took(self.group_id, time.perf_counter() - started)
        return outcome

    def _transact(
        self, decoded: Sequence[tuple[Record, Identified]], bad: Sequence[tuple[Record, str]]
    ) -> BatchOutcome:
        try:
            with self._sessions.begin() as session:
                return self._apply(session, decoded, bad)
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:  # noqa: BLE001 - isolate the poison message, see module doc
            log.warning(
                "batch failed; retrying event by event", group=self.group_id, error=repr(exc)
            )
            return self._apply_one_by_one(decoded, bad)

    def _decode(
        self, records: Sequence[Record]
    ) -> tuple[list[tuple[Record, Identified]], list[tuple[Record, str]]]:
        decoded: list[tuple[Record, Identified]] = []
        bad: list[tuple[Record, str]] = []
        decode = self._decode_one
        for record in records:
            try:
                decoded.append((record, decode(record.value)))
            except EventDecodeError as exc:
                bad.append((record, str(exc)))
        return decoded, bad

    def _apply(
        self,
        session: Session,
        decoded: Sequence[tuple[Record, Identified]],
        bad: Sequence[tuple[Record, str]],
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        for record, reason in bad:
            record_dead_letter(session, self.group_id, record, reason)
        if self._claims:
            first: dict[uuid.UUID, tuple[Record, Identified]] = {}
            for record, event in decoded:
                first.setdefault(event.event_id, (record, event))
            fresh_ids = claim_event_ids(session, self.group_id, list(first))
            fresh: Sequence[tuple[Record, Identified]] = [
                first[eid] for eid in first if eid in fresh_ids
            ]
        else:
            fresh = decoded  # the handler deduplicates, repeats inside the batch included
        result = self._handler(session, [event for _, event in fresh]) if fresh else []
        rejections, repeats = (
            (result.rejections, result.duplicates) if isinstance(result, Applied) else (result, 0)
        )
        if rejections:
            if not self._claims:  # a rejection is final for the group, as with claims
                claim_event_ids(session, self.group_id, [r.event_id for r in rejections])
            by_id = {event.event_id: record for record, event in fresh}
            for rejection in rejections:
                record = by_id[rejection.event_id]
                record_dead_letter(session, self.group_id, record, rejection.reason)
        outcome.dead_lettered = len(bad) + len(rejections)
        outcome.applied = len(fresh) - len(rejections) - repeats
        outcome.duplicates = len(decoded) - len(fresh) + repeats
        return outcome

    def _apply_one_by_one(
        self, decoded: Sequence[tuple[Record, Identified]], bad: Sequence[tuple[Record, str]]
    ) -> BatchOutcome:
        total = BatchOutcome()
        with self._sessions.begin() as session:
            total.add(self._apply(session, [], bad))
        for record, event in decoded:
            try:
                with self._sessions.begin() as session:
                    total.add(self._apply(session, [(record, event)], []))
            except (OperationalError, InterfaceError):
                raise
            except Exception as exc:  # noqa: BLE001 - dead-letter exactly this message
                reason = str(exc) if isinstance(exc, LiftmeterError) else repr(exc)
                with self._sessions.begin() as session:
                    record_dead_letter(session, self.group_id, record, f"apply failed: {reason}")
                total.dead_lettered += 1
        return total


_HANDOFF_S = 0.0005


@contextlib.contextmanager
def _prompt_gil_handoff(enabled: bool) -> Iterator[None]:
    """Hand the GIL over every 0.5 ms (Python's default: 5 ms) while batches overlap.

    The transaction thread makes a few database round trips per batch; after each it waits
    for the GIL, which the polling thread holds while it parses records. At the default
    interval those waits added up to about a tenth of a batch (benchmarks/metering_ingest.py).
    """
    previous = sys.getswitchinterval()
    if enabled:
        sys.setswitchinterval(min(previous, _HANDOFF_S))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


RETRYABLE = (OperationalError, InterfaceError, EventLogUnavailable)
"""Failures after which a consumer group reopens its consumer and continues."""


def consume_until_stopped(
    *,
    event_log: EventLog,
    group_id: str,
    topics: Sequence[str],
    stop: threading.Event,
    runner_for: Callable[[Consumer], ConsumerRunner],
    idle_polls_before_exit: int | None = None,
    retry_wait_s: float = 1.0,
    metrics: ConsumerMetrics | None = None,
) -> BatchOutcome:
    """Run a group's runner until `stop` is set (or the log stayed idle).

    A transient database or event-log failure closes the consumer and opens a new one after
    `retry_wait_s`; uncommitted batches are redelivered and deduplicated by event id.
    `metrics` instruments every runner opened and counts the reopens.
    """
    total = BatchOutcome()
    while not stop.is_set():
        try:
            with event_log.consumer(group_id, list(topics)) as consumer:
                runner = runner_for(consumer)
                if metrics is not None:
                    runner.metrics = metrics
                total.add(runner.run(stop=stop, idle_polls_before_exit=idle_polls_before_exit))
                return total
        except RETRYABLE as exc:
            log.warning("consumer failed; reopening", group=group_id, error=str(exc))
            if metrics is not None:
                metrics.reopened(group_id)
            stop.wait(retry_wait_s)
    return total
