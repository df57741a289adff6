"""Helpers for review queue tests: a description call the risk model sends to review."""

from __future__ import annotations

from typing import Any

from gateway_harness import Harness


def sensitive_product(sku: str = "sku-vit", category: str = "health") -> dict[str, Any]:
    """An ordinary product in a sensitive category: the policy routes its output to review."""
    return {
        "id": sku,
        "title": "Nordvik trail backpack",
        "brand": "Nordvik",
        "category": category,
        "attributes": {"capacity": "30 L"},
        "features": ["padded straps"],
    }


def review_call(gw: Harness, headers: dict[str, str], sku: str = "sku-vit") -> dict[str, Any]:
    """Generate a description whose verdict is `review`; return the response body."""
    r = gw.client.post(
        "/v1/descriptions",
        json={"product": sensitive_product(sku), "max_tokens": 40},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["risk"]["verdict"] == "review", body
    return body
