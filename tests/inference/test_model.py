"""The sparse LM: cached inference equals the full forward pass; GQA, tied embeddings."""

from __future__ import annotations

import pytest
import torch

from inference.model import KVCache, ModelConfig, SparseLM

CONFIG = ModelConfig(
    vocab_size=300,
    d_model=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=2,
    ffn_hidden=128,
    index_heads=2,
    index_dim=8,
    max_seq_len=128,
    top_k=12,
    sink_tokens=1,
    local_window=4,
)


@pytest.fixture(scope="module")
def model() -> SparseLM:
    torch.manual_seed(0)
    return SparseLM(CONFIG).eval()


def _tokens(n: int, rows: int = 1) -> torch.Tensor:
    return torch.randint(
        0, CONFIG.vocab_size, (rows, n), generator=torch.Generator().manual_seed(1)
    )


@torch.no_grad()
def test_prefill_then_decode_equals_full_forward_with_dense_budget(model: SparseLM) -> None:
    tokens = _tokens(60)
    full, _ = model(tokens)
    cache = KVCache(CONFIG, slots=2, max_len=128)
    slot = torch.tensor([1])
    logits = [model.forward_cached(tokens[:, :40], cache=cache, slots=slot, top_k=128)]
    for t in range(40, 60):
        logits.append(
            model.forward_cached(tokens[:, t : t + 1], cache=cache, slots=slot, top_k=128)
        )
    torch.testing.assert_close(torch.cat(logits, dim=1), full, atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_sparse_prefill_then_decode_equals_sparse_full_prefill(model: SparseLM) -> None:
    tokens = _tokens(70)
    full = model.forward_cached(
        tokens, cache=KVCache(CONFIG, slots=1, max_len=128), slots=torch.tensor([0])
    )
    cache = KVCache(CONFIG, slots=1, max_len=128)
    slot = torch.tensor([0])
    steps = [model.forward_cached(tokens[:, :30], cache=cache, slots=slot)]
    steps += [
        model.forward_cached(tokens[:, t : t + 1], cache=cache, slots=slot) for t in range(30, 70)
    ]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-4, rtol=1e-4)
    dense, _ = model(tokens)
    assert not torch.allclose(full, dense, atol=1e-3)  # top_k=12 < 70 really is sparse


@torch.no_grad()
def test_batched_decode_of_different_lengths_equals_each_alone(model: SparseLM) -> None:
    a, b = _tokens(25), _tokens(41)
    cache = KVCache(CONFIG, slots=3, max_len=128)
    model.forward_cached(a, cache=cache, slots=torch.tensor([2]))
    model.forward_cached(b, cache=cache, slots=torch.tensor([0]))
    step = torch.tensor([[5], [7]])
    batched = model.forward_cached(step, cache=cache, slots=torch.tensor([2, 0]))
    alone_a = model.forward_cached(
        torch.cat([a, step[:1]], 1),
        cache=KVCache(CONFIG, slots=1, max_len=128),
        slots=torch.tensor([0]),
    )
    torch.testing.assert_close(batched[0, -1], alone_a[0, -1], atol=1e-4, rtol=1e-4)
    assert cache.lengths.tolist() == [42, 0, 26]


def test_output_embedding_is_tied_to_input_embedding(model: SparseLM) -> None:
    names = [name for name, _ in model.named_parameters()]
    assert "embed.weight" in names
    assert not any("lm_head" in name for name in names)


def test_cache_overflow_is_an_error(model: SparseLM) -> None:
    cache = KVCache(CONFIG, slots=1, max_len=16)
    with pytest.raises(ValueError, match="cache"):
        model.forward_cached(_tokens(17), cache=cache, slots=torch.tensor([0]))


def test_invalid_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="heads"):
        ModelConfig(d_model=64, n_heads=3)
