"""Reference descriptions obey the rules the quality gate checks."""

from __future__ import annotations

from inference.catalog import is_held_out_value
from inference.corpus import build_examples
from inference.delex import relexicalize
from inference.prompts import END_TOKEN
from inference.quality import check_description


def test_reference_descriptions_pass_the_quality_checks() -> None:
    for example in build_examples(300, seed=5, open_share=0.6):
        text = example.completion.removesuffix(END_TOKEN)
        assert example.completion.endswith(END_TOKEN)
        check = check_description(example.product, text)
        assert check.passed, text
        assert not check.invented_attributes, (text, check)
        assert not check.memorised_names or example.product.id.startswith("t"), (text, check)


def test_products_without_attributes_or_features_get_no_such_sentence() -> None:
    examples = list(build_examples(400, seed=6, open_share=1.0))
    bare = [ex for ex in examples if not ex.product.attributes and not ex.product.features]
    assert bare
    for example in bare:
        assert example.completion.count(".") <= 3, example.completion


def test_corpus_has_many_phrasings() -> None:
    openings = {ex.completion.split(".")[0].split(" ")[1] for ex in build_examples(400, seed=2)}
    assert len(openings) >= 10


def test_wide_products_carry_up_to_sixteen_slots_and_stay_in_their_split() -> None:
    examples = list(build_examples(300, seed=7, open_share=0.6, delexicalize=True, wide_share=0.3))
    wide = [ex for ex in examples if len(ex.product.attributes) >= 6]
    assert 50 <= len(wide) <= 130
    for example in wide:
        assert 6 <= len(example.product.features) <= 16
        assert len(example.product.attributes) <= 16
        assert all(is_held_out_value(v) is False for v in example.product.attributes.values())
        text = relexicalize(example.completion.removesuffix(END_TOKEN), example.slots)
        assert check_description(example.product, text).passed, text
    held_out = build_examples(100, seed=7, held_out=True, delexicalize=True, wide_share=1.0)
    for example in held_out:
        assert all(is_held_out_value(f) for f in example.product.features)
