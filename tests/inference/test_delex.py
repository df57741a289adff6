"""Delexicalization: parsing the template back, slot tables, placeholders in and values out."""

from __future__ import annotations

import itertools
import random

import pytest

from inference.catalog import generate_mixed_products, generate_products, generate_unseen_products
from inference.corpus import build_examples, describe
from inference.delex import (
    PLACEHOLDER,
    delexicalize,
    delexicalize_product,
    delexicalize_prompt,
    relexicalize,
    relexicalize_prefix,
    slots_for,
    stream_safe_length,
)
from inference.prompts import END_TOKEN, STYLES, build_prompt, parse_prompt
from inference.quality import check_description
from tests.inference.factories import make_product

PRODUCTS = list(
    itertools.chain(
        generate_products(60, seed=8, held_out=True),
        generate_unseen_products(60, seed=8),
        generate_mixed_products(60, seed=8, open_share=0.5),
    )
)


def test_parse_prompt_inverts_build_prompt() -> None:
    for product, style in zip(PRODUCTS, itertools.cycle(STYLES), strict=False):
        parsed = parse_prompt(build_prompt(product, style))
        assert parsed is not None
        again, parsed_style = parsed
        assert parsed_style == style
        assert again.model_dump(exclude={"id"}) == product.model_dump(exclude={"id"})
    bare = make_product(attributes={}, features=[], price=None)
    expected = (bare.model_copy(update={"id": "prompt"}), "standard")
    assert parse_prompt(build_prompt(bare)) == expected


def test_parse_prompt_rejects_text_outside_the_template() -> None:
    prompt = build_prompt(make_product())
    assert parse_prompt("Write a description of a backpack.") is None
    assert parse_prompt(prompt.replace("style: standard", "style: shouty")) is None
    assert parse_prompt(prompt.replace("\nbrand: Nordvik", "")) is None
    assert parse_prompt(prompt.replace("price: 89.99", "price: cheap")) is None
    assert parse_prompt(prompt + " extra") is None


def test_attribute_named_like_a_template_line_stays_an_attribute() -> None:
    product = make_product(attributes={"price": "30 L", "features": "many"}, price=None)
    parsed = parse_prompt(build_prompt(product))
    assert parsed is not None
    assert parsed[0].attributes == {"price": "30 L", "features": "many"}
    assert parsed[0].price is None


def test_delexicalized_prompt_carries_placeholders_and_keeps_the_price() -> None:
    product = make_product()
    result = delexicalize_prompt(build_prompt(product, "concise"))
    assert result is not None
    prompt, slots = result
    assert prompt == build_prompt(delexicalize_product(product), "concise")
    assert prompt.splitlines()[1:9] == [
        "title: @t",
        "brand: @b",
        "category: @c",
        "@na: @va",
        "@nb: @vb",
        "features: @fa; @fb",
        "price: 89.99",
        "language: en",
    ]
    assert slots == {
        "@t": "Trail Pro backpack",
        "@b": "Nordvik",
        "@c": "backpack",
        "@na": "capacity",
        "@va": "30 L",
        "@nb": "color",
        "@vb": "charcoal",
        "@fa": "padded laptop sleeve",
        "@fb": "reflective trim",
    }
    assert delexicalize_prompt("free text") is None


def test_every_slot_of_a_full_product_gets_its_own_placeholder() -> None:
    product = make_product(
        attributes={f"name {i}": f"value {i}" for i in range(16)},
        features=[f"feature {i}" for i in range(16)],
    )
    slots = slots_for(product)
    assert len(slots) == 3 + 16 * 3
    assert all(PLACEHOLDER.fullmatch(placeholder) for placeholder in slots)
    assert slots["@np"] == "name 15"
    assert slots["@vp"] == "value 15"
    assert slots["@fp"] == "feature 15"


