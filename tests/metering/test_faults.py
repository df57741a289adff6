"""Fault test: 100k call events flow through Kafka while the metering consumer process is
SIGKILLed again and again; afterwards the PostgreSQL ledger equals the expected totals."""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from liftmeter.runtime import Runtime, open_runtime

from factories import BASE_TIME, call_event
from faults import start_worker, wait_for
from metering_support import add_merchants, expected, ledger, raw_rows
from support import make_settings, services

TOTAL = 100_000
KILLS = 12


def _kafka_ledger(pg_url: str, *, merchants: int, name: str) -> tuple[Runtime, list[str], str, str]:
    """A Kafka runtime with `merchants` merchants, a fresh 4-partition topic and group name."""
    rt = open_runtime(make_settings(pg_url, backend="kafka"))
    ids = [f"mer_{i}" for i in range(merchants)]
    add_merchants(rt.sessions, ids)
    topic = f"test.metering.{name}.{uuid.uuid4().hex[:8]}"
    rt.event_log.ensure_topics([topic], partitions=4)
    return rt, ids, topic, f"metering-{uuid.uuid4().hex[:8]}"


@pytest.mark.kafka
def test_sigkilled_metering_consumer_counts_every_call_exactly_once(
    pg_url: str, kafka_servers: str
) -> None:
    rt, merchants, topic, group = _kafka_ledger(pg_url, merchants=17, name="faults")
    events = [
        call_event(
            merchants[i % 17],
            i,
            occurred_at=BASE_TIME + timedelta(seconds=i * 3),
            cached_tokens=None if i % 5 == 0 else i % 64,
            cache_hit=i % 7 == 0,
            risk_verdict="review" if i % 11 == 0 else "pass",
        )
        for i in range(TOTAL)
    ]
    wires = [ev.encode() for ev in events]
    published = threading.Event()

    def produce() -> None:  # the flow continues while consumers die; some rows twice
        with rt.event_log.producer() as producer:
            for start in range(0, TOTAL, 2000):
                for i in range(start, min(start + 2000, TOTAL)):
                    producer.send(topic, wires[i], events[i].key)
                    if i % 97 == 0:
                        producer.send(topic, wires[i], events[i].key)  # outbox re-publish
                producer.flush()
                time.sleep(0.05)
        published.set()

    producer_thread = threading.Thread(target=produce)
    producer_thread.start()
    rng = random.Random(7)
    progress = []
    for _ in range(KILLS):
        before = raw_rows(rt.engine)
        proc = start_worker("metering_worker.py", pg_url, "kafka", topic, group)
        wait_for(lambda b=before: raw_rows(rt.engine) > b, timeout_s=60)  # events flow
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        progress.append(raw_rows(rt.engine))
    producer_thread.join()
    assert published.is_set()
    assert progress[-1] < TOTAL, progress  # every kill landed mid-stream
    assert progress[-1] > progress[0] > 0, progress
    proc = start_worker("metering_worker.py", pg_url, "kafka", topic, group)
    try:
        wait_for(lambda: raw_rows(rt.engine) >= TOTAL, timeout_s=180)
        time.sleep(1.0)  # let a straggling duplicate batch land, if any
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert raw_rows(rt.engine) == TOTAL
    assert ledger(rt.sessions) == expected(events)
    rt.close()


@pytest.mark.kafka
def test_metering_consumer_waits_out_a_broker_restart(
    pg_url: str, kafka_servers: str, tmp_path: Path
) -> None:
    """The broker goes down mid-stream and comes back: the consumer reopens until it can
    read again, and the ledger still counts every call once."""
    rt, merchants, topic, group = _kafka_ledger(pg_url, merchants=5, name="restart")
    events = [
        call_event(merchants[i % 5], i, occurred_at=BASE_TIME + timedelta(seconds=i))
        for i in range(20_000)
    ]
    with rt.event_log.producer() as producer:
        for ev in events[:15_000]:
            producer.send(topic, ev.encode(), ev.key)
    worker_log = tmp_path / "worker.log"
    proc = start_worker("metering_worker.py", pg_url, "kafka", topic, group, log=worker_log)
    try:
        wait_for(lambda: raw_rows(rt.engine) > 0, timeout_s=60)
        services("down", "kafka")
        stalled = raw_rows(rt.engine)
        time.sleep(3)  # the consumer sees the broker gone and keeps reopening
        services("up", "kafka")
        with rt.event_log.producer() as producer:
            for ev in events[15_000:]:
                producer.send(topic, ev.encode(), ev.key)
        try:
            wait_for(lambda: raw_rows(rt.engine) >= len(events), timeout_s=180)
        except AssertionError:
            tail = worker_log.read_text(errors="replace")[-4000:]
            pytest.fail(f"{raw_rows(rt.engine)} of {len(events)} calls; worker log:\n{tail}")
        time.sleep(1.0)  # a straggling duplicate batch, if any, lands now
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert stalled < len(events)
    assert raw_rows(rt.engine) == len(events)
    assert ledger(rt.sessions) == expected(events)
    rt.close()
