"""Fault-injection helpers shared by the event-log and metering fault tests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from liftmeter.eventlog import Consumer, Record, TopicPartition

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


def start_worker(script: str, *args: str) -> subprocess.Popen[str]:
    """Start `tests/workers/<script>` and wait until it prints 'ready'."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKERS / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
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
