"""One contract for both event logs: the embedded one (on SQLite and PostgreSQL) and Kafka.

Each test runs against every implementation it applies to, with real services: PostgreSQL
and a real Kafka broker started by scripts/services.sh.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select

from liftmeter.errors import EventLogUnavailable
from liftmeter.eventlog import Consumer
from liftmeter.models import DeadLetter, ProcessedEvent
from liftmeter.outbox import OutboxRelay, enqueue_events, pending_count
from liftmeter.runtime import Runtime, open_runtime

from factories import call_event
from faults import CrashOnCommit, wait_for_members
from support import free_port, make_settings, services
from tally import (
    TallyHandler,
    applied,
    consume_until,
    create_tally,
    make_runner,
    publish,
    row_count,
    totals,
)

ALL = ["embedded-sqlite", "embedded-postgres", "kafka"]


@dataclass
class Stack:
    rt: Runtime
    topic: str
    kind: str

    def group(self) -> str:
        return f"g-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=ALL)
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    kind = request.param
    if kind == "embedded-sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_url")
    backend = "embedded"
    if kind == "kafka":
        request.getfixturevalue("kafka_servers")
        request.node.add_marker(pytest.mark.kafka)
        backend = "kafka"
    rt = open_runtime(make_settings(url, backend=backend, connect_timeout_s=3))
    create_tally(rt.engine)
    topic = f"test.calls.{uuid.uuid4().hex[:10]}"
    rt.event_log.ensure_topics([topic], partitions=4)
    yield Stack(rt, topic, kind)
    rt.close()


def _interleaved(merchants: int, per_merchant: int) -> list:
    return [call_event(f"mer_{m}", seq) for seq in range(per_merchant) for m in range(merchants)]


def test_events_of_one_key_are_delivered_in_order(stack: Stack) -> None:
    events = _interleaved(merchants=5, per_merchant=120)
    publish(stack.rt.event_log, stack.topic, events)
    group = stack.group()
    with stack.rt.event_log.consumer(group, [stack.topic]) as consumer:
        consume_until(
            make_runner(consumer, stack.rt.sessions, group, TallyHandler()), messages=len(events)
        )
    with stack.rt.engine.connect() as conn:
        rows = conn.execute(
            select(applied.c.merchant_id, applied.c.call_id).order_by(applied.c.id)
        ).all()
    assert len(rows) == len(events)
    for m in range(5):
        seqs = [int(call.rsplit("_", 1)[1]) for mid, call in rows if mid == f"mer_{m}"]
        assert seqs == sorted(seqs) == list(range(120))


def test_redelivery_after_a_crash_before_the_offset_commit_counts_once(stack: Stack) -> None:
    events = _interleaved(merchants=4, per_merchant=100)
    publish(stack.rt.event_log, stack.topic, events)
    group = stack.group()
    doomed = CrashOnCommit(stack.rt.event_log.consumer(group, [stack.topic]))
    runner = make_runner(doomed, stack.rt.sessions, group, TallyHandler("doomed"), max_records=150)

    def run_until_killed() -> None:
        for _ in range(200):  # Kafka may need a few polls to join the group
            runner.run_once()

    with pytest.raises(SystemExit):
        run_until_killed()
    doomed.close()
    first_rows, _ = row_count(stack.rt.engine)
    assert first_rows > 0
    with stack.rt.event_log.consumer(group, [stack.topic]) as consumer:
        outcome = consume_until(
            make_runner(consumer, stack.rt.sessions, group, TallyHandler()), messages=len(events)
        )
    assert outcome.duplicates >= first_rows  # the batch came again ...
    assert row_count(stack.rt.engine) == (len(events), len(events))  # ... and counted once
    assert totals(stack.rt.engine) == _expected_totals(events)


def _expected_totals(events: list) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for ev in events:
        n, t = out.get(ev.merchant_id, (0, 0))
        out[ev.merchant_id] = (n + 1, t + ev.prompt_tokens + ev.completion_tokens)
    return out


def test_replay_from_the_beginning_rebuilds_identical_state(stack: Stack) -> None:
    events = _interleaved(merchants=3, per_merchant=150)
    publish(stack.rt.event_log, stack.topic, events)
    group = stack.group()

    def consume() -> None:
        with stack.rt.event_log.consumer(group, [stack.topic]) as consumer:
            consume_until(
                make_runner(consumer, stack.rt.sessions, group, TallyHandler()),
                messages=len(events),
            )

    consume()
    before = totals(stack.rt.engine)
    assert before == _expected_totals(events)
    stack.rt.event_log.rewind(group, [stack.topic])
    consume()  # replay over existing state: every event is a duplicate
    assert totals(stack.rt.engine) == before
    with stack.rt.sessions.begin() as session:  # wipe the derived state, then replay into it
        session.execute(delete(applied))
        session.execute(delete(ProcessedEvent).where(ProcessedEvent.group_id == group))
    stack.rt.event_log.rewind(group, [stack.topic])
    consume()
    assert totals(stack.rt.engine) == before


def test_undecodable_messages_and_poison_events_are_dead_lettered_and_the_rest_applied(
    stack: Stack,
) -> None:
    good = _interleaved(merchants=2, per_merchant=20)
    publish(stack.rt.event_log, stack.topic, good)
    with stack.rt.event_log.producer() as producer:
        producer.send(stack.topic, b"{broken", b"mer_0")
        producer.send(stack.topic, b'{"event_type":"call.completed","schema_version":9}', b"mer_1")
    group = stack.group()
    handler = TallyHandler(poison_call="call_mer_1_7")
    with stack.rt.event_log.consumer(group, [stack.topic]) as consumer:
        outcome = consume_until(
            make_runner(consumer, stack.rt.sessions, group, handler), messages=len(good) + 2
        )
    assert outcome.dead_lettered == 3
    assert row_count(stack.rt.engine) == (len(good) - 1, len(good) - 1)
    with stack.rt.sessions() as session:
        reasons = sorted(
            session.scalars(select(DeadLetter.reason).where(DeadLetter.group_id == group))
        )
    assert any("not JSON" in r for r in reasons)
    assert any("schema_version" in r for r in reasons)
    assert any("cannot apply call_mer_1_7" in r for r in reasons)


def _ours(engine, events: list) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(rows, distinct ids) among `events`: the calls topic is shared with other tests."""
    wanted = {str(ev.event_id) for ev in events}
    with engine.connect() as conn:
        ids = [r for (r,) in conn.execute(select(applied.c.event_id)) if r in wanted]
    return len(ids), len(set(ids))


