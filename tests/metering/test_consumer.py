"""The metering consumer on every event log (embedded on SQLite and PostgreSQL, Kafka):
duplicates, redelivery after a crash, dead letters, replay, reconcile, two group members."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from liftmeter.consumer import ConsumerRunner
from liftmeter.eventlog import Consumer
from liftmeter.models import DeadLetter
from liftmeter.runtime import Runtime, open_runtime
from metering.consumer import build_runner, run_consumer
from metering.models import UsageHourly
from metering.replay import reconcile

from factories import call_event
from faults import CrashOnCommit, wait_for_members
from metering_support import add_merchants, expected, hourly_snapshot, ledger, raw_rows
from support import PG_ADMIN_URL, make_settings
from tally import consume_until, publish

MERCHANTS = [f"mer_{i}" for i in range(13)]


@dataclass
class Stack:
    rt: Runtime
    topic: str
    kind: str

    def runner(self, consumer: Consumer, group: str, max_records: int = 200) -> ConsumerRunner:
        return build_runner(  # as `liftmeter metering run`: fast decode, no claims
            consumer=consumer,
            sessions=self.rt.sessions,
            group_id=group,
            max_records=max_records,
            timeout_ms=300,
        )

    def consume(self, group: str, messages: int, max_records: int = 200) -> None:
        with self.rt.event_log.consumer(group, [self.topic]) as consumer:
            consume_until(self.runner(consumer, group, max_records), messages=messages)


def _open(url: str, backend: str, topic: str) -> Runtime:
    rt = open_runtime(make_settings(url, backend=backend, connect_timeout_s=3))
    add_merchants(rt.sessions, MERCHANTS)
    rt.event_log.ensure_topics([topic], partitions=4)
    return rt


@pytest.fixture(params=["embedded-sqlite", "embedded-postgres", "kafka"])
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    kind = request.param
    url = request.getfixturevalue("sqlite_url" if kind == "embedded-sqlite" else "pg_url")
    backend = "embedded"
    if kind == "kafka":
        request.getfixturevalue("kafka_servers")
        backend = "kafka"
    topic = f"test.metering.{uuid.uuid4().hex[:10]}"
    rt = _open(url, backend, topic)
    yield Stack(rt, topic, kind)
    rt.close()


def _calls(n: int, merchants: int = 13) -> list:
    return [
        call_event(f"mer_{i % merchants}", i, cached_tokens=None if i % 3 else i % 40)
        for i in range(n)
    ]


def _group() -> str:
    return f"metering-{uuid.uuid4().hex[:8]}"


def test_duplicates_within_and_across_batches_count_once(stack: Stack) -> None:
    events = _calls(600)
    # the outbox relay may publish a row twice: right after itself and much later
    wire = events[:300] + events[:50] + events[300:] + events[::7]
    publish(stack.rt.event_log, stack.topic, wire)
    stack.consume(_group(), messages=len(wire), max_records=250)
    assert ledger(stack.rt.sessions) == expected(events)
    assert raw_rows(stack.rt.engine) == len(events)


def test_redelivery_after_a_crash_before_the_offset_commit_leaves_totals_unchanged(
    stack: Stack,
) -> None:
    events = _calls(500)
    publish(stack.rt.event_log, stack.topic, events)
    group = _group()
    doomed = CrashOnCommit(stack.rt.event_log.consumer(group, [stack.topic]))
    runner = stack.runner(doomed, group, max_records=150)

    def run_until_killed() -> None:
        for _ in range(200):  # Kafka may need a few polls to join the group
            runner.run_once()

    with pytest.raises(SystemExit):
        run_until_killed()
    doomed.close()
    after_crash = ledger(stack.rt.sessions)
    assert 0 < sum(v[0] for v in after_crash.values()) < len(events)
    stack.consume(group, messages=len(events))
    assert ledger(stack.rt.sessions) == expected(events)
    assert raw_rows(stack.rt.engine) == len(events)


def test_bad_input_is_dead_lettered_with_a_reason_and_nothing_else_moves(stack: Stack) -> None:
    now = datetime.now(UTC)
    good = _calls(40)
    bad_events = [
        call_event("mer_unknown", 1),
        call_event("mer_1", 2, occurred_at=now + timedelta(days=2)),
        call_event("mer_1", 3, occurred_at=datetime(2019, 6, 1, tzinfo=UTC)),
    ]
    publish(stack.rt.event_log, stack.topic, good[:20] + bad_events + good[20:])
    with stack.rt.event_log.producer() as producer:
        producer.send(stack.topic, b"{not json", b"mer_1")
        wrong_version = good[0].model_dump(mode="json") | {"schema_version": 9}
        producer.send(stack.topic, json.dumps(wrong_version).encode(), b"mer_1")
    stack.consume("metering", messages=len(good) + len(bad_events) + 2)
    assert ledger(stack.rt.sessions) == expected(good)
    with stack.rt.sessions() as session:
        reasons = list(
            session.scalars(select(DeadLetter.reason).where(DeadLetter.group_id == "metering"))
        )
    assert len(reasons) == 5
    joined = "\n".join(reasons)
    for fragment in ("unknown merchant", "future", "before 2020", "not JSON", "schema_version"):
        assert fragment in joined


def test_a_rejected_call_stays_rejected_when_redelivered_after_its_merchant_exists(
    stack: Stack,
) -> None:
    good = _calls(30)
    early = call_event("mer_late", 1)  # its merchant does not exist yet
    publish(stack.rt.event_log, stack.topic, [*good, early])
    group = _group()
    stack.consume(group, messages=len(good) + 1)
    add_merchants(stack.rt.sessions, ["mer_late"])
    stack.rt.event_log.rewind(group, [stack.topic])  # a replay into the same database
    stack.consume(group, messages=len(good) + 1)
    assert ledger(stack.rt.sessions) == expected(good)  # counted once; `early` never
    with stack.rt.sessions() as session:
        reasons = list(
            session.scalars(select(DeadLetter.reason).where(DeadLetter.group_id == group))
        )
    assert reasons == ["merchant_id: unknown merchant 'mer_late'"]


def test_replay_from_offset_zero_into_a_fresh_database_gives_an_identical_ledger(
    stack: Stack, request: pytest.FixtureRequest
) -> None:
    events = _calls(900)
    publish(stack.rt.event_log, stack.topic, events + events[:100])
    stack.consume(_group(), messages=len(events) + 100, max_records=300)
    original = hourly_snapshot(stack.rt.engine)
    assert original
    if stack.kind == "kafka":  # the log outlives the database: replay into a new one
        fresh = _open(_new_pg_database(request), "kafka", stack.topic)
        replay = Stack(fresh, stack.topic, stack.kind)
        replay.consume(_group(), messages=len(events) + 100, max_records=1000)
        assert hourly_snapshot(fresh.engine) == original
        fresh.close()
    # and a rewind over the live ledger changes nothing
    group = _group()
    stack.consume(group, messages=len(events) + 100)
    stack.rt.event_log.rewind(group, [stack.topic])
    stack.consume(group, messages=len(events) + 100)
    assert hourly_snapshot(stack.rt.engine) == original


def _new_pg_database(request: pytest.FixtureRequest) -> str:
    template = request.getfixturevalue("pg_template")
    name = f"liftmeter_r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def test_reconcile_agrees_with_the_log_and_reports_a_tampered_hour(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _calls(300)
    publish(stack.rt.event_log, stack.topic, [*events, events[5], call_event("mer_nobody", 1)])
    stack.consume("metering", messages=len(events) + 2)
    result = reconcile(stack.rt.event_log, stack.rt.sessions, topic=stack.topic, timeout_s=60)
    assert result.differences == []
    assert (result.events, result.duplicates, result.dead_lettered) == (300, 1, 1)
    with stack.rt.sessions.begin() as session:
        session.execute(
            update(UsageHourly)
            .where(UsageHourly.merchant_id == "mer_3")
            .values(prompt_tokens=UsageHourly.prompt_tokens + 1)
        )
    from liftmeter.cli import app

    monkeypatch.setenv("LIFTMETER_DATABASE__URL", str(stack.rt.engine.url.render_as_string(False)))
    monkeypatch.setenv("LIFTMETER_EVENTS__BACKEND", stack.rt.settings.events.backend)
    monkeypatch.setenv(
        "LIFTMETER_EVENTS__BOOTSTRAP_SERVERS", stack.rt.settings.events.bootstrap_servers
    )
    cli = CliRunner()
    out = cli.invoke(app, ["metering", "reconcile", "--topic", stack.topic, "--timeout-s", "60"])
    assert out.exit_code == 1, out.output
    assert "mer_3" in out.output
    assert "1 difference" in out.output
    rebuilt = cli.invoke(app, ["metering", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    out = cli.invoke(app, ["metering", "reconcile", "--topic", stack.topic, "--timeout-s", "60"])
    assert out.exit_code == 0, out.output
    assert "ledger matches the log" in out.output
    listed = cli.invoke(app, ["metering", "dead-letters"])
    assert listed.exit_code == 0
    assert "mer_nobod" in listed.output


@pytest.mark.kafka
def test_two_consumers_in_one_group_count_each_event_once(pg_url: str, kafka_servers: str) -> None:
    topic = f"test.metering.split.{uuid.uuid4().hex[:8]}"
    rt = _open(pg_url, "kafka", topic)
    events = _calls(4000)
    group, stop = _group(), threading.Event()
    outcomes = []

    def member() -> None:
        outcomes.append(
            run_consumer(
                event_log=rt.event_log,
                sessions=rt.sessions,
                stop=stop,
                group_id=group,
                topics=[topic],
                max_records=100,
                timeout_ms=200,
            )
        )

    threads = [threading.Thread(target=member) for _ in range(2)]
    for t in threads:
        t.start()
    # Events only once both members hold partitions: the first member to join drains a
    # backlog of this size before the second one's join has been rebalanced in.
    wait_for_members(group, 2)
    publish(rt.event_log, topic, events)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and raw_rows(rt.engine) < len(events):
        time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert ledger(rt.sessions) == expected(events)
    assert len(outcomes) == 2
    assert all(o.applied > 0 for o in outcomes), outcomes
    assert sum(o.applied for o in outcomes) == len(events)
    rt.close()
