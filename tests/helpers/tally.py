"""A test-only consumer that records every applied event as a row, so double counting shows.

The table has no unique constraint on purpose: if the runner ever handed the same event to
the handler twice, the test would see two rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import Session

from liftmeter.consumer import BatchOutcome, ConsumerRunner, Rejection
from liftmeter.eventlog import Consumer, EventLog
from liftmeter.events import CallCompleted, Event

metadata = MetaData()
applied = Table(
    "test_applied",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("merchant_id", String(64), nullable=False),
    Column("call_id", String(128), nullable=False),
    Column("tokens", Integer, nullable=False),
    Column("worker", String(64), nullable=False),
)


def create_tally(engine: Engine) -> None:
    metadata.create_all(engine)


class TallyHandler:
    """Inserts one row per applied event; rejects events of `poison_merchant` by raising."""

    def __init__(self, worker: str = "w", poison_call: str | None = None):
        self.worker = worker
        self.poison_call = poison_call

    def __call__(self, session: Session, events: Sequence[Event]) -> list[Rejection]:
        rows = []
        for ev in events:
            assert isinstance(ev, CallCompleted)
            if ev.call_id == self.poison_call:
                raise RuntimeError(f"cannot apply {ev.call_id}")
            rows.append(
                {
                    "event_id": str(ev.event_id),
                    "merchant_id": ev.merchant_id,
                    "call_id": ev.call_id,
                    "tokens": ev.prompt_tokens + ev.completion_tokens,
                    "worker": self.worker,
                }
            )
        session.execute(applied.insert(), rows)
        return []


def publish(log: EventLog, topic: str, events: Sequence[Event]) -> None:
    with log.producer() as producer:
        for ev in events:
            producer.send(topic, ev.encode(), ev.key)


def consume_until(runner: ConsumerRunner, *, messages: int, timeout_s: float = 90) -> BatchOutcome:
    """Run batches until at least `messages` were polled and the log is quiet."""
    total = BatchOutcome()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        outcome = runner.run_once()
        total.add(outcome)
        if total.polled >= messages and outcome.polled == 0:
            return total
    raise AssertionError(f"timed out after polling {total.polled} of {messages} messages")


def make_runner(
    consumer: Consumer, sessions, group: str, handler, max_records: int = 200
) -> ConsumerRunner:  # type: ignore[no-untyped-def]
    return ConsumerRunner(
        consumer=consumer,
        sessions=sessions,
        group_id=group,
        handler=handler,
        max_records=max_records,
        timeout_ms=300,
    )


def totals(engine: Engine) -> dict[str, tuple[int, int]]:
    """Per merchant: (rows, tokens)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(applied.c.merchant_id, func.count(), func.sum(applied.c.tokens)).group_by(
                applied.c.merchant_id
            )
        )
        return {m: (int(n), int(t)) for m, n, t in rows}


def row_count(engine: Engine) -> tuple[int, int]:
    """(rows, distinct event ids)."""
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(applied)).scalar_one()
        d = conn.execute(select(func.count(applied.c.event_id.distinct()))).scalar_one()
        return int(n), int(d)
