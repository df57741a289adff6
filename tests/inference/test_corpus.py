"""Reference descriptions obey the rules the quality gate checks."""

from __future__ import annotations

from inference.corpus import build_examples
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
