"""Prometheus metrics of consumer processes (`liftmeter metering run`, `liftmeter attribution
run`), served on their own port with `--metrics-port`.

Per group: events by outcome (applied, duplicate, dead_lettered), batches committed, the
duration of each batch's database transaction, consumers reopened after a database or
event-log failure, the time of the last offset commit, and the lag: events written to the
group's topics but not yet committed by it, read from the event log when scraped (NaN while
the log cannot be read). Lag that grows while the last-commit time stands still is a
stalled group; lag that grows while commits go on is a group too slow for its input.
Labels are group names, never merchant ids.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from liftmeter.logging import get_logger

if TYPE_CHECKING:
    from liftmeter.consumer import BatchOutcome

log = get_logger(__name__)

TRANSACTION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ConsumerMetrics:
    """The metrics of one process's consumer groups (one registry per instance)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "liftmeter_consumer_events_total",
            "Events of committed batches by outcome (applied, duplicate, dead_lettered)",
            ["group", "outcome"],
            registry=r,
        )
        self.batches = Counter(
            "liftmeter_consumer_batches_total",
            "Non-empty batches whose transaction and offset commit completed",
            ["group"],
            registry=r,
        )
        self.transaction = Histogram(
            "liftmeter_consumer_transaction_seconds",
            "Duration of one batch's database transaction",
            ["group"],
            buckets=TRANSACTION_BUCKETS,
            registry=r,
        )
        self.reopens = Counter(
            "liftmeter_consumer_reopens_total",
            "Consumers closed and reopened after a database or event-log failure",
            ["group"],
            registry=r,
        )
        self.lag = Gauge(
            "liftmeter_consumer_lag_events",
            "Events written to the group's topics and not yet committed by it (at scrape time)",
            ["group"],
            registry=r,
        )
        self.last_commit = Gauge(
            "liftmeter_consumer_last_commit_timestamp_seconds",
            "Unix time of the group's last offset commit in this process",
            ["group"],
            registry=r,
        )

    def committed(self, group: str, outcome: BatchOutcome) -> None:
        """A batch's offsets were committed after its transaction."""
        self.events.labels(group, "applied").inc(outcome.applied)
        self.events.labels(group, "duplicate").inc(outcome.duplicates)
        self.events.labels(group, "dead_lettered").inc(outcome.dead_lettered)
        self.batches.labels(group).inc()
        self.last_commit.labels(group).set(time.time())

    def transaction_took(self, group: str, seconds: float) -> None:
        self.transaction.labels(group).observe(seconds)

    def reopened(self, group: str) -> None:
        self.reopens.labels(group).inc()

    def watch_lag(self, group: str, lag: Callable[[], int]) -> None:
        """Report `lag()` as the group's lag whenever the metrics are scraped."""

        def read() -> float:
            try:
                return float(lag())
            except Exception as exc:  # noqa: BLE001 - a scrape must not fail with the log
                log.warning("lag unreadable", group=group, error=repr(exc))
                return math.nan

        self.lag.labels(group).set_function(read)


MetricsPortOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=65535,
        help="Serve Prometheus metrics on this port (member i of --processes on port + i); "
        "off unless given.",
    ),
]
MetricsHostOption = Annotated[
    str, typer.Option(help="Address the metrics port binds to (0.0.0.0: every interface).")
]


@dataclass(frozen=True, slots=True)
class MetricsEndpoint:
    """Where a consumer process serves its metrics: http://host:port/metrics."""

    host: str
    port: int

    def for_member(self, index: int) -> MetricsEndpoint:
        """Member `index` of a `--processes` group serves on `port + index`."""
        return MetricsEndpoint(self.host, self.port + index)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    @classmethod
    def from_options(cls, host: str, port: int | None) -> MetricsEndpoint | None:
        """The endpoint the `--metrics-host`/`--metrics-port` options ask for (None: off)."""
        return None if port is None else cls(host, port)


@contextmanager
def serving_metrics(
    endpoint: MetricsEndpoint | None, group: str, lag: Callable[[], int]
) -> Iterator[ConsumerMetrics | None]:
    """Fresh metrics of `group` (its lag read with `lag()`) served at `endpoint` while the
    block runs; None when there is no endpoint."""
    if endpoint is None:
        yield None
        return
    metrics = ConsumerMetrics()
    metrics.watch_lag(group, lag)
    try:
        server, thread = start_http_server(
            endpoint.port, addr=endpoint.host, registry=metrics.registry
        )
    except OSError as exc:  # port taken, address not local
        raise typer.BadParameter(
            f"cannot serve metrics on {endpoint.host}:{endpoint.port}: {exc.strerror or exc}",
            param_hint="--metrics-port",
        ) from None
    try:
        yield metrics
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
