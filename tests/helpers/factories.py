"""Small factories for events and rows used across the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from liftmeter.events import CallCompleted, ConversionRecorded, ExposureRecorded

BASE_TIME = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def call_event(merchant_id: str = "mer_a", seq: int = 0, **overrides: Any) -> CallCompleted:
    fields: dict[str, Any] = {
        "merchant_id": merchant_id,
        "occurred_at": BASE_TIME + timedelta(seconds=seq),
        "call_id": f"call_{merchant_id}_{seq}",
        "description_id": f"desc_{seq}",
        "product_id": f"sku-{seq % 17}",
        "api_key_id": "key_1",
        "model": "liftmeter-sparse-small",
        "backend": "local",
        "prompt_tokens": 100 + seq % 7,
        "completion_tokens": 50 + seq % 11,
        "cached_tokens": None,
        "latency_ms": 12.5,
        "cache_hit": False,
        "risk_verdict": "pass",
        "risk_score": 0.01,
        "status": "succeeded",
    }
    fields.update(overrides)
    return CallCompleted(**fields)


def exposure_event(
    merchant_id: str = "mer_a", unit_id: str = "v1", **overrides: Any
) -> ExposureRecorded:
    fields: dict[str, Any] = {
        "merchant_id": merchant_id,
        "occurred_at": BASE_TIME,
        "experiment_id": "exp_1",
        "unit_type": "visitor",
        "unit_id": unit_id,
        "product_id": "sku-1",
        "arm": "treatment",
    }
    fields.update(overrides)
    return ExposureRecorded(**fields)


def conversion_event(merchant_id: str = "mer_a", **overrides: Any) -> ConversionRecorded:
    fields: dict[str, Any] = {
        "merchant_id": merchant_id,
        "occurred_at": BASE_TIME,
        "kind": "purchase",
        "visitor_id": "v1",
        "product_id": "sku-1",
        "order_id": "o-1",
        "revenue": "19.99",
        "currency": "USD",
    }
    fields.update(overrides)
    return ConversionRecorded(**fields)


def add_description(
    runtime: Any, merchant_id: str, product_id: str, text: str, *, risk_verdict: str = "pass"
) -> str:
    """Store a generated description directly (as the descriptions route would)."""
    from gateway.models import Description
    from liftmeter.ids import new_id

    description_id = new_id("desc")
    with runtime.sessions.begin() as session:
        session.add(
            Description(
                id=description_id,
                merchant_id=merchant_id,
                product_id=product_id,
                call_id=new_id("call"),
                text=text,
                model="liftmeter-sparse-small",
                template_version="v1",
                risk_verdict=risk_verdict,
            )
        )
    return description_id


def outbox_events(runtime: Any, topic: str) -> list[Any]:
    """Events waiting in the outbox on `topic`, decoded, oldest first."""
    from sqlalchemy import select

    from liftmeter.events import decode_event
    from liftmeter.models import OutboxMessage

    with runtime.sessions() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
        return [decode_event(m.value) for m in session.scalars(stmt)]
