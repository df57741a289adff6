"""The shipped dataset: reproducible from its seed, well-formed, split by phrasing family."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from billing.risk.dataset import (
    DEFAULT_DATASET_PATH,
    file_sha256,
    generate_examples,
    load_dataset,
    write_dataset,
)
from liftmeter.errors import ValidationFailed


def test_shipped_dataset_is_regenerated_byte_for_byte(tmp_path: Path) -> None:
    digest = write_dataset(generate_examples(), tmp_path / "data.jsonl")
    assert digest == file_sha256(DEFAULT_DATASET_PATH)


def test_dataset_is_large_enough_and_has_every_label_in_both_splits() -> None:
    examples = load_dataset()
    assert len(examples) >= 2000
    counts = Counter((e.split, e.label) for e in examples)
    assert all(
        counts[(split, label)] > 100
        for split in ("train", "test")
        for label in ("pass", "review", "block")
    )


def test_no_phrasing_family_is_in_both_splits() -> None:
    splits_by_family: dict[str, set[str]] = {}
    for example in load_dataset():
        splits_by_family.setdefault(example.family, set()).add(example.split)
    assert all(len(splits) == 1 for splits in splits_by_family.values())


def test_texts_are_unique() -> None:
    texts = [e.text for e in load_dataset()]
    assert len(texts) == len(set(texts))


def test_bad_line_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"text": "ok", "category": "home", "label": "pass", "split": "train", "family": "f"}\n'
        '{"text": "ok", "category": "home", "label": "maybe", "split": "train", "family": "f"}\n'
    )
    with pytest.raises(ValidationFailed, match="line 2") as caught:
        load_dataset(path)
    assert caught.value.param == "label"
