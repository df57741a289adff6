"""Benchmark: top-k sparse attention against naive dense attention and SDPA on CPU.

One attention layer, batch 1, fp32, `torch.set_num_threads(2)`. For each sequence length:
prefill time and peak memory (ru_maxrss delta, measured in a fresh subprocess per case),
and decode time per token (one query against an N-token cache, median of repeated runs).
The indexer inputs are random here (timing only; a random indexer is the worst case for the
block-shared union). Quality is measured separately, on the trained model's own activations:
per-layer output cosine of sparse vs dense attention.

    python benchmarks/sparse_attention.py              # 4k, 16k, 32k
    python benchmarks/sparse_attention.py --long       # adds 64k (slow)
    python benchmarks/sparse_attention.py --sizes 4096 # quick
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAIVE_LIMIT_BYTES = 4 * 1024**3

_CASE = r"""
import json, resource, statistics, sys, time, torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from inference.attention import dense_attention_reference, sparse_attention
torch.set_num_threads(2)
method = sys.argv[1]
n, top_k, heads, kv_heads, dim, index_dim, steps, run_prefill = map(int, sys.argv[2:10])
g = torch.Generator().manual_seed(0)
q = torch.randn(1, heads, n, dim, generator=g); k = torch.randn(1, kv_heads, n, dim, generator=g)
v = torch.randn(1, kv_heads, n, dim, generator=g)
iq = torch.randn(1, 1, n, index_dim, generator=g); ik = torch.randn(1, n, index_dim, generator=g)
gqa = heads != kv_heads
def prefill():
    if method == "naive":
        return dense_attention_reference(q, k, v)
    if method == "sdpa":
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
    return sparse_attention(q, k, v, top_k=top_k, index_q=iq, index_k=ik)
def decode():
    if method == "sparse":
        return sparse_attention(q[:, :, -1:], k, v, top_k=top_k, index_q=iq[:, :, -1:], index_k=ik)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        return F.scaled_dot_product_attention(q[:, :, -1:], k, v, enable_gqa=gqa)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if run_prefill: prefill()
prefill_s = time.perf_counter() - start if run_prefill else 0.0
peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
decode_ms = None
if method != "naive":
    for _ in range(3): decode()
    times = []
    for _ in range(steps):
        start = time.perf_counter(); decode(); times.append(time.perf_counter() - start)
    decode_ms = statistics.median(times) * 1000
