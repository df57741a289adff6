"""The event-log interface: topics of keyed messages, partitions, offsets, consumer groups.

Two implementations stand behind it: Kafka (`liftmeter.eventlog.kafka`) and the embedded log
kept in liftmeter's own database (`liftmeter.eventlog.embedded`). Both deliver at least once:
a message is delivered again until its group commits an offset past it. Messages with the
same key keep their order (one key, one partition). Consumers make redelivery harmless by
deduplicating on the event id (`liftmeter.consumer`).
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Self

import msgspec

from liftmeter.events import Event

TopicPartition = tuple[str, int]


class Record(msgspec.Struct, frozen=True, gc=False):
    """One delivered message and its position, from either log.

    A C-built struct: a consumer makes one per message, at a fifth of a named tuple's cost.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


def partition_for(key: bytes | None, partitions: int) -> int:
    """The partition of `key`: a stable hash, so a merchant's events stay in order."""
    return 0 if key is None else zlib.crc32(key) % partitions


def next_offsets(records: Iterable[Record]) -> dict[TopicPartition, int]:
    """The offsets to commit after `records`: one past the highest offset per partition."""
    out: dict[TopicPartition, int] = {}
    for r in records:
        tp = (r.topic, r.partition)
        out[tp] = max(out.get(tp, 0), r.offset + 1)
    return out


class Producer(ABC):
    """Sends messages; `flush` blocks until every sent message is durable or raises."""

    @abstractmethod
    def send(self, topic: str, value: bytes, key: bytes | None = None) -> None: ...

    @abstractmethod
    def flush(self, timeout_s: float | None = None) -> None:
        """Wait for all sent messages; raise `EventLogUnavailable` if any was not stored."""

    @abstractmethod
    def close(self) -> None: ...

    def publish(self, events: Sequence[Event]) -> None:
        """Send `events` to their topics, keyed by merchant, and flush."""
        for ev in events:
            self.send(ev.topic, ev.encode(), ev.key)
        self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()


class Consumer(ABC):
    """Reads a set of topics as one member of a consumer group; commits offsets by hand."""

    @abstractmethod
    def poll(self, *, max_records: int, timeout_ms: int) -> Sequence[Record]:
        """Up to `max_records` messages after the current position; [] after `timeout_ms`."""

    @abstractmethod
    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Record, for the group, the next offset to read on each partition."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventLog(ABC):
    """Factory of producers and consumers for one event-log deployment."""

    @abstractmethod
    def check(self) -> None:
        """Raise `ConfigurationError` naming the setting if the log cannot be reached."""

    @abstractmethod
    def ensure_topics(self, topics: Iterable[str], *, partitions: int | None = None) -> None:
        """Create missing topics (existing ones are left as they are)."""

    @abstractmethod
    def producer(self) -> Producer: ...

    @abstractmethod
    def consumer(self, group_id: str, topics: Sequence[str]) -> Consumer: ...

    @abstractmethod
    def rewind(self, group_id: str, topics: Sequence[str]) -> None:
        """Set the group's offsets back to the beginning (replay). The group must be idle."""

    @abstractmethod
    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """The next offset that would be written on every partition of `topics`."""

    @abstractmethod
    def committed(self, group_id: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """The group's committed next offsets (0 where it never committed)."""

    def lag(self, group_id: str, topics: Sequence[str]) -> int:
        """Messages written but not yet committed by the group, over all partitions."""
        ends = self.end_offsets(topics)
        done = self.committed(group_id, topics)
        return sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items())

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release shared resources."""
