"""Training: a short run lowers the loss; the shipped checkpoint's recorded loss reproduces."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from inference.checkpoint import Checkpoint, save_checkpoint
from inference.model import ModelConfig
from inference.training import (
    LONG_EXAMPLE,
    Encoded,
    TrainConfig,
    _batch,
    _length_buckets,
    evaluate_loss,
    held_out_data,
    train,
)

TINY = ModelConfig(
    vocab_size=384,
    d_model=48,
    n_layers=2,
    n_heads=2,
    n_kv_heads=1,
    ffn_hidden=96,
    index_heads=1,
    index_dim=8,
    max_seq_len=384,
)


def test_smoke_training_lowers_held_out_loss() -> None:
    config = TrainConfig(
        model=TINY,
        steps=40,
        batch_size=16,
        train_examples=400,
        val_examples=32,
        eval_every=20,
        warmup_steps=5,
        seed=3,
    )
    reports = []
    checkpoint = train(config, on_step=reports.append)
    meta = checkpoint.metadata
    assert len(reports) == 40
    assert all(r.tokens_per_s > 0 for r in reports)
    assert meta["held_out_loss_dense"] < meta["held_out_loss_initial"] - 0.5
    assert reports[-1].loss < reports[0].loss
    # delexicalized by default; the model's vocabulary is its tokenizer's
    assert checkpoint.model.config.delexicalized
    assert meta["delexicalized"] is True
    assert checkpoint.model.config.vocab_size == checkpoint.tokenizer.vocab_size


def test_training_without_delexicalization_keeps_the_values() -> None:
    config = TrainConfig(
        model=TINY,
        steps=2,
        batch_size=4,
        train_examples=100,
        val_examples=8,
        warmup_steps=1,
        seed=4,
        delexicalize=False,
    )
    checkpoint = train(config)
    assert not checkpoint.model.config.delexicalized
    assert checkpoint.metadata["delexicalized"] is False


def test_training_can_continue_from_a_checkpoint(tmp_path: Path) -> None:
    base = TrainConfig(
        model=TINY,
        steps=4,
        batch_size=8,
        train_examples=200,
        val_examples=16,
        warmup_steps=2,
        seed=5,
        open_share=0.5,
    )
    first = train(base)
    save_checkpoint(first, tmp_path / "first")
    more = train(replace(base, init_from=str(tmp_path / "first"), steps=3, time_budget_s=600))
    assert more.metadata["steps_done"] == 3
    assert more.tokenizer.vocab_size == first.tokenizer.vocab_size
    assert more.metadata["held_out_loss_at_start"] == first.metadata["held_out_loss_dense"]


def test_shipped_checkpoint_held_out_loss_matches_its_metadata(checkpoint: Checkpoint) -> None:
    meta = checkpoint.metadata
    train_config = meta["train_config"]
    data = held_out_data(
        checkpoint.tokenizer,
        seed=train_config["seed"],
        count=meta["held_out_examples"],
        max_len=checkpoint.model.config.max_seq_len,
        open_share=meta.get("open_share", 0.0),
        delexicalize=checkpoint.model.config.delexicalized,
        wide_share=meta.get("wide_share", 0.0),
    )
    pad = checkpoint.tokenizer.pad_id
    dense = evaluate_loss(checkpoint.model, data, pad_id=pad)
    assert abs(dense - meta["held_out_loss_dense"]) < 1e-3
    sparse = evaluate_loss(
        checkpoint.model, data, pad_id=pad, sparse_top_k=checkpoint.model.config.top_k
    )
    assert abs(sparse - meta["held_out_loss_sparse"]) < 1e-3


def test_long_examples_are_batched_apart_from_short_ones() -> None:
    short = [Encoded([1] * 50, [1] * 50) for _ in range(100)]
    long = [Encoded([1] * (LONG_EXAMPLE + 1), [1] * (LONG_EXAMPLE + 1)) for _ in range(40)]
    buckets = _length_buckets(short + long, 32)
    assert [len(bucket) for bucket in buckets] == [100, 40]
    rng = random.Random(0)
    batches = [_batch(buckets, 32, rng) for _ in range(200)]
    lengths = [{len(item.ids) for item in batch} for batch in batches]
    assert all(len(found) == 1 for found in lengths)
    share = sum(LONG_EXAMPLE + 1 in found for found in lengths) / len(lengths)
    assert 0.15 < share < 0.45
    assert _length_buckets(short + long[:5], 32) == [short + long[:5]]
