"""Training: a short run lowers the loss; the shipped checkpoint's recorded loss reproduces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from inference.checkpoint import Checkpoint, save_checkpoint
from inference.model import ModelConfig
from inference.training import TrainConfig, evaluate_loss, held_out_data, train

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
    )
    pad = checkpoint.tokenizer.pad_id
    dense = evaluate_loss(checkpoint.model, data, pad_id=pad)
    assert abs(dense - meta["held_out_loss_dense"]) < 1e-3
    sparse = evaluate_loss(
        checkpoint.model, data, pad_id=pad, sparse_top_k=checkpoint.model.config.top_k
    )
    assert abs(sparse - meta["held_out_loss_sparse"]) < 1e-3
