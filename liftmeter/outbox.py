"""The transactional outbox and its relay.

A change and the events it causes are written in one transaction: `enqueue_events` adds
outbox rows in the caller's session. The relay later publishes unsent rows to the event
log, waits until the log has stored them (`flush`), and only then stamps them sent. If the
log is down, nothing is stamped and the relay retries with backoff; if the relay dies
between publishing and stamping, the rows are published again, and consumers absorb the
repeat by event id. Every row is therefore delivered exactly once in effect.

Run one relay per database; a second one is safe (it can only cause repeats) but wasteful.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from liftmeter.errors import EventLogUnavailable
from liftmeter.eventlog.base import EventLog, Producer
from liftmeter.events import Event
from liftmeter.logging import get_logger
from liftmeter.models import OutboxMessage

log = get_logger(__name__)


def enqueue_events(session: Session, events: Iterable[Event]) -> None:
    """Add `events` to the outbox in the caller's transaction (flushed, not committed).

    One Core INSERT executed for all rows (batched into multi-row statements): an upload of
    100,000 conversions must not pay the ORM's per-object bookkeeping.
    """
    rows = [
        {
            "event_id": ev.event_id,
            "topic": ev.topic,
            "key": ev.key,
            "value": ev.encode(),
            "created_at": datetime.now(UTC),
            "attempts": 0,
        }
        for ev in events
    ]
    session.flush()
    if rows:
        session.execute(insert(OutboxMessage), rows)


def pending_count(session: Session) -> int:
    """Outbox rows not yet published (the relay's lag)."""
    stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    return int(session.execute(stmt).scalar_one())


class OutboxRelay:
    """Moves outbox rows to the event log, oldest first."""

    def __init__(self, *, sessions: sessionmaker[Session], log: EventLog, batch_size: int = 1000):
        self._sessions = sessions
        self._log = log
        self._batch_size = batch_size
        self._producer: Producer | None = None

    def relay_once(self) -> int:
        """Publish one batch of unsent rows; return how many. Raises `EventLogUnavailable`."""
        with self._sessions() as session:
            rows = session.execute(
                select(
                    OutboxMessage.id, OutboxMessage.topic, OutboxMessage.key, OutboxMessage.value
                )
                .where(OutboxMessage.sent_at.is_(None))
                .order_by(OutboxMessage.id)
                .limit(self._batch_size)
            ).all()
        if not rows:
            return 0
        ids = [row.id for row in rows]
        try:
            producer = self._producer or self._log.producer()
            self._producer = producer
            for row in rows:
                producer.send(row.topic, row.value, row.key)
            producer.flush()
        except EventLogUnavailable:
            self._reset_producer()
            self._count_attempt(ids)
            raise
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(sent_at=datetime.now(UTC), attempts=OutboxMessage.attempts + 1)
            )
        return len(rows)

    def drain(self) -> int:
        """Publish until the outbox is empty; return how many rows went out."""
        total = 0
        while sent := self.relay_once():
            total += sent
        return total

    def run(
        self, *, stop: threading.Event, idle_sleep_s: float = 0.2, max_backoff_s: float = 5.0
    ) -> None:
        """Relay until `stop` is set, backing off while the event log is unavailable."""
        backoff = idle_sleep_s
        while not stop.is_set():
            try:
                sent = self.relay_once()
                backoff = idle_sleep_s
            except EventLogUnavailable as exc:
                log.warning("event log unavailable; outbox relay backing off", error=str(exc))
                stop.wait(backoff)
                backoff = min(max_backoff_s, backoff * 2)
                continue
            if not sent:
                stop.wait(idle_sleep_s)

    def close(self) -> None:
        self._reset_producer()

    def _reset_producer(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):  # already broken: drop it
                self._producer.close()
            self._producer = None

    def _count_attempt(self, ids: list[int]) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(attempts=OutboxMessage.attempts + 1)
            )


def relay_forever(relay: OutboxRelay, stop: threading.Event) -> threading.Thread:
    """Start `relay.run` in a daemon thread (for servers that host their own relay)."""
    thread = threading.Thread(
        target=relay.run, kwargs={"stop": stop}, name="outbox-relay", daemon=True
    )
    thread.start()
    return thread
