"""Benchmark: generation throughput one request at a time vs concurrent through the micro-batcher.

Uses the shipped checkpoint and the in-process engine (no HTTP), greedy decoding, held-out
product prompts. Reports generated tokens/s, per-request latency p50/p95, and the ratio.

    python benchmarks/generation.py --requests 32 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import torch

from inference.catalog import generate_products
from inference.checkpoint import load_checkpoint
from inference.engine import Completion, GenerationEngine
from inference.prompts import build_prompt
from inference.sampling import SamplingParams


async def run_load(
    engine: GenerationEngine, prompts: list[str], *, concurrency: int, max_tokens: int
) -> dict[str, float]:
    semaphore = asyncio.Semaphore(concurrency)
    params = SamplingParams(max_tokens=max_tokens, temperature=0.0)
    latencies: list[float] = []

    async def one(prompt: str) -> Completion:
        async with semaphore:
            start = time.perf_counter()
            result = await engine.generate(prompt, params)
            latencies.append(time.perf_counter() - start)
            return result

    start = time.perf_counter()
    results = await asyncio.gather(*(one(p) for p in prompts))
    elapsed = time.perf_counter() - start
    tokens = sum(r.completion_tokens for r in results)
    ordered = sorted(latencies)
    return {
        "tokens": tokens,
        "seconds": elapsed,
        "tokens_per_s": tokens / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--batch-wait-ms", type=float, default=5.0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    checkpoint = load_checkpoint()
    engine = GenerationEngine(
        checkpoint, max_batch_size=args.concurrency, batch_wait_ms=args.batch_wait_ms
    ).start()
    products = generate_products(args.requests, seed=314, held_out=True)
    prompts = [build_prompt(p) for p in products]
    asyncio.run(run_load(engine, prompts[:2], concurrency=1, max_tokens=args.max_tokens))
    rows = {
        "1 at a time": asyncio.run(
            run_load(engine, prompts, concurrency=1, max_tokens=args.max_tokens)
        ),
        f"{args.concurrency} concurrent": asyncio.run(
            run_load(engine, prompts, concurrency=args.concurrency, max_tokens=args.max_tokens)
        ),
    }
    engine.close()
    base = rows["1 at a time"]["tokens_per_s"]
    print(f"Generation, {args.requests} held-out product prompts, greedy, CPU 2 threads")
    print("| mode | tokens | seconds | tokens/s | ratio | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        print(
            f"| {name} | {row['tokens']:.0f} | {row['seconds']:.2f} | {row['tokens_per_s']:.0f} | "
            f"{row['tokens_per_s'] / base:.2f}x | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} |"
        )


if __name__ == "__main__":
    main()
