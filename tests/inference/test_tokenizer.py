"""Byte-level BPE training, special tokens and round trips."""

from __future__ import annotations

from pathlib import Path

from inference.corpus import build_examples
from inference.prompts import DESCRIPTION_TOKEN, PRODUCT_TOKEN
from inference.tokenizer import TextTokenizer, train_tokenizer


def test_tokenizer_round_trips_and_keeps_special_tokens_whole(tmp_path: Path) -> None:
    texts = [ex.prompt + ex.completion for ex in build_examples(300, seed=0)]
    tokenizer = train_tokenizer(texts, vocab_size=400)
    assert tokenizer.pad_id == 0
    ids = tokenizer.encode(f"{PRODUCT_TOKEN}\nbrand: Zürich ✓ 1.5 L{DESCRIPTION_TOKEN}")
    assert ids[0] == tokenizer.token_id(PRODUCT_TOKEN)
    assert ids[-1] == tokenizer.token_id(DESCRIPTION_TOKEN)
    assert tokenizer.decode(ids) == "\nbrand: Zürich ✓ 1.5 L"
    tokenizer.save(tmp_path)
    assert TextTokenizer.load(tmp_path).encode("Nordvik backpack") == tokenizer.encode(
        "Nordvik backpack"
    )


def test_frequent_words_become_single_tokens() -> None:
    texts = [ex.prompt + ex.completion for ex in build_examples(500, seed=0)]
    tokenizer = train_tokenizer(texts, vocab_size=1024)
    assert len(tokenizer.encode(" backpack")) == 1
