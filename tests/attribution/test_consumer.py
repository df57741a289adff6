"""The attribution consumer on every event log (embedded on SQLite and PostgreSQL, Kafka):
duplicates, dedupe of orders, redelivery after a crash, replay, and dead letters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from attribution.consumer import build_runner
from liftmeter.eventlog import Consumer
from liftmeter.events import ConversionRecorded, Event, ExposureRecorded
from liftmeter.models import DeadLetter
from liftmeter.runtime import Runtime, open_runtime

from attribution_support import START, add_experiment, add_merchant, synthetic_events, totals
from faults import CrashOnCommit
from support import make_settings
from tally import consume_until


@dataclass
class Stack:
    rt: Runtime
    topics: dict[str, str]  # event topic -> the test's own topic
    kind: str

    def publish(self, events: list[Event]) -> None:
        with self.rt.event_log.producer() as producer:
            for event in events:
                producer.send(self.topics[event.topic], event.encode(), event.key)

    def consume(self, group: str, messages: int, consumer: Consumer | None = None) -> None:
        opened = consumer or self.rt.event_log.consumer(group, list(self.topics.values()))
        with opened:
            runner = build_runner(
                consumer=opened,
                sessions=self.rt.sessions,
                group_id=group,
                max_records=150,
                timeout_ms=300,
            )
            consume_until(runner, messages=messages)


@pytest.fixture(
    params=[
        "embedded-sqlite",
        pytest.param("embedded-postgres", marks=pytest.mark.postgres),
        pytest.param("kafka", marks=[pytest.mark.postgres, pytest.mark.kafka]),
    ]
)
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    kind = request.param
    url = request.getfixturevalue("sqlite_url" if kind == "embedded-sqlite" else "pg_url")
    backend = "embedded"
    if kind == "kafka":
        request.getfixturevalue("kafka_servers")
        backend = "kafka"
    rt = open_runtime(make_settings(url, backend=backend, connect_timeout_s=3))
    suffix = uuid.uuid4().hex[:10]
    topics = {
        ExposureRecorded.topic: f"test.exposures.{suffix}",
        ConversionRecorded.topic: f"test.conversions.{suffix}",
    }
    rt.event_log.ensure_topics(list(topics.values()), partitions=3)
    add_merchant(rt.sessions, "mer_a")
    add_merchant(rt.sessions, "mer_b")
    add_merchant(rt.sessions, "mer_eur", currency="EUR")
    add_experiment(rt.sessions, "mer_a", "exp_a")
    add_experiment(rt.sessions, "mer_b", "exp_b")
    add_experiment(rt.sessions, "mer_eur", "exp_eur")
    yield Stack(rt, topics, kind)
    rt.close()


def _group() -> str:
    return f"attribution-{uuid.uuid4().hex[:8]}"


def test_duplicates_and_replay_from_offset_zero_change_nothing(stack: Stack) -> None:
    events = synthetic_events("mer_a", "exp_a", units=300, seed=5)
    wire = events + events[:40] + events[::9]  # the outbox relay may publish a row twice
    stack.publish(wire)
    group = _group()
    stack.consume(group, messages=len(wire))
    first = totals(stack.rt.engine)
    assert first["exposures"] == sum(isinstance(e, ExposureRecorded) for e in events)
    assert first["conversions"] == sum(isinstance(e, ConversionRecorded) for e in events)
    assert len(first["units"]) == 300  # type: ignore[arg-type]
    stack.rt.event_log.rewind(group, list(stack.topics.values()))
    stack.consume(group, messages=len(wire))
    assert totals(stack.rt.engine) == first
    stack.consume(_group(), messages=len(wire))  # a second group: every id claimed afresh
    assert totals(stack.rt.engine) == first


def test_an_order_resent_with_a_new_event_id_counts_once(stack: Stack) -> None:
    base = synthetic_events("mer_a", "exp_a", units=5, seed=2)
    order = dict(
        merchant_id="mer_a",
        occurred_at=START + timedelta(days=3),
        kind="purchase",
        visitor_id="v1",
        product_id="sku-1",
        order_id="order-77",
        revenue="10.00",
        currency="USD",
    )
    again = [ConversionRecorded(**order) for _ in range(3)]  # type: ignore[arg-type]
    other_kind = ConversionRecorded(**{**order, "kind": "add_to_cart"})  # type: ignore[arg-type]
    other_merchant = ConversionRecorded(**{**order, "merchant_id": "mer_b"})  # type: ignore[arg-type]
    stack.publish([*base, *again, other_kind, other_merchant])
    stack.consume(_group(), messages=len(base) + 5)
    in_base = sum(isinstance(e, ConversionRecorded) for e in base)
    assert totals(stack.rt.engine)["conversions"] == in_base + 3  # once per (merchant, order, kind)


def test_a_crash_between_the_database_and_the_offset_commit_leaves_totals_unchanged(
    stack: Stack,
) -> None:
    events = synthetic_events("mer_a", "exp_a", units=400, seed=9)
    stack.publish(events)
    reference = _group()
    group = _group()
    doomed = CrashOnCommit(stack.rt.event_log.consumer(group, list(stack.topics.values())))
    runner = build_runner(
        consumer=doomed,
        sessions=stack.rt.sessions,
        group_id=group,
        max_records=150,
        timeout_ms=300,
    )

    def run_until_killed() -> None:
        for _ in range(200):  # Kafka may need a few polls to join the group
            runner.run_once()

    with pytest.raises(SystemExit):
        run_until_killed()
    doomed.close()
    partial = totals(stack.rt.engine)
    assert 0 < partial["exposures"] + partial["conversions"] < len(events)  # type: ignore[operator]
    stack.consume(group, messages=len(events))  # restart: the batch comes again
    after_restart = totals(stack.rt.engine)
    stack.consume(reference, messages=len(events))  # a clean full pass on top changes nothing
    assert totals(stack.rt.engine) == after_restart
    assert after_restart["exposures"] == sum(isinstance(e, ExposureRecorded) for e in events)
    assert after_restart["conversions"] == sum(isinstance(e, ConversionRecorded) for e in events)


def test_bad_events_are_dead_lettered_with_a_reason_and_the_rest_goes_through(
    stack: Stack,
) -> None:
    good = synthetic_events("mer_a", "exp_a", units=20, seed=4)
    exposure = dict(
        merchant_id="mer_a",
        occurred_at=START + timedelta(days=1),
        experiment_id="exp_a",
        unit_type="visitor",
        unit_id="vx",
        product_id="sku-1",
        arm="treatment",
    )
    purchase = dict(
        merchant_id="mer_a",
        occurred_at=START + timedelta(days=1),
        kind="purchase",
        visitor_id="vx",
        product_id="sku-1",
        order_id="o-bad",
        revenue="5.00",
        currency="USD",
    )
    bad: list[Event] = [
        ExposureRecorded(**{**exposure, "experiment_id": "exp_nope"}),  # type: ignore[arg-type]
        ExposureRecorded(**{**exposure, "experiment_id": "exp_b"}),  # type: ignore[arg-type]
        ExposureRecorded(**{**exposure, "unit_type": "product"}),  # type: ignore[arg-type]
        ExposureRecorded(**{**exposure, "occurred_at": START - timedelta(days=1)}),  # type: ignore[arg-type]
        ConversionRecorded(**{**purchase, "occurred_at": START - timedelta(hours=1)}),  # type: ignore[arg-type]
        ConversionRecorded(**{**purchase, "merchant_id": "mer_eur"}),  # type: ignore[arg-type]
        ConversionRecorded(**{**purchase, "merchant_id": "mer_nobody"}),  # type: ignore[arg-type]
    ]
    stack.publish(good[:10] + bad + good[10:])
    group = _group()
    stack.consume(group, messages=len(good) + len(bad))
    with stack.rt.sessions() as session:
        reasons = list(
            session.scalars(select(DeadLetter.reason).where(DeadLetter.group_id == group))
        )
    assert len(reasons) == len(bad)
    joined = "\n".join(reasons)
    for fragment in (
        "experiment_id: unknown experiment 'exp_nope'",
        "experiment_id: unknown experiment 'exp_b'",
        "unit_type: the experiment randomizes by visitor",
        "before the experiment started",
        "before the merchant's first experiment started",
        "currency: USD is not the merchant's currency EUR",
        "unknown merchant 'mer_nobody'",
    ):
        assert fragment in joined
    clean = totals(stack.rt.engine)
    assert clean["exposures"] == sum(isinstance(e, ExposureRecorded) for e in good)
    assert clean["conversions"] == sum(isinstance(e, ConversionRecorded) for e in good)
