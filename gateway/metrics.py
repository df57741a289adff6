"""Prometheus metrics of the gateway (one registry per app, so tests can build many apps).

Labels are routes, statuses, verdicts, never merchant ids: tenants appear in events, not in
label sets, which keeps cardinality bounded.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GatewayMetrics:
    def __init__(self, outbox_pending: Callable[[], float]):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "liftmeter_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "liftmeter_http_request_duration_seconds",
            "HTTP latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "liftmeter_tokens_total", "Model tokens by kind", ["kind"], registry=r
        )
        self.cache = Counter(
            "liftmeter_cache_lookups_total", "Response cache lookups", ["result"], registry=r
        )
        self.verdicts = Counter(
            "liftmeter_risk_verdicts_total", "Risk verdicts", ["verdict"], registry=r
        )
        self.generation = Histogram(
            "liftmeter_generation_seconds",
            "Model call latency",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox = Gauge("liftmeter_outbox_pending", "Outbox rows not yet published", registry=r)
        self.outbox.set_function(outbox_pending)
