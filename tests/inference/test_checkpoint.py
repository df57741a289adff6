"""Checkpoints: round trip, atomic replacement, the shipped default."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference.checkpoint import (
    DEFAULT_CHECKPOINT,
    Checkpoint,
    load_checkpoint,
    save_checkpoint,
)


def test_save_then_load_reproduces_logits(checkpoint: Checkpoint, tmp_path: Path) -> None:
    target = tmp_path / "ck"
    save_checkpoint(checkpoint, target)
    save_checkpoint(checkpoint, target)  # replacing an existing checkpoint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    loaded = load_checkpoint(target)
    tokens = torch.tensor([checkpoint.tokenizer.encode("Nordvik backpack")])
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(tokens)[0], checkpoint.model(tokens)[0])
    assert loaded.metadata == checkpoint.metadata


def test_missing_checkpoint_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path)


def test_shipped_checkpoint_is_small_and_records_its_held_out_loss() -> None:
    size = sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.iterdir())
    assert size <= 25 * 1024 * 1024
    meta = load_checkpoint().metadata
    assert meta["held_out_loss_dense"] < meta["held_out_loss_initial"] / 3
