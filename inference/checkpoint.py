"""Checkpoints on disk: `model.safetensors`, `config.json`, `tokenizer.json`, `metadata.json`.

Writes are atomic: everything goes to a sibling temporary directory, which then replaces the
target by rename, so a reader never sees a half-written checkpoint. The default checkpoint
ships in the package (`inference/checkpoints/default/`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from inference.model import ModelConfig, SparseLM
from inference.tokenizer import TextTokenizer

DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "default"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"


@dataclass
class Checkpoint:
    """A loaded model, its tokenizer and what training recorded about it."""

    model: SparseLM
    tokenizer: TextTokenizer
    metadata: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(checkpoint: Checkpoint, directory: Path) -> Path:
    """Write `checkpoint` to `directory` atomically (replacing any previous one)."""
    directory = directory.resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        state = {name: t.detach().contiguous() for name, t in checkpoint.model.state_dict().items()}
        save_file(state, str(staging / WEIGHTS_FILE))
        _write_json(staging / CONFIG_FILE, asdict(checkpoint.model.config))
        _write_json(staging / METADATA_FILE, checkpoint.metadata)
        checkpoint.tokenizer.save(staging)
        _replace_directory(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _replace_directory(staging: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(directory: Path | None = None) -> Checkpoint:
    """Load a checkpoint (the shipped default when `directory` is None) in eval mode."""
    directory = DEFAULT_CHECKPOINT if directory is None else directory
    if not (directory / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"no checkpoint at {directory}")
    config = ModelConfig(**json.loads((directory / CONFIG_FILE).read_text()))
    model = SparseLM(config)
    model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    model.eval()
    metadata_path = directory / METADATA_FILE
    metadata = json.loads(metadata_path.read_text()) if metadata_path.is_file() else {}
    return Checkpoint(model=model, tokenizer=TextTokenizer.load(directory), metadata=metadata)
