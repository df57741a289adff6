"""Prometheus metrics of the consumer processes: outcomes, batches, transaction times, lag
and reopens, counted by the real runner and served over HTTP by `liftmeter metering run`."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import threading
import uuid

import httpx
import pytest
import typer
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from liftmeter.consumer import ConsumerRunner, consume_until_stopped
from liftmeter.consumer_metrics import ConsumerMetrics, MetricsEndpoint, serving_metrics
from liftmeter.runtime import Runtime, open_runtime
from metering.consumer import MeteringHandler, run_consumer

from factories import call_event
from faults import wait_for
from metering_support import add_merchants
from support import cli_env, free_port, make_settings

GROUP = "metering"


def _sample(metrics: ConsumerMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, {"group": GROUP, **labels})
    assert value is not None, name
    return value


def _published(rt: Runtime, topic: str) -> int:
    """300 calls, 50 of them sent twice, one of an unknown merchant, one undecodable: 352."""
    rt.event_log.ensure_topics([topic])
    calls = [call_event(f"mer_{i % 3}", i) for i in range(300)]
    wire = [*calls, *calls[:50], call_event("mer_nobody", 999)]
    with rt.event_log.producer() as producer:
        for event in wire:
            producer.send(topic, event.encode(), event.key)
        producer.send(topic, b"{not json", b"k")
    return len(wire) + 1


def test_the_runner_counts_outcomes_batches_transactions_and_lag(db_url: str) -> None:
    rt = open_runtime(make_settings(db_url))
    add_merchants(rt.sessions, ["mer_0", "mer_1", "mer_2"])
    topic = f"test.metrics.{uuid.uuid4().hex[:8]}"
    sent = _published(rt, topic)
    metrics = ConsumerMetrics()
    metrics.watch_lag(GROUP, lambda: rt.event_log.lag(GROUP, [topic]))
    assert _sample(metrics, "liftmeter_consumer_lag_events") == sent
    outcome = run_consumer(
        event_log=rt.event_log,
        sessions=rt.sessions,
        stop=threading.Event(),
        topics=[topic],
        max_records=100,
        timeout_ms=100,
        idle_polls_before_exit=2,
        metrics=metrics,
    )
    assert (outcome.applied, outcome.duplicates, outcome.dead_lettered) == (300, 50, 2)
    events = "liftmeter_consumer_events_total"
    assert _sample(metrics, events, outcome="applied") == 300
    assert _sample(metrics, events, outcome="duplicate") == 50
    assert _sample(metrics, events, outcome="dead_lettered") == 2
    batches = _sample(metrics, "liftmeter_consumer_batches_total")
    assert batches == math.ceil(sent / 100)
    assert _sample(metrics, "liftmeter_consumer_transaction_seconds_count") == batches
    assert _sample(metrics, "liftmeter_consumer_transaction_seconds_sum") > 0
    assert _sample(metrics, "liftmeter_consumer_last_commit_timestamp_seconds") > 0
    assert _sample(metrics, "liftmeter_consumer_lag_events") == 0
    rt.close()


def test_an_unreadable_lag_is_nan_not_a_failed_scrape() -> None:
    metrics = ConsumerMetrics()

    def broken() -> int:
        raise ConnectionError("broker away")

    metrics.watch_lag(GROUP, broken)
    assert math.isnan(_sample(metrics, "liftmeter_consumer_lag_events"))


def test_each_reopen_after_a_database_failure_is_counted(sqlite_url: str) -> None:
    """The event log is fine, the database the runner writes to is down (nothing listens on
    its port): every batch fails, and the loop reopens its consumer and counts it."""
    rt = open_runtime(make_settings(sqlite_url))
    topic = f"test.metrics.down.{uuid.uuid4().hex[:8]}"
    _published(rt, topic)
    down = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    metrics, stop = ConsumerMetrics(), threading.Event()

    def runner_for(consumer):  # type: ignore[no-untyped-def]
        return ConsumerRunner(
            consumer=consumer,
            sessions=sessionmaker(down),
            group_id=GROUP,
            handler=MeteringHandler(group_id=GROUP),
            max_records=100,
            timeout_ms=100,
        )

    def reopens() -> float:
        return (
            metrics.registry.get_sample_value("liftmeter_consumer_reopens_total", {"group": GROUP})
            or 0.0
        )

    worker = threading.Thread(
        target=consume_until_stopped,
        kwargs={
            "event_log": rt.event_log,
            "group_id": GROUP,
            "topics": [topic],
            "stop": stop,
            "runner_for": runner_for,
            "retry_wait_s": 0.05,
            "metrics": metrics,
        },
    )
    worker.start()
    try:
        wait_for(lambda: reopens() >= 3, timeout_s=60)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert metrics.registry.get_sample_value(
        "liftmeter_consumer_batches_total", {"group": GROUP}
    ) in (None, 0.0)  # nothing was committed
    assert rt.event_log.lag(GROUP, [topic]) > 0
    down.dispose()
    rt.close()


def test_metrics_are_served_over_http_and_a_taken_port_is_a_clear_error() -> None:
    endpoint = MetricsEndpoint("127.0.0.1", free_port())
    with serving_metrics(endpoint, GROUP, lambda: 7) as metrics:
        assert metrics is not None
        body = httpx.get(endpoint.url, timeout=10).text
        assert f'liftmeter_consumer_lag_events{{group="{GROUP}"}} 7.0' in body
        taken = pytest.raises(typer.BadParameter, match="cannot serve metrics on 127.0.0.1")
        with taken, serving_metrics(endpoint, GROUP, lambda: 0):
            pass
    with serving_metrics(None, GROUP, lambda: 0) as nothing:
        assert nothing is None


def _serving(url: str, *command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "liftmeter", *command],
        env=cli_env(LIFTMETER_DATABASE__URL=url, LIFTMETER_EVENTS__BACKEND="embedded"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _scraped(endpoint: MetricsEndpoint) -> str:
    try:
        return httpx.get(endpoint.url, timeout=5).text
    except httpx.TransportError:
        return ""  # not listening yet


def _stopped(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


def test_metering_run_serves_its_metrics(sqlite_url: str) -> None:
    rt = open_runtime(make_settings(sqlite_url))
    add_merchants(rt.sessions, ["mer_0", "mer_1", "mer_2"])
    topic = f"test.metrics.cli.{uuid.uuid4().hex[:8]}"
    _published(rt, topic)
    endpoint = MetricsEndpoint("127.0.0.1", free_port())
    port = str(endpoint.port)
    proc = _serving(sqlite_url, "metering", "run", "--topic", topic, "--metrics-port", port)
    try:
        applied = f'liftmeter_consumer_events_total{{group="{GROUP}",outcome="applied"}} 300.0'
        wait_for(lambda: applied in _scraped(endpoint), timeout_s=120)
        assert f'liftmeter_consumer_lag_events{{group="{GROUP}"}} 0.0' in _scraped(endpoint)
    finally:
        out = _stopped(proc)
    assert f"metrics: {endpoint.url}" in out
    rt.close()


def test_attribution_run_serves_its_metrics(sqlite_url: str) -> None:
    endpoint = MetricsEndpoint("127.0.0.1", free_port())
    proc = _serving(sqlite_url, "attribution", "run", "--metrics-port", str(endpoint.port))
    try:
        idle = 'liftmeter_consumer_lag_events{group="attribution"} 0.0'
        wait_for(lambda: idle in _scraped(endpoint), timeout_s=120)
    finally:
        out = _stopped(proc)
    assert f"metrics: {endpoint.url}" in out
