"""The shipped dataset: reproducible from its seed, well-formed, split by phrasing family."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest

from billing.risk.dataset import (
    DEFAULT_DATASET_PATH,
    PER_FAMILY,
    file_sha256,
    generate_examples,
    load_dataset,
    write_dataset,
)
from billing.risk.templates import FAMILIES
from billing.risk.templates_v3 import FAMILIES_V3
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


# SHA-256 of the held-out rows (JSON lines, sorted keys) since data version 2: adding
# training families must never change the test split.
HELD_OUT_SHA256 = "ba3fc5cb26b5a3a6656ef3d0ce101f23ce1cc1148e8cd24de78a6a0ad452c592"


def test_held_out_split_is_unchanged_by_new_training_families() -> None:
    test_rows = [e for e in load_dataset() if e.split == "test"]
    lines = "".join(json.dumps(asdict(e), sort_keys=True) + "\n" for e in test_rows)
    assert len(test_rows) == 914
    assert hashlib.sha256(lines.encode("utf-8")).hexdigest() == HELD_OUT_SHA256


def test_version_3_families_are_training_only_and_full_size() -> None:
    names = {family.name for family in FAMILIES_V3}
    assert not any(family.held_out for family in FAMILIES_V3)
    assert names.isdisjoint(family.name for family in FAMILIES)
    counts = Counter(e.family for e in load_dataset() if e.family in names)
    assert all(counts[f.name] == PER_FAMILY[f.label] for f in FAMILIES_V3)
    assert {e.split for e in load_dataset() if e.family in names} == {"train"}
