"""The event log: one interface (`EventLog`), two real implementations.

`build_event_log(settings, engine)` returns the one the settings choose: the embedded log in
liftmeter's database (default) or Kafka (`LIFTMETER_EVENTS__BACKEND=kafka`).
"""

from __future__ import annotations

from sqlalchemy import Engine

from liftmeter.eventlog.base import (
    Consumer,
    EventLog,
    Producer,
    Record,
    TopicPartition,
    next_offsets,
    partition_for,
)
from liftmeter.settings import Settings

__all__ = [
    "Consumer",
    "EventLog",
    "Producer",
    "Record",
    "TopicPartition",
    "build_event_log",
    "next_offsets",
    "partition_for",
]


def build_event_log(settings: Settings, engine: Engine) -> EventLog:
    """The event log chosen by `settings.events.backend`."""
    if settings.events.backend == "kafka":
        from liftmeter.eventlog.kafka import KafkaEventLog

        return KafkaEventLog(settings.events)
    from liftmeter.eventlog.embedded import EmbeddedEventLog

    return EmbeddedEventLog(engine, partitions=settings.events.partitions)
