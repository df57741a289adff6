"""The metering consumer: `CallCompleted` events from the calls topic into the usage ledger.

Group `metering`. The kernel's `ConsumerRunner` polls a batch, decodes it with the fast call
decoder (`liftmeter.events.decode_call`), calls `MeteringHandler` in one transaction,
commits, then commits offsets. The raw call rows are unique on the event id, so the handler
deduplicates by itself and the runner claims nothing separately (`claims=False`); see
`metering.service.record_calls` for what the handler does. Several processes in the group
split the topic's partitions (Kafka); each event is counted once whichever of them sees it.

On PostgreSQL the runner polls and decodes the next batch while the current batch's
transaction runs (`overlap_poll`); offsets are still committed after each transaction.

`run_consumer` keeps one member alive: when the database or the log fails mid-batch, it
drops the Kafka/embedded consumer and opens a new one, which resumes from the committed
offsets. Reusing the old consumer would continue *after* the failed batch and could later
commit past it, losing it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from liftmeter.consumer import (
    Applied,
    BatchOutcome,
    ConsumerRunner,
    EventHandler,
    consume_until_stopped,
)
from liftmeter.consumer_metrics import ConsumerMetrics
from liftmeter.db import is_postgres
from liftmeter.eventlog import Consumer, EventLog
from liftmeter.events import CALLS_TOPIC, Event, decode_call
from metering.service import Call, ingest_calls

GROUP_ID = "metering"
TOPICS: tuple[str, ...] = (CALLS_TOPIC,)


class MeteringHandler:
    """The `EventHandler` of the metering group: records call events in the ledger.

    It deduplicates on its own (raw call rows are unique on `event_id`), so its runner runs
    with `claims=False` and claims only what the handler rejects; events `group_id` rejected
    once stay rejected.
    """

    def __init__(
        self, clock: Callable[[], datetime] | None = None, *, group_id: str = GROUP_ID
    ) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._group_id = group_id

    def __call__(self, session: Session, events: Sequence[Event | Call]) -> Applied:
        return ingest_calls(session, events, now=self._clock(), settled_group=self._group_id)


def build_runner(
    *,
    consumer: Consumer,
    sessions: sessionmaker[Session],
    group_id: str = GROUP_ID,
    max_records: int = 5000,
    timeout_ms: int = 500,
    overlap_poll: bool = False,
    handler: EventHandler | None = None,
) -> ConsumerRunner:
    """The runner of one metering group member: fast call decoding, no separate claims.

    `handler` replaces `MeteringHandler()` (the benchmark wraps it to time batches).
    """
    return ConsumerRunner(
        consumer=consumer,
        sessions=sessions,
        group_id=group_id,
        handler=handler or MeteringHandler(group_id=group_id),
        max_records=max_records,
        timeout_ms=timeout_ms,
        overlap_poll=overlap_poll,
        claims=False,
        decode=decode_call,
    )


def _is_postgres(sessions: sessionmaker[Session]) -> bool:
    # The runner's transaction thread needs its own connection to the same database, which
    # SQLite's per-thread `:memory:` pools do not give.
    with sessions() as session:
        return is_postgres(session)


def run_consumer(
    *,
    event_log: EventLog,
    sessions: sessionmaker[Session],
    stop: threading.Event,
    group_id: str = GROUP_ID,
    topics: Sequence[str] = TOPICS,
    max_records: int = 5000,
    timeout_ms: int = 500,
    idle_polls_before_exit: int | None = None,
    retry_wait_s: float = 1.0,
    metrics: ConsumerMetrics | None = None,
) -> BatchOutcome:
    """Consume until `stop` is set (or the log stayed idle); survive transient failures."""
    overlap_poll = _is_postgres(sessions)
    return consume_until_stopped(
        event_log=event_log,
        group_id=group_id,
        topics=topics,
        stop=stop,
        runner_for=lambda consumer: build_runner(
            consumer=consumer,
            sessions=sessions,
            group_id=group_id,
            max_records=max_records,
            timeout_ms=timeout_ms,
            overlap_poll=overlap_poll,
        ),
        idle_polls_before_exit=idle_polls_before_exit,
        retry_wait_s=retry_wait_s,
        metrics=metrics,
    )
