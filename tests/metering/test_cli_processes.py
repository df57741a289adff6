"""`liftmeter metering run --processes N`: N members of one group, every call counted once."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest

from liftmeter.runtime import open_runtime

from factories import BASE_TIME, call_event
from faults import wait_for, wait_for_members
from metering_support import add_merchants, expected, ledger, raw_rows
from support import KAFKA_SERVERS, cli_env, make_settings

TOTAL = 20_000


def _cli(pg_url: str, backend: str, *args: str) -> subprocess.Popen[str]:
    env = cli_env(
        LIFTMETER_DATABASE__URL=pg_url,
        LIFTMETER_EVENTS__BACKEND=backend,
        LIFTMETER_EVENTS__BOOTSTRAP_SERVERS=KAFKA_SERVERS,
        LIFTMETER_EVENTS__POLL_MAX_RECORDS="1000",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "liftmeter", "metering", "run", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.kafka
def test_members_split_the_partitions_and_count_each_call_once(
    pg_url: str, kafka_servers: str
) -> None:
    rt = open_runtime(make_settings(pg_url, backend="kafka"))
    merchants = [f"mer_{i}" for i in range(17)]
    add_merchants(rt.sessions, merchants)
    topic, group = f"test.metering.members.{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    rt.event_log.ensure_topics([topic], partitions=4)
    events = [
        call_event(merchants[i % 17], i, occurred_at=BASE_TIME + timedelta(seconds=i))
        for i in range(TOTAL)
    ]
    proc = _cli(pg_url, "kafka", "--processes", "2", "--topic", topic, "--group", group)
    wait_for_members(group, 2)  # both joined, then events
    with rt.event_log.producer() as producer:
        for i, ev in enumerate(events):
            producer.send(topic, ev.encode(), ev.key)
            if i % 50 == 0:
                producer.send(topic, ev.encode(), ev.key)  # a re-published event
    try:
        wait_for(lambda: raw_rows(rt.engine) >= TOTAL, timeout_s=180)
        wait_for(lambda: rt.event_log.lag(group, [topic]) == 0, timeout_s=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    applied = [int(line.split()[1].rstrip(",")) for line in out.splitlines() if "applied" in line]
    assert len(applied) == 2, out  # two members, each reported on SIGTERM
    assert all(n > 0 for n in applied), out  # both took partitions
    assert sum(applied) == TOTAL
    assert raw_rows(rt.engine) == TOTAL
    assert ledger(rt.sessions) == expected(events)
    rt.close()


def test_more_than_one_member_needs_kafka(sqlite_url: str) -> None:
    proc = _cli(sqlite_url, "embedded", "--processes", "2")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "--processes" in err
    assert "LIFTMETER_EVENTS__BACKEND=kafka" in err