print(json.dumps({"prefill_s": prefill_s, "peak_mib": peak_mib, "decode_ms": decode_ms}))
"""


@dataclass(frozen=True)
class Row:
    """One measured case."""

    n: int
    method: str
    top_k: int | None
    prefill_s: float
    peak_mib: float
    decode_ms: float | None


def run_case(method: str, n: int, top_k: int, args: argparse.Namespace) -> Row:
    argv = [
        method,
        n,
        top_k,
        args.heads,
        args.kv_heads,
        args.head_dim,
        args.index_dim,
        args.decode_steps,
        int(not args.decode_only),
    ]
    result = subprocess.run(
        [sys.executable, "-c", _CASE, *map(str, argv)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    return Row(n=n, method=method, top_k=top_k or None, **measured)


def naive_bytes(n: int, heads: int) -> int:
    return 2 * heads * n * n * 4  # scores + softmax, fp32


def attention_table(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for n in args.sizes:
        cases = [("sdpa", 0)] + [("sparse", k) for k in args.ks]
        if naive_bytes(n, args.heads) <= NAIVE_LIMIT_BYTES and not args.decode_only:
            cases.insert(0, ("naive", 0))
        for method, top_k in cases:
            rows.append(run_case(method, n, top_k, args))
            print(asdict(rows[-1]), file=sys.stderr, flush=True)
    return rows


def model_cosine(
    ks: list[int], examples: int, checkpoint_dir: Path | None = None
) -> list[dict[str, float]]:
    """Cosine of sparse vs dense layer outputs on the trained model, per held-out example.

    Each example is one prompt + description at its natural length (the model's training
    distribution). `mean`/`min` are over every (layer, head, position); `sparse_mean` only
    over positions that have more causal keys than `k` (where selection changes anything).
    """
    import torch
    import torch.nn.functional as F  # noqa: N812

    from inference.attention import sparse_attention
    from inference.checkpoint import load_checkpoint
    from inference.corpus import build_examples

    checkpoint = load_checkpoint(checkpoint_dir)
    config = checkpoint.model.config
    open_share = float(checkpoint.metadata.get("open_share", 0.0))
    captured = [
        checkpoint.model.attention_inputs(
            torch.tensor([checkpoint.tokenizer.encode(ex.prompt + ex.completion)])
        )
        for ex in build_examples(examples, seed=4242, held_out=True, open_share=open_share)
    ]
    rows = []
    for top_k in ks:
        every, beyond = [], []
        for layers in captured:
            for layer in layers:
                dense = F.scaled_dot_product_attention(
                    layer["q"], layer["k"], layer["v"], is_causal=True, enable_gqa=True
                )
                sparse = sparse_attention(
                    layer["q"],
                    layer["k"],
                    layer["v"],
                    top_k=top_k,
                    index_q=layer["index_q"],
                    index_k=layer["index_k"],
                    index_weights=layer["index_weights"],
                    sink_tokens=config.sink_tokens,
                    local_window=config.local_window,
                )
                cosine = F.cosine_similarity(sparse, dense, dim=-1)  # [1, heads, seq]
                every.append(cosine.flatten())
                beyond.append(cosine[..., top_k:].flatten())
        all_cos, sparse_cos = torch.cat(every), torch.cat(beyond)
        rows.append(
            {
                "top_k": top_k,
                "mean": float(all_cos.mean()),
                "min": float(all_cos.min()),
                "sparse_mean": float(sparse_cos.mean()) if sparse_cos.numel() else 1.0,
            }
        )
    return rows


def print_attention(rows: list[Row], heads: int) -> None:
    print(
        "| N | method | k | prefill s | SDPA/this | peak MiB | below naive | decode ms "
        "| SDPA/this decode |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        sdpa = next(r for r in rows if r.n == row.n and r.method == "sdpa")
        naive = next((r for r in rows if r.n == row.n and r.method == "naive"), None)
        naive_mib = naive.peak_mib if naive else naive_bytes(row.n, heads) / 2**20
        saving = f"{1 - row.peak_mib / naive_mib:.1%}" + ("" if naive else " (computed)")
        decode = "-" if row.decode_ms is None else f"{row.decode_ms:.3f}"
        ratio = "-"
        if row.decode_ms is not None and sdpa.decode_ms is not None:
            ratio = f"{sdpa.decode_ms / row.decode_ms:.1f}x"
        prefill = "-"
        if row.prefill_s > 0:
            prefill = f"{row.prefill_s:.3f} | {sdpa.prefill_s / row.prefill_s:.2f}x"
        else:
            prefill = "- | -"
        print(
            f"| {row.n} | {row.method} | {row.top_k or '-'} | {prefill} | "
            f"{row.peak_mib:.0f} | {saving} | {decode} | {ratio} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[4096, 16384, 32768]
    )
    parser.add_argument("--long", action="store_true", help="also run 64k")
    parser.add_argument(
        "--ks", type=lambda s: [int(x) for x in s.split(",")], default=[64, 256, 2048]
    )
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--kv-heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--index-dim", type=int, default=16)
    parser.add_argument("--decode-steps", type=int, default=20)
    parser.add_argument("--cosine-examples", type=int, default=64)
    parser.add_argument("--decode-only", action="store_true", help="skip prefill (fast)")
    parser.add_argument("--cosine-only", action="store_true", help="only the model cosine")
    parser.add_argument(
        "--cosine-ks", type=lambda s: [int(x) for x in s.split(",")], default=[16, 32, 48, 96]
    )
    parser.add_argument("--checkpoint", type=Path, help="checkpoint (default: the shipped one)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    if args.long:
        args.sizes.append(65536)
    started = time.perf_counter()
    rows = [] if args.cosine_only else attention_table(args)
    if rows:
        print_attention(rows, args.heads)
        print()
    from inference.checkpoint import load_checkpoint

    default_k = load_checkpoint(args.checkpoint).model.config.top_k
    ks = sorted({*args.cosine_ks, default_k})
    cosine = model_cosine(ks, args.cosine_examples, args.checkpoint)
    print(
        f"Trained-model attention output cosine, sparse vs dense, {args.cosine_examples} "
        f"held-out examples (default k={default_k})"
    )
    print("| k | mean cosine | min cosine | mean where sparse (pos >= k) |\n|---|---|---|---|")
    for row in cosine:
        print(
            f"| {row['top_k']} | {row['mean']:.4f} | {row['min']:.4f} | {row['sparse_mean']:.4f} |"
        )
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(
            json.dumps({"attention": [asdict(r) for r in rows], "cosine": cosine}, indent=2)
        )


if __name__ == "__main__":
    main()
