"""Exactness, stability and memory behaviour of `inference.attention.sparse_attention`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from inference.attention import dense_attention_reference, sparse_attention

torch.set_num_threads(2)


def _qkv(
    *, batch: int = 2, heads: int = 4, kv_heads: int = 2, n: int = 200, dim: int = 16, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, heads, n, dim, generator=gen)
    k = torch.randn(batch, kv_heads, n, dim, generator=gen)
    v = torch.randn(batch, kv_heads, n, dim, generator=gen)
    return q, k, v


def _indexer(
    batch: int, n: int, *, heads: int = 2, dim: int = 8
) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(batch, heads, n, dim, generator=gen), torch.randn(
        batch, n, dim, generator=gen
    )


@pytest.mark.parametrize("kv_heads", [4, 2, 1])
def test_top_k_at_least_sequence_equals_dense_sdpa(kv_heads: int) -> None:
    q, k, v = _qkv(kv_heads=kv_heads, n=333)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=kv_heads != 4)
    for top_k in (333, 1000):
        out = sparse_attention(q, k, v, top_k=top_k, block_size=50)
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_exact_mode_with_full_budget_matches_naive_reference() -> None:
    q, k, v = _qkv(n=90)
    out = sparse_attention(q, k, v, top_k=90, block_size=16)
    torch.testing.assert_close(out, dense_attention_reference(q, k, v), atol=1e-5, rtol=1e-5)


def test_each_query_attends_only_to_its_top_k_exact_keys() -> None:
    q, k, v = _qkv(batch=1, heads=1, kv_heads=1, n=40, dim=8)
    top_k = 5
    out = sparse_attention(q, k, v, top_k=top_k, sink_tokens=0, local_window=1, block_size=8)
    scores = (q @ k.transpose(-1, -2))[0, 0] / 8**0.5
    for t in (10, 25, 39):
        causal = scores[t, : t + 1]
        # The query itself is forced (local_window=1); the rest are the best-scoring keys.
        ranked = [i for i in causal.argsort(descending=True).tolist() if i != t]
        keep = sorted([t, *ranked[: top_k - 1]])
        expected = causal[keep].softmax(-1) @ v[0, 0, keep]
        torch.testing.assert_close(out[0, 0, t], expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("use_indexer", [False, True])
def test_rows_with_fewer_than_k_causal_keys_have_no_nan(use_indexer: bool) -> None:
    q, k, v = _qkv(n=64)
    iq, ik = _indexer(2, 64) if use_indexer else (None, None)
    out = sparse_attention(q, k, v, top_k=32, index_q=iq, index_k=ik, block_size=16)
    assert torch.isfinite(out).all()
    # Query 0 sees only key 0, so its output is exactly v[0].
    torch.testing.assert_close(out[:, :2, 0], v[:, :1, 0].expand(-1, 2, -1))


@pytest.mark.parametrize("use_indexer", [False, True])
def test_result_is_independent_of_block_size(use_indexer: bool) -> None:
    q, k, v = _qkv(n=257)
    iq, ik = _indexer(2, 257) if use_indexer else (None, None)
    outs = [
        sparse_attention(q, k, v, top_k=24, index_q=iq, index_k=ik, block_size=size)
        for size in (1, 13, 64, 300)
    ]
    for out in outs[1:]:
        torch.testing.assert_close(out, outs[0], atol=1e-5, rtol=1e-5)


def test_decode_against_cache_equals_last_prefill_row() -> None:
    q, k, v = _qkv(n=150)
    iq, ik = _indexer(2, 150)
    full = sparse_attention(q, k, v, top_k=20, index_q=iq, index_k=ik)
    for t in (60, 149):
        step = sparse_attention(
            q[:, :, t : t + 1],
            k[:, :, : t + 1],
            v[:, :, : t + 1],
            top_k=20,
            index_q=iq[:, :, t : t + 1],
            index_k=ik[:, : t + 1],
        )
        torch.testing.assert_close(step[:, :, 0], full[:, :, t], atol=1e-5, rtol=1e-5)


def test_padded_batch_with_kv_lengths_matches_each_row_alone() -> None:
    q, k, v = _qkv(n=120)
    lengths = torch.tensor([120, 77])
    iq, ik = _indexer(2, 120)
    decoded = sparse_attention(
        q[:, :, :1], k, v, top_k=16, index_q=iq[:, :, :1], index_k=ik, kv_lengths=lengths
    )
    for row, length in enumerate(lengths.tolist()):
        alone = sparse_attention(
            q[row : row + 1, :, :1],
            k[row : row + 1, :, :length],
            v[row : row + 1, :, :length],
            top_k=16,
            index_q=iq[row : row + 1, :, :1],
            index_k=ik[row : row + 1, :length],
        )
        torch.testing.assert_close(decoded[row], alone[0], atol=1e-5, rtol=1e-5)


def test_sink_and_local_window_are_always_selected() -> None:
    q, k, v = _qkv(batch=1, heads=1, kv_heads=1, n=100, dim=8)
    v = torch.zeros_like(v)
    v[0, 0, 0] = 1.0  # only the sink carries signal
    # An indexer that strongly prefers keys 40..49 for every query.
    ik = torch.zeros(1, 100, 1)
    ik[0, 40:50] = 10.0
    iq = torch.ones(1, 1, 100, 1)
    out = sparse_attention(q, k, v, top_k=12, index_q=iq, index_k=ik, sink_tokens=1, local_window=2)
    assert (out[0, 0, 60:, 0] > 0).all()  # the sink contributed to every late query


def test_bfloat16_is_close_to_float32() -> None:
    q, k, v = _qkv(n=128)
    full = sparse_attention(q, k, v, top_k=32)
    half = sparse_attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), top_k=32)
    assert (half.float() - full).abs().mean() < 2e-2


def test_invalid_arguments_are_rejected() -> None:
    q, k, v = _qkv(n=8)
    with pytest.raises(ValueError, match="top_k"):
        sparse_attention(q, k, v, top_k=0)
    with pytest.raises(ValueError, match="together"):
        sparse_attention(q, k, v, top_k=4, index_q=torch.zeros(2, 1, 8, 4))
    with pytest.raises(ValueError, match="multiple"):
        sparse_attention(q, k[:, :1].expand(-1, 3, -1, -1), v[:, :1].expand(-1, 3, -1, -1), top_k=4)


_MEMORY_PROBE = textwrap.dedent(
    """
    import json, resource, sys, torch
    torch.set_num_threads(2)
    from inference.attention import sparse_attention
    n = int(sys.argv[1])
    q = torch.randn(1, 4, n, 32); k = torch.randn(1, 4, n, 32); v = torch.randn(1, 4, n, 32)
    iq = torch.randn(1, 1, n, 8); ik = torch.randn(1, n, 8)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sparse_attention(q, k, v, top_k=32, index_q=iq, index_k=ik, block_size=64)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"delta_kib": after - before}))
    """
)


def _peak_delta_kib(n: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(n)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(json.loads(result.stdout.strip().splitlines()[-1])["delta_kib"])


def test_peak_memory_grows_sub_quadratically() -> None:
    small, large = _peak_delta_kib(2048), _peak_delta_kib(8192)
    # 4x the tokens: a materialised n x n matrix would need 16x (4 heads x 8192^2 x 4 B = 1 GiB).
    assert large < 6 * max(small, 1024)
    assert large < 256 * 1024
