"""ConsumerRunner with `overlap_poll`: the next batch is polled while a transaction runs, and
offsets still follow the database commit of their own batch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from liftmeter.consumer import ConsumerRunner, Rejection
from liftmeter.events import Event
from liftmeter.runtime import Runtime, open_runtime

from factories import call_event
from support import make_settings
from tally import TallyHandler, create_tally, publish, row_count


@pytest.fixture(params=["embedded-postgres", "kafka"])
def rt(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    backend = "embedded"
    if request.param == "kafka":
        request.getfixturevalue("kafka_servers")
        backend = "kafka"
    runtime = open_runtime(
        make_settings(request.getfixturevalue("pg_url"), backend=backend, connect_timeout_s=3)
    )
    create_tally(runtime.engine)
    yield runtime
    runtime.close()


def _runner(rt: Runtime, consumer, group: str, handler) -> ConsumerRunner:  # type: ignore[no-untyped-def]
    return ConsumerRunner(
        consumer=consumer,
        sessions=rt.sessions,
        group_id=group,
        handler=handler,
        max_records=100,
        timeout_ms=300,
        overlap_poll=True,
    )


def _topic(rt: Runtime, events: Sequence[Event]) -> str:
    topic = f"test.overlap.{uuid.uuid4().hex[:10]}"
    rt.event_log.ensure_topics([topic], partitions=4)
    publish(rt.event_log, topic, events)
    return topic


def _run_until_done(runner: ConsumerRunner, events: int) -> int:
    polled = 0
    for _ in range(100):  # Kafka may need a few polls to join the group
        polled += runner.run(idle_polls_before_exit=3).polled
        if polled >= events:
            break
    return polled


def test_overlapping_runner_counts_each_event_once_with_duplicates(rt: Runtime) -> None:
    events = [call_event(f"mer_{i % 7}", i) for i in range(1_000)]
    topic = _topic(rt, [*events, *events[::3]])
    group = f"g-{uuid.uuid4().hex[:8]}"
    with rt.event_log.consumer(group, [topic]) as consumer:
        _run_until_done(_runner(rt, consumer, group, TallyHandler()), 1_334)
    assert row_count(rt.engine) == (1_000, 1_000)
    assert rt.event_log.lag(group, [topic]) == 0


class FailsOnThirdBatch(TallyHandler):
    """Applies two batches, then loses the database on the third."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __call__(self, session: Session, events: Sequence[Event]) -> list[Rejection]:
        self.calls += 1
        if self.calls == 3:
            raise OperationalError("INSERT", {}, Exception("connection lost"))
        return super().__call__(session, events)


def test_a_failed_batch_and_the_batch_polled_ahead_are_not_committed(rt: Runtime) -> None:
    events = [call_event(f"mer_{i % 7}", i) for i in range(1_000)]
    topic = _topic(rt, events)
    group = f"g-{uuid.uuid4().hex[:8]}"
    with (
        rt.event_log.consumer(group, [topic]) as consumer,
        pytest.raises(OperationalError),
    ):
        _run_until_done(_runner(rt, consumer, group, FailsOnThirdBatch()), 1_000)
    applied, _ = row_count(rt.engine)
    assert 0 < applied < 1_000
    # Committed offsets cover exactly the batches whose transaction committed.
    assert rt.event_log.lag(group, [topic]) == 1_000 - applied
    with rt.event_log.consumer(group, [topic]) as consumer:
        _run_until_done(_runner(rt, consumer, group, TallyHandler()), 1_000 - applied)
    assert row_count(rt.engine) == (1_000, 1_000)
