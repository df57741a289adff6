"""Durable call events: a call succeeds while Kafka is down; its event arrives later."""

from __future__ import annotations

import threading
import time
import uuid

from liftmeter.events import CALLS_TOPIC, CallCompleted, decode_event
from liftmeter.outbox import OutboxRelay, pending_count

from gateway_harness import harness_with
from support import make_settings, services

PRODUCT = {
    "id": "sku-k",
    "title": "Trail Pro backpack",
    "brand": "Nordvik",
    "category": "backpack",
    "attributes": {"capacity": "30 L"},
    "features": [],
}


def test_a_call_succeeds_while_kafka_is_down_and_its_event_arrives_later(
    pg_url: str, kafka_servers: str
) -> None:
    settings = make_settings(pg_url, backend="kafka", connect_timeout_s=2)
    with harness_with(settings) as gw:
        gw.runtime.event_log.ensure_topics([CALLS_TOPIC])
        _, headers = gw.merchant()
        services("down", "kafka")
        try:
            r = gw.client.post("/v1/descriptions", json={"product": PRODUCT}, headers=headers)
            assert r.status_code == 200, r.text
            call_id = r.json()["call_id"]
            with gw.runtime.sessions() as session:
                assert pending_count(session) == 1  # the event waits in the outbox
        finally:
            services("up", "kafka")
        relay = OutboxRelay(sessions=gw.runtime.sessions, log=gw.runtime.event_log)
        stop = threading.Event()
        thread = threading.Thread(target=relay.run, kwargs={"stop": stop, "max_backoff_s": 1.0})
        thread.start()
        try:
            found = _find_call(gw.runtime.event_log, call_id, timeout_s=90)
        finally:
            stop.set()
            thread.join(timeout=30)
            relay.close()
        assert found.status == "succeeded"
        with gw.runtime.sessions() as session:
            assert pending_count(session) == 0


def _find_call(log, call_id: str, *, timeout_s: float) -> CallCompleted:  # type: ignore[no-untyped-def]
    group = f"probe-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + timeout_s
    with log.consumer(group, [CALLS_TOPIC]) as consumer:
        while time.monotonic() < deadline:
            for record in consumer.poll(max_records=5000, timeout_ms=500):
                event = decode_event(record.value)
                if isinstance(event, CallCompleted) and event.call_id == call_id:
                    return event
    raise AssertionError(f"call {call_id} never reached Kafka")