def test_outbox_relay_delivers_each_row_once_in_effect(stack: Stack) -> None:
    events = [call_event("mer_o", seq) for seq in range(250)]
    with stack.rt.sessions.begin() as session:
        enqueue_events(session, events)
    relay = OutboxRelay(sessions=stack.rt.sessions, log=stack.rt.event_log, batch_size=100)
    relay_topic_events = _retarget(stack, events)
    # A relay that died after publishing and before stamping the rows sent them once already:
    publish(stack.rt.event_log, stack.topic, relay_topic_events[:100])
    assert relay.drain() == 250
    assert relay.drain() == 0
    relay.close()
    with stack.rt.sessions() as session:
        assert pending_count(session) == 0
    group = stack.group()
    for topic, count in ((events[0].topic, 250), (stack.topic, 100)):
        with stack.rt.event_log.consumer(group, [topic]) as consumer:
            runner = make_runner(consumer, stack.rt.sessions, group, TallyHandler())
            consume_until(runner, messages=count)
    assert _ours(stack.rt.engine, events) == (250, 250)


def _retarget(stack: Stack, events: list) -> list:
    stack.rt.event_log.ensure_topics([events[0].topic], partitions=4)
    return events


@pytest.mark.kafka
def test_outbox_relay_waits_out_a_broker_outage(pg_url: str, kafka_servers: str) -> None:
    rt = open_runtime(make_settings(pg_url, backend="kafka", connect_timeout_s=2))
    create_tally(rt.engine)
    topic = events_topic = call_event().topic
    rt.event_log.ensure_topics([topic])
    events = [
        call_event(f"mer_k{seq % 3}", seq, call_id=f"outage-{uuid.uuid4().hex}")
        for seq in range(300)
    ]
    relay = OutboxRelay(sessions=rt.sessions, log=rt.event_log, batch_size=120)
    services("down", "kafka")
    try:
        with rt.sessions.begin() as session:  # the gateway keeps accepting calls
            enqueue_events(session, events)
        with pytest.raises(EventLogUnavailable):
            relay.relay_once()
        with rt.sessions() as session:
            assert pending_count(session) == 300
    finally:
        services("up", "kafka")
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, kwargs={"stop": stop, "max_backoff_s": 1.0})
    worker.start()
    group = f"g-{uuid.uuid4().hex[:8]}"
    ours = {str(ev.event_id) for ev in events}
    try:
        with rt.event_log.consumer(group, [events_topic]) as consumer:
            runner = make_runner(consumer, rt.sessions, group, TallyHandler(), max_records=500)
            import time

            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                runner.run_once()
                with rt.engine.connect() as conn:
                    seen = {r for (r,) in conn.execute(select(applied.c.event_id))} & ours
                if len(seen) == len(ours):
                    break
    finally:
        stop.set()
        worker.join(timeout=30)
        relay.close()
    assert _ours(rt.engine, events) == (300, 300)
    with rt.sessions() as session:
        assert pending_count(session) == 0
    rt.close()


