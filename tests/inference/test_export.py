"""The Llama export loads in Hugging Face transformers and reproduces the dense logits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference.checkpoint import Checkpoint
from inference.export import export_llama


def test_exported_llama_matches_dense_logits(checkpoint: Checkpoint, tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    export_llama(checkpoint, tmp_path)
    llama = transformers.LlamaForCausalLM.from_pretrained(tmp_path, dtype=torch.float32)
    llama.eval()
    tokens = torch.tensor([checkpoint.tokenizer.encode("<|product|>\ntitle: Aero tent\nbrand: X")])
    with torch.no_grad():
        ours, _ = checkpoint.model(tokens)
        theirs = llama(tokens).logits
    torch.testing.assert_close(theirs, ours, atol=1e-4, rtol=1e-4)
    fast = transformers.PreTrainedTokenizerFast.from_pretrained(tmp_path)
    assert fast.encode("Nordvik backpack") == checkpoint.tokenizer.encode("Nordvik backpack")
    assert fast.eos_token == "<|end|>"
