"""The one prompt template: structured product data in, model prompt out.

The gateway and the training corpus both build prompts here, so what the model sees in
production is exactly what it was trained on. Bump `TEMPLATE_VERSION` whenever the rendered
text changes; checkpoints record the version they were trained with.

The template is line-oriented (`key: value`), framed by special tokens that the tokenizer
keeps whole. The price is shown to the model so it learns to leave it out: descriptions never
state a price (it changes; the storefront shows it).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field, field_validator

TEMPLATE_VERSION = "product-v1"
PRODUCT_TOKEN = "<|product|>"
DESCRIPTION_TOKEN = "<|description|>"
END_TOKEN = "<|end|>"
PAD_TOKEN = "<|pad|>"
SPECIAL_TOKENS = (PAD_TOKEN, END_TOKEN, PRODUCT_TOKEN, DESCRIPTION_TOKEN)
STYLES = ("standard", "concise", "playful", "technical")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_FORBIDDEN_CHARS = re.compile(r"[\n\r]|<\|")


class ProductInput(BaseModel):
    """What a merchant tells us about one product. Values are plain single-line text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=200)
    brand: str = Field(min_length=1, max_length=100)
    category: str = Field(min_length=1, max_length=100)
    attributes: dict[str, str] = Field(default_factory=dict, max_length=16)
    features: list[str] = Field(default_factory=list, max_length=16)
    price: Decimal | None = Field(default=None, ge=0)
    language: str = Field(default="en", min_length=2, max_length=8)

    @field_validator("title", "brand", "category", "language")
    @classmethod
    def _single_line(cls, value: str) -> str:
        return _clean(value)

    @field_validator("attributes")
    @classmethod
    def _clean_attributes(cls, value: dict[str, str]) -> dict[str, str]:
        return {_clean(key): _clean(item) for key, item in value.items()}

    @field_validator("features")
    @classmethod
    def _clean_features(cls, value: list[str]) -> list[str]:
        return [_clean(item) for item in value]


def _clean(value: str) -> str:
    if _FORBIDDEN_CHARS.search(value):
        raise ValueError("must be one line of text without '<|'")
    return value.strip()


def build_prompt(product: ProductInput, style: str | None = None) -> str:
    """Render `product` as the model prompt; it ends where the description starts."""
    style = style or "standard"
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}")
    lines = [
        PRODUCT_TOKEN,
        f"title: {product.title}",
        f"brand: {product.brand}",
        f"category: {product.category}",
        *(f"{key}: {value}" for key, value in product.attributes.items()),
        f"features: {'; '.join(product.features)}",
    ]
    if product.price is not None:
        lines.append(f"price: {product.price}")
    lines += [f"language: {product.language}", f"style: {style}", DESCRIPTION_TOKEN]
    return "\n".join(lines)


def parse_prompt(prompt: str) -> tuple[ProductInput, str] | None:
    """The product and style a `build_prompt` prompt was rendered from, or None.

    The inverse of `build_prompt` (the product `id` is not in the prompt: it comes back as
    "prompt"). The layout is positional: title, brand and category first, attributes up to the
    features line, then an optional price, the language and the style. Features are split on
    "; ", so a feature that itself contains "; " comes back as two. Anything that is not in
    the template (free text, a missing line, an invalid field) gives None.
    """
    lines = prompt.split("\n")
    if len(lines) < 8 or lines[0] != PRODUCT_TOKEN or lines[-1] != DESCRIPTION_TOKEN:
        return None
    fields = [_split_line(line) for line in lines[1:-1]]
    if any(field is None for field in fields):
        return None
    pairs = [field for field in fields if field is not None]
    head = [key for key, _ in pairs[:3]]
    style_key, style = pairs[-1]
    language_key, language = pairs[-2]
    price: Decimal | None = None
    body = pairs[3:-2]
    if body and body[-1][0] == "price":
        try:
            price = Decimal(body[-1][1])
        except InvalidOperation:
            return None
        body = body[:-1]
    if (
        head != ["title", "brand", "category"]
        or (style_key, language_key) != ("style", "language")
        or style not in STYLES
        or not body
        or body[-1][0] != "features"
    ):
        return None
    features = body[-1][1]
    try:
        product = ProductInput(
            id="prompt",
            title=pairs[0][1],
            brand=pairs[1][1],
            category=pairs[2][1],
            attributes=dict(body[:-1]),
            features=features.split("; ") if features else [],
            price=price,
            language=language,
        )
    except ValueError:
        return None
    if len(product.attributes) != len(body) - 1:  # a repeated attribute name
        return None
    return product, style


def _split_line(line: str) -> tuple[str, str] | None:
    key, sep, value = line.partition(": ")
    if not sep:
        key, sep, value = line.partition(":")  # "features:" with no features, rendered bare
    return (key, value) if sep else None


def allowed_numbers(prompt: str) -> frozenset[str]:
    """Numbers a description of this prompt may state: those in it, except the price line."""
    kept = [line for line in prompt.splitlines() if not line.startswith("price:")]
    return frozenset(_NUMBER.findall("\n".join(kept)))


def number_constraint(
    prompt: str | list[int], enabled: bool | None = None
) -> frozenset[str] | None:
    """Numbers the number guard allows for `prompt`, or None when the guard is off.

    On by default for prompts in this template; `enabled=False` turns it off.
    """
    if enabled is False or not isinstance(prompt, str) or not prompt.startswith(PRODUCT_TOKEN):
        return None
    return allowed_numbers(prompt)


def numbers_in(text: str) -> list[str]:
    """Every number written in `text` (digit runs, with inner `.`/`,` kept)."""
    return _NUMBER.findall(text)