@pytest.mark.kafka
def test_two_consumers_in_one_group_split_partitions_and_see_each_event_once(
    pg_url: str, kafka_servers: str
) -> None:
    rt = open_runtime(make_settings(pg_url, backend="kafka"))
    create_tally(rt.engine)
    topic = f"test.split.{uuid.uuid4().hex[:10]}"
    rt.event_log.ensure_topics([topic], partitions=4)
    events = _interleaved(merchants=24, per_merchant=60)
    group = f"g-{uuid.uuid4().hex[:8]}"
    done = threading.Event()
    errors: list[BaseException] = []

    def member(name: str) -> None:
        try:
            with rt.event_log.consumer(group, [topic]) as consumer:
                runner = make_runner(
                    consumer, rt.sessions, group, TallyHandler(name), max_records=50
                )
                while not done.is_set():
                    runner.run_once()
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=member, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    # Events only once both members hold partitions: the first member to join drains a
    # backlog of this size before the second one's join has been rebalanced in.
    wait_for_members(group, 2)
    publish(rt.event_log, topic, events)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and row_count(rt.engine)[1] < len(events):
        time.sleep(0.3)
    done.set()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert row_count(rt.engine) == (len(events), len(events))
    with rt.engine.connect() as conn:
        per_worker = dict(
            conn.execute(select(applied.c.worker, func.count()).group_by(applied.c.worker)).all()
        )
    assert per_worker.get("a", 0) > 0
    assert per_worker.get("b", 0) > 0
    rt.close()


def test_a_kafka_consumer_without_a_reachable_broker_fails_its_poll() -> None:
    """librdkafka retries connections by itself; once no broker at all can be reached, the
    poll raises so that the consume loop reopens (and logs) instead of idling silently."""
    from liftmeter.eventlog.kafka import KafkaEventConsumer
    from liftmeter.settings import EventsSettings

    settings = EventsSettings(
        backend="kafka", bootstrap_servers=f"127.0.0.1:{free_port()}", connect_timeout_s=1
    )
    with (
        KafkaEventConsumer(settings, "g-unreachable", ["test.nowhere"]) as consumer,
        pytest.raises(EventLogUnavailable, match="Kafka poll failed"),
    ):
        _poll_for(consumer, seconds=30)


def _poll_for(consumer: Consumer, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        consumer.poll(max_records=10, timeout_ms=200)


@pytest.mark.kafka
def test_a_kafka_consumer_of_a_topic_not_created_yet_reads_it_once_created(
    pg_url: str, kafka_servers: str
) -> None:
    rt = open_runtime(make_settings(pg_url, backend="kafka", connect_timeout_s=3))
    topic = f"test.later.{uuid.uuid4().hex[:10]}"
    events = [call_event("mer_later", seq) for seq in range(5)]
    with rt.event_log.consumer(f"g-{uuid.uuid4().hex[:8]}", [topic]) as consumer:
        for _ in range(5):  # no topic: nothing to read, and no error either
            assert consumer.poll(max_records=10, timeout_ms=200) == []
        rt.event_log.ensure_topics([topic], partitions=2)
        publish(rt.event_log, topic, events)
        got: list[bytes] = []
        deadline = time.monotonic() + 60
        while len(got) < len(events) and time.monotonic() < deadline:
            got.extend(r.value for r in consumer.poll(max_records=10, timeout_ms=200))
    assert sorted(got) == sorted(ev.encode() for ev in events)
    rt.close()
