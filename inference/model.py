"""The embedded language model: a small decoder-only transformer with top-k sparse attention.

Llama-style blocks (RMSNorm, rotary positions, SwiGLU, grouped-query attention, tied input and
output embeddings) plus a DSA-like lightning indexer per layer. Training runs dense causal
attention for the language-model loss and fits the indexer by KL divergence to the layer's
head-averaged dense attention, on detached inputs (the indexer never moves the LM weights).
Inference runs `inference.attention.sparse_attention` with the indexer's selection against a
slot-based KV cache (keys, values and indexer keys), so prefill and decode share one path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from inference.attention import sparse_attention


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network and its default sparse-attention budget."""

    vocab_size: int = 2048
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2
    ffn_hidden: int = 384
    index_heads: int = 2
    index_dim: int = 16
    max_seq_len: int = 512
    rope_base: float = 10000.0
    top_k: int = 64
    sink_tokens: int = 2
    local_window: int = 8
    norm_eps: float = 1e-5
    # Trained on slot placeholders (`inference.delex`): the engine delexicalizes template
    # prompts and relexicalizes the output. Older checkpoints lack the key: False.
    delexicalized: bool = False

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ValueError("d_model must divide into heads, heads into kv heads")
        if self.head_dim % 2 or self.index_dim % 2:
            raise ValueError("rotary needs even head_dim and index_dim")


class KVCache:
    """Per-layer keys, values and indexer keys for `slots` sequences of up to `max_len` tokens.

    Each slot holds one sequence; `lengths[slot]` counts its cached tokens. The engine assigns
    slots to requests, so a batch can decode any subset of slots.
    """

    def __init__(self, config: ModelConfig, *, slots: int, max_len: int) -> None:
        shape = (slots, config.n_kv_heads, max_len, config.head_dim)
        self.keys = [torch.zeros(shape) for _ in range(config.n_layers)]
        self.values = [torch.zeros(shape) for _ in range(config.n_layers)]
        self.index_keys = [
            torch.zeros(slots, max_len, config.index_dim) for _ in range(config.n_layers)
        ]
        self.lengths = torch.zeros(slots, dtype=torch.long)
        self.max_len = max_len

    def reset(self, slot: int) -> None:
        self.lengths[slot] = 0


class _Rotary(nn.Module):
    """Rotary position tables, looked up by absolute position (non-interleaved halves)."""

    cos: Tensor
    sin: Tensor

    def __init__(self, dim: int, max_len: int, base: float) -> None:
        super().__init__()
        inv_freq = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        angles = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: Tensor, positions: Tensor) -> Tensor:
        """Rotate `x` `[batch, heads, seq, dim]` at `positions` `[batch, seq]`."""
        cos = self.cos[positions][:, None]
        sin = self.sin[positions][:, None]
        first, second = x.chunk(2, dim=-1)
        return torch.cat((first * cos - second * sin, first * sin + second * cos), dim=-1)


