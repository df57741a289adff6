"""The labelled risk dataset: how it is generated, written, read and hashed.

`billing/risk/data/risk_dataset.jsonl` is produced by this module and nothing else:

    python -m billing.risk.dataset --out billing/risk/data/risk_dataset.jsonl --seed 20240601

How it is made. Every example is a short product description assembled from an opener
(product name and features), one or two body sentences drawn from one phrasing *family* in
`templates.py` (data versions 1-2, every held-out family among them) or `templates_v3.py`
(data version 3, training only), and an optional closer. The family decides the label:
`pass` (ordinary copy, including hard negatives such as "cures in 24 hours" for glue, dog
treats, vitamin dosages, money-back guarantees), `review` (claims that need a person:
structure/function claims, "clinically proven", "risk-free", soft financial or baby-care
promises, mild language, a showroom address) and `block` (disease claims, guaranteed
results, financial promises, absolute child-safety claims, certifications, profanity and
insults, personal data). Slots are filled from fixed lists with a seeded `random.Random`,
so the same seed gives byte-identical output. Duplicated texts are redrawn. Every family
gets `PER_FAMILY[label]` examples, train and held-out alike. The groups of `FAMILY_GROUPS`
are rendered in order, so adding a group leaves every earlier example (the held-out split
included) byte-identical.

The split is by phrasing family, not by row: families marked `held_out` form the test
split and never appear in training, so the evaluation measures generalisation to new
phrasings (within the same slot vocabulary, openers and closers).

Limits. The data are synthetic and written by the engineers who wrote the rules: they
share vocabulary with the rules and the templates, the held-out families are still
written by the same people, and the labels encode one policy. Numbers measured on them
say the pipeline works, not how it performs on real model output. They are no
substitute for labelled production traffic, which the review queue is meant to collect.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from billing.risk.templates import CLOSERS, FAMILIES, OPENERS, PRODUCTS, SLOTS, Family
from billing.risk.templates_v3 import FAMILIES_V3, SLOTS_V3
from liftmeter.errors import ValidationFailed

DEFAULT_SEED = 20240601
DEFAULT_DATASET_PATH = Path(__file__).parent / "data" / "risk_dataset.jsonl"
LABELS = ("pass", "review", "block")
SPLITS = ("train", "test")
# Examples per phrasing family, by label: every family, train or held out, gets the same
# share, so adding training families does not shrink the test split.
PER_FAMILY = {"pass": 60, "review": 46, "block": 44}
# Families in the order they were added to the phrase bank: each group is rendered after
# the previous one, so adding training families never changes an earlier group's examples
# (the held-out split among them).
FAMILY_GROUPS: tuple[tuple[Family, ...], ...] = (FAMILIES, FAMILIES_V3)
ALL_SLOTS: dict[str, tuple[str, ...]] = {**SLOTS, **SLOTS_V3}
_SLOT = re.compile(r"\{(\w+)\}")
_MAX_ATTEMPTS_PER_EXAMPLE = 40


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled description: `label` in pass/review/block, `split` in train/test."""

    text: str
    category: str
    label: str
    split: str
    family: str


def fill_slots(template: str, rng: random.Random, *, product: str) -> str:
    """Replace every `{slot}` in `template` with a value; `{product}` gets `product`."""

    def pick(match: re.Match[str]) -> str:
        slot = match.group(1)
        return product if slot == "product" else rng.choice(ALL_SLOTS[slot])

    return _SLOT.sub(pick, template)


def _body(family: Family, rng: random.Random, product: str) -> list[str]:
    count = 2 if family.label == "pass" and len(family.templates) > 1 and rng.random() < 0.5 else 1
    sentences = [fill_slots(t, rng, product=product) for t in rng.sample(family.templates, count)]
    if family.label != "pass" and rng.random() < 0.15:
        sentences[0] = sentences[0].rstrip(".") + "!"
    return sentences


def render_example(family: Family, rng: random.Random) -> Example:
    """One description for `family`: opener, body sentence(s) in random position, closer."""
    category = rng.choice(family.categories or tuple(PRODUCTS))
    product = rng.choice(PRODUCTS[category])
    opener = fill_slots(rng.choice(OPENERS), rng, product=product)
    body = _body(family, rng, product)
    parts = [*body, opener] if rng.random() < 0.2 else [opener, *body]
    parts.append(rng.choice(CLOSERS))
    text = " ".join(part for part in parts if part)
    split = "test" if family.held_out else "train"
    return Example(text, category, family.label, split, family.name)


def generate_examples(seed: int = DEFAULT_SEED) -> list[Example]:
    """The whole dataset for `seed`: `PER_FAMILY[label]` unique examples per family.

    One seeded stream renders `FAMILY_GROUPS` in order, each group label by label; a
    text already made by an earlier family is redrawn.
    """
    rng = random.Random(seed)
    examples: list[Example] = []
    seen: set[str] = set()
    for group in FAMILY_GROUPS:
        for label in LABELS:
            for family in (family for family in group if family.label == label):
                examples.extend(_unique_examples(family, PER_FAMILY[label], rng, seen))
    return examples


def _unique_examples(
    family: Family, count: int, rng: random.Random, seen: set[str]
) -> Iterable[Example]:
    made = 0
    for _ in range(count * _MAX_ATTEMPTS_PER_EXAMPLE):
        if made == count:
            return
        example = render_example(family, rng)
        if example.text not in seen:
            seen.add(example.text)
            made += 1
            yield example


def write_dataset(examples: Sequence[Example], path: Path) -> str:
    """Write `examples` as JSON lines (sorted keys) and return the file's SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(asdict(example), sort_keys=True) + "\n" for example in examples]
    path.write_text("".join(lines), encoding="utf-8")
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parse_example(line: str, line_number: int) -> Example:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"line {line_number}: not JSON ({exc.msg})", param="line") from None
    if not isinstance(raw, dict):
        raise ValidationFailed(f"line {line_number}: not a JSON object", param="line")
    for field, allowed in (("label", LABELS), ("split", SPLITS)):
        if raw.get(field) not in allowed:
            raise ValidationFailed(f"line {line_number}: must be one of {allowed}", param=field)
    for field in ("text", "category", "family"):
        if not isinstance(raw.get(field), str) or not raw[field]:
            raise ValidationFailed(f"line {line_number}: must be a non-empty string", param=field)
    return Example(raw["text"], raw["category"], raw["label"], raw["split"], raw["family"])


def load_dataset(path: Path = DEFAULT_DATASET_PATH) -> list[Example]:
    """Read a dataset file; a malformed line raises `ValidationFailed` naming line and field."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [_parse_example(line, number) for number, line in enumerate(lines, 1) if line.strip()]


def select_split(examples: Iterable[Example], split: str) -> list[Example]:
    """The examples of one split."""
    return [example for example in examples if example.split == split]


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: generate the dataset reproducibly and print its size and hash."""
    parser = argparse.ArgumentParser(description="Generate the synthetic risk dataset.")
    parser.add_argument("--out", type=Path, default=DEFAULT_DATASET_PATH)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    examples = generate_examples(args.seed)
    digest = write_dataset(examples, args.out)
    print(f"wrote {len(examples)} examples to {args.out} (sha256 {digest})")


if __name__ == "__main__":
    main()
