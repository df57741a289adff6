"""Fault-injection helpers shared by the event-log and metering fault tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from kafka import KafkaAdminClient

from liftmeter.eventlog import Consumer, Record, TopicPartition

from support import KAFKA_SERVERS

WORKERS = Path(__file__).resolve().parent.parent / "workers"


class CrashOnCommit(Consumer):
    """A real consumer whose process 'dies' after the DB commit, before the offset commit."""

    def __init__(self, inner: Consumer):
        self.inner = inner

    def poll(self, *, max_records: int, timeout_ms: int) -> list[Record]:
        return self.inner.poll(max_records=max_records, timeout_ms=timeout_ms)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        raise SystemExit("killed between the database commit and the offset commit")

    def close(self) -> None:
        self.inner.close()


def start_worker(script: str, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
    """Start `tests/workers/<script>` and wait until it prints 'ready'.

    Its stderr (the structured log) goes to `log` when given, else nowhere.
    """
    with open(log, "a") if log else open(os.devnull, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(WORKERS / script), *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def wait_for(condition: Callable[[], bool], *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def wait_for_members(group: str, count: int) -> None:
    """Wait (up to 2 minutes) until the broker reports the Kafka consumer group `group` stable
    with `count` members, i.e. each of them holds its partitions."""
    wait_for(lambda: _stable_members(group) == count, timeout_s=120)


def _stable_members(group: str) -> int:
    """Members of the Kafka consumer group `group` once the broker reports it stable (0 before)."""
    admin = KafkaAdminClient(bootstrap_servers=KAFKA_SERVERS)
    try:
        info = admin.describe_groups([group])[group]
    finally:
        admin.close()
    return len(info["members"]) if info["group_state"] == "Stable" else 0
