"""Wire models of the gateway's own routes (strict: unknown fields are rejected)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from inference.prompts import ProductInput
from liftmeter.web import Scope


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MerchantCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Acme Outdoor"])]
    currency: Annotated[str, Field(min_length=3, max_length=3, examples=["USD"])] = "USD"
    id: Annotated[str | None, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")] = (
        None
    )


class MerchantOut(BaseModel):
    id: str
    name: str
    currency: str
    created_at: datetime


class KeyCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["storefront"])]
    merchant_id: str | None = None
    scopes: Annotated[
        list[Scope], Field(min_length=1, examples=[["descriptions:write", "usage:read"]])
    ]
    requests_per_minute: Annotated[int | None, Field(ge=1, le=1_000_000)] = None
    tokens_per_minute: Annotated[int | None, Field(ge=1, le=1_000_000_000)] = None


class KeyOut(BaseModel):
    id: str
    name: str
    merchant_id: str | None
    prefix: str
    scopes: list[str]
    requests_per_minute: int | None
    tokens_per_minute: int | None
    created_at: datetime
    revoked_at: datetime | None


class KeyIssued(KeyOut):
    secret: Annotated[str, Field(description="Shown once. Store it now: only its hash is kept.")]


class DescriptionRequest(Strict):
    """A product to describe. Strings are masked for personal data before the model sees them."""

    product: ProductInput
    style: Annotated[
        Literal["standard", "concise", "playful", "technical"] | None,
        Field(description="Writing style; default standard."),
    ] = None
    max_tokens: Annotated[int | None, Field(ge=1, le=512, description="Completion budget.")] = None
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.0
    seed: Annotated[int | None, Field(ge=0, le=2**31 - 1)] = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "product": {
                        "id": "sku-123",
                        "title": "Trail Runner 2",
                        "brand": "Acme",
                        "category": "shoes",
                        "attributes": {"color": "blue", "size": "42"},
                        "features": ["waterproof", "recycled sole"],
                        "price": "89.00",
                    },
                    "style": "concise",
                    "max_tokens": 120,
                }
            ]
        },
    )


class RiskOut(BaseModel):
    verdict: Literal["pass", "review", "block"]
    score: float
    reasons: list[str]
    model_version: str


class UsageOut(BaseModel):
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


class DescriptionOut(BaseModel):
    call_id: str
    description_id: str | None = Field(description="Null when the output was blocked.")
    product_id: str
    text: str | None = Field(description="Null when the risk screen blocked the output.")
    risk: RiskOut
    usage: UsageOut
    model: str
    cached: bool
    masked: dict[str, int] = Field(description="Personal data masked in the input, by kind.")
