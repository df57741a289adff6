"""The attribution consumer: exposure and conversion events into the attribution tables.

Group `attribution`, topics `liftmeter.exposures.v1` and `liftmeter.conversions.v1`. The
kernel's `ConsumerRunner` polls a batch, claims the event ids and calls
`AttributionHandler` in the same transaction, commits, then commits offsets; see
`attribution.service.record_events` for what the handler does and why replays are
harmless. Bad events (unknown experiment, a conversion before the merchant's first
experiment, a wrong currency) are dead-lettered with the reason; they never stop the loop.

`run_consumer` keeps one member alive: when the database or the log fails mid-batch it
drops the consumer and opens a new one, which resumes from the committed offsets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from attribution.service import record_events
from liftmeter.consumer import BatchOutcome, ConsumerRunner, Rejection, consume_until_stopped
from liftmeter.consumer_metrics import ConsumerMetrics
from liftmeter.eventlog import Consumer, EventLog
from liftmeter.events import CONVERSIONS_TOPIC, EXPOSURES_TOPIC, Event

GROUP_ID = "attribution"
TOPICS: tuple[str, ...] = (EXPOSURES_TOPIC, CONVERSIONS_TOPIC)


class AttributionHandler:
    """The `EventHandler` of the attribution group."""

    def __init__(self, clock: Callable[[], datetime] | None = None):
        self._clock = clock or (lambda: datetime.now(UTC))

    def __call__(self, session: Session, events: Sequence[Event]) -> list[Rejection]:
        return record_events(session, events, now=self._clock())


def build_runner(
    *,
    consumer: Consumer,
    sessions: sessionmaker[Session],
    group_id: str = GROUP_ID,
    max_records: int = 5000,
    timeout_ms: int = 500,
) -> ConsumerRunner:
    """A runner of the attribution handler on an open consumer."""
    return ConsumerRunner(
        consumer=consumer,
        sessions=sessions,
        group_id=group_id,
        handler=AttributionHandler(),
        max_records=max_records,
        timeout_ms=timeout_ms,
    )


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
        ),
        idle_polls_before_exit=idle_polls_before_exit,
        retry_wait_s=retry_wait_s,
        metrics=metrics,
    )
