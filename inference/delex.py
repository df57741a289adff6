"""Delexicalization: the model reads and writes slot placeholders, the engine fills them in.

A small model recalls the values it saw in training and cannot copy text it never saw (a
merchant's brand, title or feature). So, as in data-to-text generation (E2E NLG), a
delexicalized checkpoint never sees the values: every slot of the product is replaced by a
short placeholder, the model learns to write the placeholders in sentence frames, and the
engine substitutes the product's own values back into what it generates.

Placeholders (`@` + ordinary letters; no digits, so they never look like numbers):

| slot | placeholder |
|---|---|
| title, brand, category | `@t`, `@b`, `@c` |
| attribute names and values, in prompt order | `@na`/`@va`, `@nb`/`@vb`, ... |
| features, in prompt order | `@fa`, `@fb`, ... |

Indices run `a`-`p` (16: the most attributes and features a `ProductInput` has). Numbers stay
inside their values (`30 L` is one slot); the price is not a slot and stays in the prompt.

Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from inference.prompts import ProductInput, build_prompt, parse_prompt

MARK = "@"
TITLE = "@t"
BRAND = "@b"
CATEGORY = "@c"
INDICES = "abcdefghijklmnop"
PLACEHOLDER = re.compile(r"@(?:[tbc]|[nvf][a-p])")
# A slot kind without its index ("@n:"), what a model may write past the slots it knows.
_MALFORMED = re.compile(r"@[nvf](?![a-p])")
# What may still grow into a placeholder at the very end of a text.
_OPEN_TAIL = re.compile(r"@[nvf]?$")

Slots = Mapping[str, str]


def attribute_name(index: int) -> str:
    return f"{MARK}n{INDICES[index]}"


def attribute_value(index: int) -> str:
    return f"{MARK}v{INDICES[index]}"


def feature(index: int) -> str:
    return f"{MARK}f{INDICES[index]}"


def slots_for(product: ProductInput) -> dict[str, str]:
    """The slot table of `product`: placeholder -> the product's own text."""
    slots = {TITLE: product.title, BRAND: product.brand, CATEGORY: product.category}
    for index, (name, value) in enumerate(product.attributes.items()):
        slots[attribute_name(index)] = name
        slots[attribute_value(index)] = value
    for index, text in enumerate(product.features):
        slots[feature(index)] = text
    return slots


def delexicalize_product(product: ProductInput) -> ProductInput:
    """`product` with every slot replaced by its placeholder (price and language kept)."""
    return product.model_copy(
        update={
            "title": TITLE,
            "brand": BRAND,
            "category": CATEGORY,
            "attributes": {
                attribute_name(i): attribute_value(i) for i in range(len(product.attributes))
            },
            "features": [feature(i) for i in range(len(product.features))],
        }
    )


def delexicalize_prompt(prompt: str) -> tuple[str, dict[str, str]] | None:
    """(the delexicalized prompt, its slot table) for a template prompt; None for other text.

    The prompt is parsed back (`prompts.parse_prompt`) and rendered again from placeholders,
    so no value is searched for in the text: a value that happens to occur inside another
    field, or inside the template's own words, cannot be mangled.
    """
    parsed = parse_prompt(prompt)
    if parsed is None:
        return None
    product, style = parsed
    return build_prompt(delexicalize_product(product), style), slots_for(product)


def delexicalize(text: str, slots: Slots) -> str:
    """Replace each slot value occurring in `text` by its placeholder, longest values first.

    Matches are exact (case-sensitive) and whole: a value must not start or end inside a
    word, so "tea" does not match inside "steady". Text already replaced is not searched
    again, so a value inside a longer one (the category inside the title) stays part of it.
    Empty values are skipped. For text that was written from placeholders, prefer writing it
    from the delexicalized product directly (as the corpus does): a value that is also an
    ordinary word of the surrounding text is replaced there too.
    """
    ordered = sorted(
        ((value, placeholder) for placeholder, value in slots.items() if value),
        key=lambda item: len(item[0]),
        reverse=True,
    )
    if not ordered:
        return text
    lookup: dict[str, str] = {}
    for value, placeholder in ordered:
        lookup.setdefault(value, placeholder)  # equal values: the first slot wins
    pattern = "|".join(r"(?<!\w)" + re.escape(value) + r"(?!\w)" for value in lookup)
    return re.sub(pattern, lambda match: lookup[match.group(0)], text)


def relexicalize(text: str, slots: Slots) -> str:
    """Put the product's values back in place of the placeholders in `text`.

    One left-to-right pass: inserted values are never scanned again, so a value that itself
    contains "@t" stays as written. A well-formed placeholder that is not in the table (the
    model wrote `@vd` for a product with three attributes), or a slot kind without its index
    (`@n:`), is dropped rather than shown.
    """
    return PLACEHOLDER.sub(lambda match: slots.get(match.group(0), ""), _MALFORMED.sub("", text))


def stream_safe_length(text: str) -> int:
    """How much of generated `text` can be relexicalized and shown now.

    An incomplete placeholder at the very end (`@`, `@n`, `@v`, `@f`) is held back until the
    next token says what it is, the way `sampling.safe_prefix_length` holds back the start of
    a stop string. Relexicalizing the safe prefix always gives a prefix of relexicalizing the
    whole text, so streamed deltas never have to be taken back.
    """
    tail = _OPEN_TAIL.search(text)
    return len(text) if tail is None else tail.start()


def relexicalize_prefix(text: str, slots: Slots) -> str:
    """`relexicalize` of the part of a growing `text` that is safe to show (see above)."""
    return relexicalize(text[: stream_safe_length(text)], slots)
