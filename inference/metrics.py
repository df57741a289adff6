"""Prometheus metrics of the embedded engine, named as vLLM names them (`vllm:` prefix).

Dashboards and alerts written for a vLLM deployment work unchanged against the embedded
server. Each server gets its own `CollectorRegistry`, so several apps (tests) can coexist.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_TOKEN_BUCKETS = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


@dataclass(frozen=True)
class RequestTimings:
    """Seconds spent by one finished request in each phase, and its token counts."""

    queue_s: float
    prefill_s: float
    decode_s: float
    first_token_s: float
    e2e_s: float
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


class EngineMetrics:
    """The vLLM-compatible metric set, labelled by `model_name`."""

    def __init__(self, model_name: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.model_name = model_name
        labels = ["model_name"]
        reg = self.registry
        self.prompt_tokens = Counter("vllm:prompt_tokens", "Prefill tokens.", labels, registry=reg)
        self.generation_tokens = Counter(
            "vllm:generation_tokens", "Generated tokens.", labels, registry=reg
        )
        self.success = Counter(
            "vllm:request_success", "Finished requests.", [*labels, "finished_reason"], registry=reg
        )
        self.running = Gauge(
            "vllm:num_requests_running", "Requests decoding.", labels, registry=reg
        )
        self.waiting = Gauge("vllm:num_requests_waiting", "Requests queued.", labels, registry=reg)
        self.kv_usage = Gauge(
            "vllm:kv_cache_usage_perc", "KV slots in use (0-1).", labels, registry=reg
        )
        self._histograms = {
            name: Histogram(f"vllm:{name}", help_text, labels, buckets=buckets, registry=reg)
            for name, help_text, buckets in (
                ("time_to_first_token_seconds", "Time to first token.", _LATENCY_BUCKETS),
                ("e2e_request_latency_seconds", "End-to-end latency.", _LATENCY_BUCKETS),
                ("request_queue_time_seconds", "Time waiting for a slot.", _LATENCY_BUCKETS),
                ("request_prefill_time_seconds", "Prefill time.", _LATENCY_BUCKETS),
                ("request_decode_time_seconds", "Decode time.", _LATENCY_BUCKETS),
                ("request_prompt_tokens", "Prompt tokens per request.", _TOKEN_BUCKETS),
                ("request_generation_tokens", "Generated tokens per request.", _TOKEN_BUCKETS),
            )
        }

    def observe_request(self, timings: RequestTimings) -> None:
        name = self.model_name
        self.prompt_tokens.labels(name).inc(timings.prompt_tokens)
        self.generation_tokens.labels(name).inc(timings.completion_tokens)
        self.success.labels(name, timings.finish_reason).inc()
        for key, value in (
            ("time_to_first_token_seconds", timings.first_token_s),
            ("e2e_request_latency_seconds", timings.e2e_s),
            ("request_queue_time_seconds", timings.queue_s),
            ("request_prefill_time_seconds", timings.prefill_s),
            ("request_decode_time_seconds", timings.decode_s),
            ("request_prompt_tokens", timings.prompt_tokens),
            ("request_generation_tokens", timings.completion_tokens),
        ):
            self._histograms[key].labels(name).observe(value)

    def set_load(self, *, running: int, waiting: int, kv_usage: float) -> None:
        self.running.labels(self.model_name).set(running)
        self.waiting.labels(self.model_name).set(waiting)
        self.kv_usage.labels(self.model_name).set(kv_usage)
