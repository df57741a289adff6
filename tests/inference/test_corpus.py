"""Reference descriptions obey the rules the quality gate checks."""

from __future__ import annotations

from inference.corpus import build_examples
from inference.prompts import END_TOKEN
from inference.quality import check_description


def test_reference_descriptions_pass_the_quality_checks() -> None:
    for example in build_examples(300, seed=5):
        text = example.completion.removesuffix(END_TOKEN)
        assert example.completion.endswith(END_TOKEN)
        assert check_description(example.product, text).passed, text


def test_corpus_has_many_phrasings() -> None:
    openings = {ex.completion.split(".")[0].split(" ")[1] for ex in build_examples(400, seed=2)}
    assert len(openings) >= 10