def test_relexicalized_reference_equals_the_description_written_with_values() -> None:
    for index, product in enumerate(PRODUCTS):
        style = STYLES[index % len(STYLES)]
        with_values = describe(product, style=style, rng=random.Random(index), shuffle=False)
        shown = describe(
            delexicalize_product(product), style=style, rng=random.Random(index), shuffle=False
        )
        assert relexicalize(shown, slots_for(product)) == with_values
        assert delexicalize(with_values, slots_for(product)) == shown or _value_in_frame(product)


def _value_in_frame(product: object) -> bool:
    # a value that is also an ordinary word of the frame ("and", "the") is replaced there too
    slots = slots_for(product)  # type: ignore[arg-type]
    return any(len(value.split()) == 1 and value.islower() for value in slots.values())


def test_delexicalize_replaces_longest_values_first_and_whole_words_only() -> None:
    slots = {"@t": "Herbal tea", "@c": "tea", "@va": "30 L", "@fa": "ste"}
    text = "The Herbal tea is a steady tea with 30 L and 30 Liters."
    assert delexicalize(text, slots) == "The @t is a steady @c with @va and 30 Liters."
    assert delexicalize(text, {}) == text


def test_relexicalize_inserts_values_once_and_drops_unknown_placeholders() -> None:
    slots = {"@t": "Mug @b edition", "@b": "Kilo", "@va": "1.5 L"}
    assert relexicalize("@b's @t holds @va.", slots) == "Kilo's Mug @b edition holds 1.5 L."
    assert relexicalize("It has @va and @vd.", slots) == "It has 1.5 L and ."
    assert relexicalize("It has @n: @va", slots) == "It has : 1.5 L"
    assert relexicalize("mail me @ home or @x", slots) == "mail me @ home or @x"


def test_streaming_holds_back_an_incomplete_placeholder() -> None:
    assert stream_safe_length("from @") == len("from ")
    assert stream_safe_length("with @v") == len("with ")
    assert stream_safe_length("with @va") == len("with @va")
    assert stream_safe_length("the @t") == len("the @t")
    assert stream_safe_length("no placeholder") == len("no placeholder")


def test_every_streamed_prefix_is_a_prefix_of_the_final_text() -> None:
    for example in build_examples(60, seed=4, open_share=0.6, delexicalize=True):
        final = relexicalize(example.completion, example.slots)
        for end in range(len(example.completion) + 1):
            shown = relexicalize_prefix(example.completion[:end], example.slots)
            assert final.startswith(shown), (example.completion[:end], shown)


def test_delexicalized_corpus_never_shows_a_value_and_relexicalizes_to_a_passing_text() -> None:
    examples = list(build_examples(300, seed=5, open_share=0.6, delexicalize=True))
    for example in examples:
        assert example.slots == slots_for(example.product)
        style = example.prompt.splitlines()[-2].removeprefix("style: ")
        assert example.prompt == build_prompt(delexicalize_product(example.product), style)
        assert set(PLACEHOLDER.findall(example.completion)) <= set(example.slots)
        text = relexicalize(example.completion.removesuffix(END_TOKEN), example.slots)
        check = check_description(example.product, text)
        assert check.passed, text
        assert not check.invented_attributes, (text, check)
    plain = next(build_examples(1, seed=5, open_share=0.6))
    assert plain.slots == {}


@pytest.mark.parametrize("count", [0, 1, 5])
def test_targets_list_attributes_and_features_in_prompt_order(count: int) -> None:
    product = make_product(
        attributes={f"n{i}": f"v{i}" for i in range(count)},
        features=[f"f{i}" for i in range(count)],
    )
    text = describe(
        delexicalize_product(product), style="standard", rng=random.Random(1), shuffle=False
    )
    placeholders = PLACEHOLDER.findall(text)
    values = [p for p in placeholders if p.startswith(("@v", "@f"))]
    expected = [f"@v{c}" for c in "abcde"[:count]] + [f"@f{c}" for c in "abcde"[:count]]
    assert values == expected
