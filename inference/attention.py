"""Causal top-k sparse attention: each query attends to the k keys it selected, and no others.

Shapes follow `torch.nn.functional.scaled_dot_product_attention`: `q` is
`[batch, heads, queries, head_dim]`, `k`/`v` are `[batch, kv_heads, keys, head_dim]` with
`heads % kv_heads == 0` (grouped-query attention). Queries are the *last* `queries` positions
of the `keys` sequence (per batch row when `kv_lengths` is given), so the same function serves
prefill (queries == keys) and decode (one query against a KV cache).

Selection, per query, among its causal keys:
- **indexer** (DSA-like): scores `I(t, s) = sum_j w(t, j) * relu(q_I(t, j) . k_I(s))` from a
  cheap low-dimensional indexer shared by every attention head, so one selection serves all
  heads. Pass `index_q` `[batch, index_heads, queries, index_dim]`, `index_k`
  `[batch, keys, index_dim]` and optionally `index_weights` `[batch, index_heads, queries]`.
- **exact** (reference, Gupta et al. 2021): per-head scores `q . k`; the true top-k, but the
  selection itself costs as much as dense attention, so it only saves memory.

The first `sink_tokens` keys and a `local_window` of the most recent keys (the query itself
included) are always selected; they count toward `top_k` (the window shrinks so that sink
plus window never exceed it). The softmax runs over the selected
keys only, then multiplies V.

Execution is block-shared: queries are processed in chunks of `block_size`; a chunk gathers
the union of its queries' selected keys once and runs SDPA with a boolean mask that restricts
every query to exactly its own selection. Peak extra memory is O(block_size * keys) for the
selection scores plus O(heads * union * head_dim) for the gather: never keys x keys. A chunk
whose causal span fits in `top_k` selects everything and runs dense SDPA, so `top_k >= keys`
is exactly dense causal attention.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

DEFAULT_BLOCK_SIZE = 64
_TIE_BREAK = 1e-30


def sparse_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    top_k: int,
    causal: bool = True,
    index_q: Tensor | None = None,
    index_k: Tensor | None = None,
    index_weights: Tensor | None = None,
    sink_tokens: int = 1,
    local_window: int = 16,
    block_size: int = DEFAULT_BLOCK_SIZE,
    kv_lengths: Tensor | None = None,
    scale: float | None = None,
) -> Tensor:
    """Top-k sparse attention; returns a tensor shaped like `q`.

    `kv_lengths` (`[batch]`, int) marks how many keys of each row are real (a padded batch of
    KV caches); the row's queries sit at positions `kv_lengths[b] - queries ...
    kv_lengths[b] - 1`. Without it every row uses all keys. `causal=False` lets every query
    select among all (valid) keys.
    """
    _check_shapes(q, k, v, top_k=top_k, block_size=block_size)
    if (index_q is None) != (index_k is None):
        raise ValueError("index_q and index_k must be given together")
    batch, _, n_queries, head_dim = q.shape
    n_keys = k.shape[2]
    lengths = _lengths(kv_lengths, batch=batch, n_keys=n_keys, device=q.device)
    scale = 1.0 / math.sqrt(head_dim) if scale is None else scale
    out = torch.empty_like(q)
    for start in range(0, n_queries, block_size):
        stop = min(start + block_size, n_queries)
        q_pos = lengths[:, None] - n_queries + torch.arange(start, stop, device=q.device)
        selection = _select(
            q[:, :, start:stop],
            k,
            q_pos=q_pos,
            lengths=lengths,
            top_k=top_k,
            causal=causal,
            index_q=None if index_q is None else index_q[:, :, start:stop],
            index_k=index_k,
            index_weights=None if index_weights is None else index_weights[:, :, start:stop],
            sink_tokens=sink_tokens,
            local_window=local_window,
        )
        out[:, :, start:stop] = _attend_selected(q[:, :, start:stop], k, v, selection, scale)
    return out


class _Selection(NamedTuple):
    visible: Tensor
    indices: Tensor | None
    valid: Tensor | None


def _attend_selected(
    q: Tensor, k: Tensor, v: Tensor, selection: _Selection, scale: float
) -> Tensor:
    """Attend each query to its selected keys; the dense case runs as one batched SDPA."""
    gqa = q.shape[1] != k.shape[1]
    if selection.indices is None or selection.valid is None:
        span = selection.visible.shape[-1]
        return F.scaled_dot_product_attention(
            q,
            k[:, :, :span],
            v[:, :, :span],
            attn_mask=selection.visible,
            scale=scale,
            enable_gqa=gqa,
        )
    if q.shape[2] == 1 and selection.indices.shape[1] == 1:
        return _attend_decode(q, k, v, selection.indices, selection.valid, scale)
    shape = (*selection.indices.shape[:-1], selection.visible.shape[-1])
    selected = torch.zeros(shape, dtype=torch.bool, device=q.device)
    selected.scatter_(-1, selection.indices, selection.valid)
    return _attend_gathered(q, k, v, selected, scale)


def _attend_decode(
    q: Tensor, k: Tensor, v: Tensor, indices: Tensor, valid: Tensor, scale: float
) -> Tensor:
    """One query per row with a head-shared selection: one batched gather, one SDPA."""
    index = indices[:, 0, 0]  # [batch, top_k]
    gather = index[:, None, :, None].expand(-1, k.shape[1], -1, k.shape[-1])
    return F.scaled_dot_product_attention(
        q,
        k.gather(2, gather),
        v.gather(2, gather),
        attn_mask=valid,
        scale=scale,
        enable_gqa=q.shape[1] != k.shape[1],
    )


def _check_shapes(q: Tensor, k: Tensor, v: Tensor, *, top_k: int, block_size: int) -> None:
    if q.dim() != 4 or k.dim() != 4 or v.shape != k.shape:
        raise ValueError("q, k, v must be [batch, heads, seq, head_dim] and k, v alike")
    if q.shape[0] != k.shape[0] or q.shape[-1] != k.shape[-1]:
        raise ValueError("q and k differ in batch or head_dim")
    if q.shape[1] % k.shape[1] != 0:
        raise ValueError("query heads must be a multiple of kv heads")
    if top_k < 1 or block_size < 1:
        raise ValueError("top_k and block_size must be >= 1")


def _lengths(kv_lengths: Tensor | None, *, batch: int, n_keys: int, device: torch.device) -> Tensor:
    if kv_lengths is None:
        return torch.full((batch,), n_keys, dtype=torch.long, device=device)
    return kv_lengths.to(device=device, dtype=torch.long)


def _select(
    q: Tensor,
    k: Tensor,
    *,
    q_pos: Tensor,
    lengths: Tensor,
    top_k: int,
    causal: bool,
    index_q: Tensor | None,
    index_k: Tensor | None,
    index_weights: Tensor | None,
    sink_tokens: int,
    local_window: int,
) -> _Selection:
    """The keys each query of the chunk attends to.

    Either every visible key (`indices` is None; `visible` is `[batch, 1, chunk, span]`), or
    `indices`/`valid` `[batch, sel_heads, chunk, top_k]`, where sel_heads is 1 for the indexer
    and heads for exact scores.

    `span` is the number of leading keys any query of the chunk may see, so a chunk early in
    a long sequence never touches the keys after it.
    """
    key_pos = torch.arange(k.shape[2], device=q.device)
    span = int((q_pos.max() + 1).item()) if causal else int(lengths.max().item())
    key_pos = key_pos[:span]
    visible = key_pos[None, None, :] < lengths[:, None, None]
    if causal:
        visible = visible & (key_pos[None, None, :] <= q_pos[:, :, None])
    visible = visible[:, None]  # [batch, 1, chunk, span]
    if int(visible.sum(-1).max().item()) <= top_k:
        return _Selection(visible, None, None)
    if index_q is not None and index_k is not None:
        scores = _indexer_scores(index_q, index_k[:, :span], index_weights)
    else:
        scores = _exact_scores(q, k[:, :, :span])
    sink_tokens = min(sink_tokens, top_k)
    local_window = min(local_window, top_k - sink_tokens)
    forced = (key_pos < sink_tokens)[None, None, :] | (
        key_pos[None, None, :] > q_pos[:, :, None] - local_window
    )
    # ReLU leaves many exact-zero indexer scores; break such ties toward recent keys so the
    # selection never depends on the chunking (the offset is below float32 resolution of any
    # non-zero score).
    scores = scores + key_pos.to(scores.dtype) * _TIE_BREAK
    scores = scores.masked_fill(forced[:, None], torch.inf).masked_fill(~visible, -torch.inf)
    values, indices = scores.topk(min(top_k, span), dim=-1, sorted=False)
    return _Selection(visible, indices, values > -torch.inf)


def _indexer_scores(index_q: Tensor, index_k: Tensor, index_weights: Tensor | None) -> Tensor:
    """DSA lightning-indexer scores summed over indexer heads: `[batch, 1, chunk, span]`."""
    per_head = torch.relu(torch.einsum("bhqd,bkd->bhqk", index_q.float(), index_k.float()))
    if index_weights is not None:
        per_head = per_head * index_weights.float()[..., None]
    return per_head.sum(dim=1, keepdim=True)


def _exact_scores(q: Tensor, k: Tensor) -> Tensor:
    """Per-head `q . k` with GQA groups: `[batch, heads, chunk, span]`."""
    batch, heads, chunk, dim = q.shape
    kv_heads = k.shape[1]
    grouped = q.reshape(batch, kv_heads, (heads // kv_heads) * chunk, dim)
    scores = grouped.float() @ k.float().transpose(-1, -2)
    return scores.reshape(batch, heads, chunk, k.shape[2])


def _attend_gathered(q: Tensor, k: Tensor, v: Tensor, selected: Tensor, scale: float) -> Tensor:
    """Gather each row's union of selected keys once, then SDPA restricted per query."""
    outputs = []
    for row in range(q.shape[0]):
        union = selected[row].any(dim=(0, 1)).nonzero().squeeze(-1)
        mask = selected[row][:, :, union]  # [sel_heads, chunk, union]
        keys = k[row].index_select(1, union)
        values = v[row].index_select(1, union)
        outputs.append(
            F.scaled_dot_product_attention(
                q[row],
                keys,
                values,
                attn_mask=mask,
                scale=scale,
                enable_gqa=q.shape[1] != k.shape[1],
            )
        )
    return torch.stack(outputs)


def dense_attention_reference(
    q: Tensor, k: Tensor, v: Tensor, *, scale: float | None = None
) -> Tensor:
    """Naive causal attention that materialises the full score matrix (benchmark baseline only)."""
    groups = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(groups, dim=1)
    v = v.repeat_interleave(groups, dim=1)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-1, -2)) * scale
    n_q, n_k = q.shape[2], k.shape[2]
    future = torch.ones(n_q, n_k, dtype=torch.bool, device=q.device).triu(n_k - n_q + 1)
    return scores.masked_fill(future, -torch.inf).softmax(-1) @ v
