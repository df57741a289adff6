"""Small factories for inference tests."""

from __future__ import annotations

from decimal import Decimal

from inference.prompts import ProductInput


def make_product(**overrides: object) -> ProductInput:
    fields: dict[str, object] = {
        "id": "p1",
        "title": "Trail Pro backpack",
        "brand": "Nordvik",
        "category": "backpack",
        "attributes": {"capacity": "30 L", "color": "charcoal"},
        "features": ["padded laptop sleeve", "reflective trim"],
        "price": Decimal("89.99"),
    }
    fields.update(overrides)
    return ProductInput.model_validate(fields)
