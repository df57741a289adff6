"""Wire models of the gateway's own routes (strict: unknown fields are rejected)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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


class ExperimentCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Spring copy"])]
    holdout_share: Annotated[
        Decimal,
        Field(
            gt=0,
            lt=1,
            examples=["0.1"],
            description="Share of units that keep the original description; up to 4 decimals.",
        ),
    ]
    unit_type: Literal["visitor", "product"] = "visitor"
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class ExperimentOut(BaseModel):
    id: str
    merchant_id: str
    name: str
    holdout_share: Annotated[str, Field(examples=["0.1000"])]
    unit_type: Literal["visitor", "product"]
    starts_at: datetime
    ends_at: datetime | None
    status: Literal["active", "stopped"]
    created_at: datetime
    warnings: list[str] = Field(default_factory=list)


class VariantOut(BaseModel):
    experiment_id: str
    arm: Literal["treatment", "holdout"]
    unit_type: Literal["visitor", "product"]
    unit_id: str
    show: Literal["generated", "original"]
    description_id: str | None
    text: str | None
    reason: Annotated[
        str | None, Field(description="Why a treatment unit is shown the original, if it is.")
    ] = None
    exposure_id: Annotated[UUID, Field(description="Event id of the recorded exposure.")]


class ExposureBatch(Strict):
    exposures: Annotated[
        list[Any],
        Field(
            min_length=1,
            max_length=10_000,
            description=(
                "Objects {experiment_id, unit_type, unit_id, product_id, arm, "
                "description_id?, category?, occurred_at}; each is checked on its own."
            ),
        ),
    ]


class RejectedRow(BaseModel):
    index: Annotated[int | None, Field(description="0-based position in a JSON array.")] = None
    row: Annotated[int | None, Field(description="1-based data row of a file.")] = None
    field: str
    reason: Annotated[str, Field(examples=["arm_mismatch"])]
    message: str


class ExposureIntakeOut(BaseModel):
    accepted: int
    rejected: list[RejectedRow]


class DuplicateRow(BaseModel):
    index: Annotated[int | None, Field(description="0-based position in a JSON array.")] = None
    row: Annotated[int | None, Field(description="1-based data row of a file.")] = None
    order_id: str
    kind: str


class ConversionIntakeOut(BaseModel):
    rows: Annotated[int, Field(description="Conversions received.")]
    accepted: Annotated[int, Field(description="Recorded now (events sent via the outbox).")]
    duplicate_count: Annotated[
        int, Field(description="Same order_id and kind as one already recorded, or earlier.")
    ]
    duplicates: list[DuplicateRow]
    rejected_count: int
    rejected: list[RejectedRow]
    truncated: Annotated[
        bool, Field(description="The lists hold the first 1,000 entries each.")
    ] = False


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
    review_id: str | None = Field(
        default=None,
        description=(
            "Set when the risk verdict is `review`: the text is returned to the merchant but "
            "not shown to shoppers until a reviewer approves this review item "
            "(`GET /v1/review-items/{review_id}`); a rejected one stays withheld."
        ),
    )


class RiskTermsIn(Strict):
    terms: Annotated[list[str], Field(max_length=200, examples=[["Acme", "RivalBrand"]])]


class RiskTermsOut(BaseModel):
    merchant_id: str
    terms: list[str]
