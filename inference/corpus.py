"""Training corpus: reference descriptions for catalogue products, in many phrasings.

Every reference description states the brand, the title, every attribute value and every
feature verbatim, and never states the price or any number that is not in the product data.
Those are the rules the quality gate (`inference.quality`) checks on generated text, so the
model learns them from the data.

Delexicalized examples (`build_examples(..., delexicalize=True)`, see `inference.delex`) are
written from the product with placeholders in place of its values, prompt and description
alike, and list attributes and features in prompt order, so the model learns to walk the
slots of the prompt rather than any value.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from inference.catalog import generate_mixed_products, generate_products, widen_product
from inference.delex import delexicalize_product, slots_for
from inference.prompts import END_TOKEN, STYLES, ProductInput, build_prompt

_OPENERS = {
    "standard": (
        "The {brand} {title} is built for everyday use.",
        "Meet the {title} from {brand}.",
        "{brand} presents the {title}.",
        "Discover the {brand} {title}, a dependable choice.",
        "With the {title}, {brand} delivers a well-made {category}.",
    ),
    "concise": (
        "{brand} {title}.",
        "The {title} by {brand}.",
        "{brand}'s {title}: a smart pick.",
    ),
    "playful": (
        "Say hello to the {title} from {brand}!",
        "Ready for an upgrade? The {brand} {title} is here.",
        "Your new favourite {category}: the {title} by {brand}.",
        "Good things come from {brand}, and the {title} proves it.",
    ),
    "technical": (
        "Product: {brand} {title}.",
        "The {brand} {title} is engineered to a precise specification.",
        "Specification overview for the {title} from {brand}.",
    ),
}
_ATTRIBUTE_FRAMES = (
    "It offers {items}.",
    "Key specs: {items}.",
    "You get {items}.",
    "Details include {items}.",
    "It comes with {items}.",
)
_ATTRIBUTE_ITEMS = ("{key} of {value}", "{value} {key}", "{key}: {value}", "a {key} of {value}")
_FEATURE_FRAMES = (
    "Highlights include {items}.",
    "Features: {items}.",
    "It also brings {items}.",
    "Standout features are {items}.",
    "Look forward to {items}.",
)
_CLOSERS = {
    "standard": ("", "A reliable choice for every day.", "Made to last."),
    "concise": ("",),
    "playful": ("You will love it!", "Treat yourself today!", "Pure joy, every single day."),
    "technical": ("Built to specification.", "Tested for consistent performance.", ""),
}


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe(product: ProductInput, *, style: str, rng: random.Random, shuffle: bool = True) -> str:
    """One reference description of `product` in `style`, with a random phrasing.

    Attributes and features come in a random order, or in the product's order when
    `shuffle` is false.
    """
    fields = {"brand": product.brand, "title": product.title, "category": product.category}
    item = rng.choice(_ATTRIBUTE_ITEMS)
    attributes = list(product.attributes.items())
    features = list(product.features)
    if shuffle:
        rng.shuffle(attributes)
        rng.shuffle(features)
    sentences = [rng.choice(_OPENERS[style]).format(**fields)]
    if attributes:  # no attribute sentence without attributes: nothing to invent from
        items = [item.format(key=key, value=value) for key, value in attributes]
        sentences.append(rng.choice(_ATTRIBUTE_FRAMES).format(items=_join(items)))
    if features:
        sentences.append(rng.choice(_FEATURE_FRAMES).format(items=_join(features)))
    sentences.append(rng.choice(_CLOSERS[style]))
    return " ".join(sentence for sentence in sentences if sentence)


@dataclass(frozen=True)
class Example:
    """One training pair: the prompt and the target completion (ending in the end token).

    For a delexicalized example both are written with placeholders and `slots` maps them
    back to the product's values (`delex.relexicalize`); otherwise `slots` is empty.
    """

    product: ProductInput
    prompt: str
    completion: str
    slots: dict[str, str] = field(default_factory=dict)


def build_examples(
    count: int,
    *,
    seed: int,
    held_out: bool = False,
    open_share: float = 0.0,
    delexicalize: bool = False,
    wide_share: float = 0.0,
) -> Iterator[Example]:
    """`count` (prompt, completion) pairs from one split, reproducible from `seed`.

    A share `open_share` of the products have open-vocabulary slot values
    (`catalog.generate_open_product`), the rest come from the catalogue. With `delexicalize`
    the pairs use slot placeholders (see the module docstring). A share `wide_share` of the
    products get 6-16 attributes and 6-16 features (`catalog.widen_product`).
    """
    wide_rng = random.Random(f"wide:{seed}:{held_out}")
    rng = random.Random(f"corpus:{seed}:{held_out}")
    products = (
        generate_mixed_products(count, seed=seed, held_out=held_out, open_share=open_share)
        if open_share > 0
        else generate_products(count, seed=seed, held_out=held_out)
    )
    for product in products:
        if wide_share > 0 and wide_rng.random() < wide_share:
            product = widen_product(product, wide_rng, held_out=held_out)
        style = rng.choice(STYLES)
        if delexicalize:
            shown = delexicalize_product(product)
            text = describe(shown, style=style, rng=rng, shuffle=False)
            yield Example(
                product=product,
                prompt=build_prompt(shown, style),
                completion=" " + text + END_TOKEN,
                slots=slots_for(product),
            )
            continue
        completion = " " + describe(product, style=style, rng=rng) + END_TOKEN
        yield Example(product=product, prompt=build_prompt(product, style), completion=completion)
