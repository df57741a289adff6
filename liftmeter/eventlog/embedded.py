"""The embedded event log: an append-only table in liftmeter's own database.

Topics are split into partitions by key hash, like Kafka, so one merchant's events stay in
order. Appends to a partition take the row lock of its head (`event_log_heads`) until
commit, so offsets become visible strictly in order and a reader never skips a gap left by
a slower writer. Consumer groups keep their next offset per partition in
`event_log_offsets`. Delivery is at least once: until a group commits past a message, the
message is delivered again (after a restart, or a rewind).

A group is meant to have one live member at a time here (no partition assignment among
members); two members of one group both read everything, which stays correct, because
consumers deduplicate by event id, but does the work twice. Use Kafka to scale out.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from liftmeter.db import check_database, insert_ignoring_conflicts, is_postgres, session_factory
from liftmeter.errors import EventLogUnavailable
from liftmeter.eventlog.base import (
    Consumer,
    EventLog,
    Producer,
    Record,
    TopicPartition,
    partition_for,
)
from liftmeter.models import ConsumerOffset, EventLogHead, EventLogRecord

_IDLE_SLEEP_S = 0.05


def _partition_counts(session: Session, topics: Iterable[str]) -> dict[str, int]:
    rows = session.execute(
        select(EventLogHead.topic, func.count())
        .where(EventLogHead.topic.in_(list(topics)))
        .group_by(EventLogHead.topic)
    )
    return {topic: int(n) for topic, n in rows}


def _create_topic(session: Session, topic: str, partitions: int) -> None:
    rows = [{"topic": topic, "partition": p, "next_offset": 0} for p in range(partitions)]
    session.execute(insert_ignoring_conflicts(session, EventLogHead.__table__, rows))


def append(
    session: Session, messages: Sequence[tuple[str, bytes | None, bytes]], *, partitions: int
) -> list[Record]:
    """Append `(topic, key, value)` messages inside the caller's transaction.

    Missing topics are created with `partitions` partitions. Returns the stored records.
    """
    topics = {topic for topic, _, _ in messages}
    counts = _partition_counts(session, topics)
    for topic in topics - counts.keys():
        _create_topic(session, topic, partitions)
        counts[topic] = partitions
    by_tp: dict[TopicPartition, list[tuple[bytes | None, bytes]]] = defaultdict(list)
    for topic, key, value in messages:
        by_tp[(topic, partition_for(key, counts[topic]))].append((key, value))
    records: list[Record] = []
    now = datetime.now(UTC)
    for (topic, part), items in sorted(by_tp.items()):
        head = select(EventLogHead.next_offset).where(
            EventLogHead.topic == topic, EventLogHead.partition == part
        )
        if is_postgres(session):
            head = head.with_for_update()
        start = int(session.execute(head).scalar_one())
        session.execute(
            update(EventLogHead)
            .where(EventLogHead.topic == topic, EventLogHead.partition == part)
            .values(next_offset=start + len(items))
        )
        batch = [
            Record(topic=topic, partition=part, offset=start + i, key=key, value=value)
            for i, (key, value) in enumerate(items)
        ]
        session.execute(
            insert(EventLogRecord),
            [
                {
                    "topic": r.topic,
                    "partition": r.partition,
                    "offset": r.offset,
                    "key": r.key,
                    "value": r.value,
                    "appended_at": now,
                }
                for r in batch
            ],
        )
        records.extend(batch)
    return records


class EmbeddedProducer(Producer):
    """Buffers sends; `flush` appends them all in one transaction."""

    def __init__(self, sessions: sessionmaker[Session], partitions: int):
        self._sessions = sessions
        self._partitions = partitions
        self._pending: list[tuple[str, bytes | None, bytes]] = []

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self._pending.append((topic, key, value))

    def flush(self, timeout_s: float | None = None) -> None:
        if not self._pending:
            return
        try:
            with self._sessions.begin() as session:
                append(session, self._pending, partitions=self._partitions)
        except DBAPIError as exc:
            raise EventLogUnavailable(f"embedded event log write failed: {exc.orig}") from exc
        self._pending.clear()

    def close(self) -> None:
        self._pending.clear()


class EmbeddedConsumer(Consumer):
    """Reads all partitions of its topics from the group's committed offsets onward."""

    def __init__(self, sessions: sessionmaker[Session], group_id: str, topics: Sequence[str]):
        self._sessions = sessions
        self._group_id = group_id
        self._topics = list(topics)
        self._positions: dict[TopicPartition, int] = {}

    def _refresh_positions(self, session: Session) -> None:
        heads = session.execute(
            select(EventLogHead.topic, EventLogHead.partition).where(
                EventLogHead.topic.in_(self._topics)
            )
        ).all()
        missing = [(t, p) for t, p in heads if (t, p) not in self._positions]
        if not missing:
            return
        committed = _committed(session, self._group_id, self._topics)
        for tp in missing:
            self._positions[tp] = committed.get(tp, 0)

    def _fetch(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        with self._sessions() as session:
            self._refresh_positions(session)
            for (topic, part), position in sorted(self._positions.items()):
                room = max_records - len(out)
                if room <= 0:
                    break
                rows = session.execute(
                    select(EventLogRecord.offset, EventLogRecord.key, EventLogRecord.value)
                    .where(
                        EventLogRecord.topic == topic,
                        EventLogRecord.partition == part,
                        EventLogRecord.offset >= position,
                    )
                    .order_by(EventLogRecord.offset)
                    .limit(room)
                ).all()
                out.extend(Record(topic, part, int(o), k, v) for o, k, v in rows)
                if rows:
                    self._positions[(topic, part)] = int(rows[-1][0]) + 1
        return out

    def poll(self, *, max_records: int, timeout_ms: int) -> list[Record]:
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            try:
                records = self._fetch(max_records)
            except DBAPIError as exc:
                raise EventLogUnavailable(f"embedded event log read failed: {exc.orig}") from exc
            if records or time.monotonic() >= deadline:
                return records
            time.sleep(_IDLE_SLEEP_S)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if not offsets:
            return
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            _store_offsets(session, self._group_id, offsets, now)

    def close(self) -> None:
        self._positions.clear()


def _committed(session: Session, group_id: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
    rows = session.execute(
        select(ConsumerOffset.topic, ConsumerOffset.partition, ConsumerOffset.next_offset).where(
            ConsumerOffset.group_id == group_id, ConsumerOffset.topic.in_(list(topics))
        )
    )
    return {(t, p): int(o) for t, p, o in rows}


def _store_offsets(
    session: Session, group_id: str, offsets: Mapping[TopicPartition, int], now: datetime
) -> None:
    rows: list[dict[str, Any]] = [
        {"group_id": group_id, "topic": t, "partition": p, "next_offset": o, "committed_at": now}
        for (t, p), o in offsets.items()
    ]
    session.execute(insert_ignoring_conflicts(session, ConsumerOffset.__table__, rows))
    for row in rows:
        session.execute(
            update(ConsumerOffset)
            .where(
                ConsumerOffset.group_id == group_id,
                ConsumerOffset.topic == row["topic"],
                ConsumerOffset.partition == row["partition"],
            )
            .values(next_offset=row["next_offset"], committed_at=now)
        )


class EmbeddedEventLog(EventLog):
    """The event log as tables in the database behind `engine`."""

    def __init__(self, engine: Engine, *, partitions: int = 4):
        self._engine = engine
        self._sessions = session_factory(engine)
        self._partitions = partitions

    def check(self) -> None:
        check_database(self._engine)

    def ensure_topics(self, topics: Iterable[str], *, partitions: int | None = None) -> None:
        with self._sessions.begin() as session:
            existing = _partition_counts(session, topics)
            for topic in set(topics) - existing.keys():
                _create_topic(session, topic, partitions or self._partitions)

    def producer(self) -> EmbeddedProducer:
        return EmbeddedProducer(self._sessions, self._partitions)

    def consumer(self, group_id: str, topics: Sequence[str]) -> EmbeddedConsumer:
        return EmbeddedConsumer(self._sessions, group_id, topics)

    def rewind(self, group_id: str, topics: Sequence[str]) -> None:
        with self._sessions.begin() as session:
            session.execute(
                delete(ConsumerOffset).where(
                    ConsumerOffset.group_id == group_id, ConsumerOffset.topic.in_(list(topics))
                )
            )

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        with self._sessions() as session:
            rows = session.execute(
                select(EventLogHead.topic, EventLogHead.partition, EventLogHead.next_offset).where(
                    EventLogHead.topic.in_(list(topics))
                )
            )
            return {(t, p): int(o) for t, p, o in rows}

    def committed(self, group_id: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
        with self._sessions() as session:
            return _committed(session, group_id, topics)