class _Attention(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        kv_dim = config.n_kv_heads * config.head_dim
        self.wq = nn.Linear(config.d_model, config.d_model, bias=False)
        self.wkv = nn.Linear(config.d_model, 2 * kv_dim, bias=False)
        self.wo = nn.Linear(config.d_model, config.d_model, bias=False)
        self.index_q = nn.Linear(config.d_model, config.index_heads * config.index_dim, bias=False)
        self.index_k = nn.Linear(config.d_model, config.index_dim, bias=False)
        self.index_w = nn.Linear(config.d_model, config.index_heads, bias=False)
        self.rotary = _Rotary(config.head_dim, config.max_seq_len, config.rope_base)
        self.index_rotary = _Rotary(config.index_dim, config.max_seq_len, config.rope_base)

    def _project(self, x: Tensor, positions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        batch, seq, _ = x.shape
        cfg = self.config
        q = self.wq(x).view(batch, seq, cfg.n_heads, cfg.head_dim).transpose(1, 2)
        k, v = self.wkv(x).view(batch, seq, 2, cfg.n_kv_heads, cfg.head_dim).unbind(2)
        q = self.rotary(q, positions)
        k = self.rotary(k.transpose(1, 2), positions)
        return q, k, v.transpose(1, 2)

    def _index(self, x: Tensor, positions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Indexer queries `[b, ih, s, d]`, keys `[b, s, d]` and head weights `[b, ih, s]`."""
        batch, seq, _ = x.shape
        cfg = self.config
        iq = self.index_q(x).view(batch, seq, cfg.index_heads, cfg.index_dim).transpose(1, 2)
        iq = self.index_rotary(iq, positions)
        ik = self.index_rotary(self.index_k(x)[:, None], positions)[:, 0]
        weights = self.index_w(x).transpose(1, 2) * cfg.index_heads**-0.5
        return iq, ik, weights

    def forward_dense(self, x: Tensor, positions: Tensor) -> tuple[Tensor, Tensor]:
        """Training path: dense causal attention, plus the indexer's KL to it."""
        q, k, v = self._project(x, positions)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        index_loss = self._indexer_loss(x.detach(), positions, q.detach(), k.detach())
        return self.wo(out.transpose(1, 2).flatten(2)), index_loss

    def _indexer_loss(self, x: Tensor, positions: Tensor, q: Tensor, k: Tensor) -> Tensor:
        seq = x.shape[1]
        causal = torch.ones(seq, seq, dtype=torch.bool, device=x.device).tril()
        with torch.no_grad():
            groups = self.config.n_heads // self.config.n_kv_heads
            logits = q @ k.repeat_interleave(groups, 1).transpose(-1, -2) / math.sqrt(q.shape[-1])
            target = logits.masked_fill(~causal, -torch.inf).softmax(-1).mean(1)
        iq, ik, weights = self._index(x, positions)
        scores = (torch.relu(iq @ ik[:, None].transpose(-1, -2)) * weights[..., None]).sum(1)
        log_p = scores.masked_fill(~causal, -torch.inf).log_softmax(-1)
        kl = target * (target.clamp_min(1e-9).log() - log_p.masked_fill(~causal, 0.0))
        return kl.sum(-1).mean()

    def forward_cached(
        self,
        x: Tensor,
        positions: Tensor,
        *,
        cache: KVCache,
        layer: int,
        slots: Tensor,
        top_k: int,
    ) -> Tensor:
        """Inference path: append to the cache, then sparse attention over the cached keys."""
        q, k, v = self._project(x, positions)
        iq, ik, weights = self._index(x, positions)
        rows = slots[:, None].expand_as(positions)
        cache.keys[layer][rows, :, positions] = k.transpose(1, 2)
        cache.values[layer][rows, :, positions] = v.transpose(1, 2)
        cache.index_keys[layer][rows, positions] = ik
        span = int(positions.max().item()) + 1
        out = sparse_attention(
            q,
            cache.keys[layer][slots, :, :span],
            cache.values[layer][slots, :, :span],
            top_k=top_k,
            index_q=iq,
            index_k=cache.index_keys[layer][slots, :span],
            index_weights=weights,
            sink_tokens=self.config.sink_tokens,
            local_window=self.config.local_window,
            kv_lengths=positions[:, -1] + 1,
        )
        projected: Tensor = self.wo(out.transpose(1, 2).flatten(2))
        return projected


class _Block(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.attn_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.attn = _Attention(config)
        self.ffn_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.gate_up = nn.Linear(config.d_model, 2 * config.ffn_hidden, bias=False)
        self.down = nn.Linear(config.ffn_hidden, config.d_model, bias=False)

    def ffn(self, x: Tensor) -> Tensor:
        gate, up = self.gate_up(self.ffn_norm(x)).chunk(2, dim=-1)
        out: Tensor = self.down(F.silu(gate) * up)
        return out


class SparseLM(nn.Module):
    """Decoder-only LM; `forward` trains (dense + indexer loss), `forward_cached` serves."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layers))
        self._block_list: list[_Block] = [cast(_Block, block) for block in self.blocks]
        self.norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def _logits(self, h: Tensor) -> Tensor:
        return F.linear(self.norm(h), self.embed.weight)

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Logits `[batch, seq, vocab]` with dense attention, and the summed indexer loss."""
        positions = torch.arange(tokens.shape[1], device=tokens.device).expand_as(tokens)
        h = self.embed(tokens)
        index_loss = h.new_zeros(())
        for block in self._block_list:
            attn, layer_loss = block.attn.forward_dense(block.attn_norm(h), positions)
            h = h + attn
            h = h + block.ffn(h)
            index_loss = index_loss + layer_loss
        return self._logits(h), index_loss

    def forward_cached(
        self, tokens: Tensor, *, cache: KVCache, slots: Tensor, top_k: int | None = None
    ) -> Tensor:
        """Logits for `tokens` `[batch, seq]` appended to the cached sequences in `slots`.

        Advances `cache.lengths[slots]` by `seq`. `top_k` defaults to the config's budget.
        """
        positions = cache.lengths[slots][:, None] + torch.arange(tokens.shape[1])
        if int(positions.max().item()) >= cache.max_len:
            raise ValueError("sequence exceeds the KV cache length")
        budget = self.config.top_k if top_k is None else top_k
        h = self.embed(tokens)
        for layer, block in enumerate(self._block_list):
            h = h + block.attn.forward_cached(
                block.attn_norm(h), positions, cache=cache, layer=layer, slots=slots, top_k=budget
            )
            h = h + block.ffn(h)
        cache.lengths[slots] += tokens.shape[1]
        return self._logits(h)

    @torch.no_grad()
    def attention_inputs(self, tokens: Tensor) -> list[dict[str, Tensor]]:
        """Per layer, the attention and indexer inputs of a dense pass (for diagnostics).

        Keys: `q`, `k`, `v`, `index_q`, `index_k`, `index_weights`, shaped as
        `inference.attention.sparse_attention` takes them.
        """
        positions = torch.arange(tokens.shape[1]).expand_as(tokens)
        h = self.embed(tokens)
        captured = []
        for block in self._block_list:
            x = block.attn_norm(h)
            q, k, v = block.attn._project(x, positions)
            iq, ik, weights = block.attn._index(x, positions)
            captured.append(
                {"q": q, "k": k, "v": v, "index_q": iq, "index_k": ik, "index_weights": weights}
            )
            h = h + block.attn.forward_dense(x, positions)[0]
            h = h + block.ffn(h)
        return captured

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
