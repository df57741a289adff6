"""Fault test: a consumer process SIGKILLed again and again still counts every event once."""

from __future__ import annotations

import random
import signal
import time
import uuid

import pytest

from liftmeter.runtime import open_runtime

from factories import call_event
from faults import start_worker, wait_for
from support import make_settings
from tally import create_tally, publish, row_count


@pytest.mark.parametrize("backend", ["kafka", "embedded"])
def test_sigkilled_consumer_loses_nothing_and_counts_nothing_twice(
    backend: str, pg_url: str, request: pytest.FixtureRequest
) -> None:
    if backend == "kafka":
        request.getfixturevalue("kafka_servers")
    rt = open_runtime(make_settings(pg_url, backend=backend))
    create_tally(rt.engine)
    topic, group = f"test.faults.{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    rt.event_log.ensure_topics([topic], partitions=4)
    total = 30_000
    publish(rt.event_log, topic, [call_event(f"mer_{i % 13}", i) for i in range(total)])
    rng = random.Random(42)
    progress = []
    for _ in range(10):
        before = row_count(rt.engine)[1]
        proc = start_worker("tally_worker.py", pg_url, backend, topic, group)
        wait_for(lambda b=before: row_count(rt.engine)[1] > b, timeout_s=60)  # events flow
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        progress.append(row_count(rt.engine)[1])
    # Every kill landed mid-stream, and the consumers made progress between kills.
    assert progress[-1] < total, progress
    assert progress[-1] > progress[0] > 0, progress
    proc = start_worker("tally_worker.py", pg_url, backend, topic, group)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and row_count(rt.engine)[1] < total:
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert row_count(rt.engine) == (total, total), progress
    rt.close()
