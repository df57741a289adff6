"""Gateway overhead: the same load sent straight to a fixed-latency upstream and through
liftmeter's gateway, in one run.

Method: a fake OpenAI-compatible upstream (`fake_upstream.py`) answers every completion after
a fixed delay. The load generator sends `--requests` requests at each `--concurrency` level,
first directly (`POST /v1/completions` with the prompt the gateway would build), then through
the gateway (`POST /v1/descriptions`, a unique product per request, cache off, risk screen
on, outbox and metering event written per call). Added latency = gateway percentile −
direct percentile at the same concurrency. Sustained throughput is the completed requests
per second at each level with zero errors. Everything shares the same 2 cores, so the
numbers are an upper bound on overhead.

With `--litellm PATH` (the `litellm` executable of a separate virtualenv with
`litellm[proxy]`), LiteLLM's proxy runs against the same upstream in the same run and its
added latency on `/v1/chat/completions` is printed beside liftmeter's.

usage: python benchmarks/gateway_overhead.py [--requests 300] [--concurrency 1,8,32]
                                             [--latency-ms 50] [--database-url URL]
                                             [--litellm /path/to/venv/bin/litellm]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.keys import create_merchant, issue_key  # noqa: E402
from inference.prompts import ProductInput, build_prompt  # noqa: E402
from liftmeter import migrate  # noqa: E402
from liftmeter.db import build_engine, session_factory  # noqa: E402
from liftmeter.settings import DatabaseSettings  # noqa: E402

console = Console(width=150)
LITELLM_KEY = "sk-" + secrets.token_hex(24)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def product(i: int) -> dict[str, object]:
    return {
        "id": f"sku-{i}",
        "title": f"Trail Pro backpack {i}",
        "brand": "Nordvik",
        "category": "backpack",
        "attributes": {"capacity": "30 L"},
        "features": ["reflective trim"],
    }


async def run_load(
    url: str, bodies: list[dict[str, object]], headers: dict[str, str], concurrency: int
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as client:

        async def one(body: dict[str, object]) -> None:
            nonlocal errors
            async with semaphore:
                start = time.perf_counter()
                r = await client.post(url, json=body)
                latencies.append((time.perf_counter() - start) * 1000)
                errors += r.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        elapsed = time.perf_counter() - started
    return latencies, errors, len(bodies) / elapsed


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def prepare_database(url: str) -> str:
    engine = build_engine(DatabaseSettings(url=url))
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        merchant = create_merchant(session, name="bench")
        secret = issue_key(
            session,
            merchant_id=merchant.id,
            name="bench",
            scopes=["descriptions:write"],
            requests_per_minute=10_000_000,
            tokens_per_minute=1_000_000_000,
        ).secret
    engine.dispose()
    return secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--litellm", default=None, help="litellm executable (optional)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    tmp = tempfile.mkdtemp(prefix="lm-bench-")
    db_url = args.database_url or f"sqlite:///{tmp}/bench.db"
    secret = prepare_database(db_url)
    up_port, gw_port = free_port(), free_port()
    env = {
        **os.environ,
        "LIFTMETER_DATABASE__URL": db_url,
        "LIFTMETER_INFERENCE__BACKEND": "openai",
        "LIFTMETER_INFERENCE__BASE_URL": f"http://127.0.0.1:{up_port}/v1",
        "LIFTMETER_INFERENCE__MODEL": "bench-model",
        "LIFTMETER_CACHE__MAX_ENTRIES": "0",
        "LIFTMETER_LOG__LEVEL": "WARNING",
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "fake_upstream.py"),
                str(up_port),
                str(args.latency_ms),
            ],
            cwd=ROOT,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "gateway.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(gw_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        ),
    ]
    litellm_port = free_port() if args.litellm else None
    if args.litellm:
        procs.append(start_litellm(args.litellm, litellm_port, up_port, tmp))
    try:
        wait_http(f"http://127.0.0.1:{up_port}/health")
        wait_http(f"http://127.0.0.1:{gw_port}/healthz")
        results = measure(args, levels, up_port, gw_port, secret)
        if litellm_port is not None:
            wait_http(f"http://127.0.0.1:{litellm_port}/health/liveliness", timeout_s=180)
            measure_litellm(args, levels, up_port, litellm_port, results)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)
    report(results, args)


def start_litellm(executable: str, port: int, up_port: int, tmp: str) -> subprocess.Popen[bytes]:
    config = Path(tmp) / "litellm.yaml"
    config.write_text(
        "model_list:\n  - model_name: bench-model\n    litellm_params:\n"
        f"      model: openai/bench-model\n      api_base: http://127.0.0.1:{up_port}/v1\n"
        "      api_key: none\n"
    )
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_MASTER_KEY": LITELLM_KEY}
    return subprocess.Popen(
        [
            executable,
            "--config",
            str(config),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--num_workers",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure_litellm(
    args: argparse.Namespace,
    levels: list[int],
    up_port: int,
    litellm_port: int,
    results: list[dict[str, float]],
) -> None:
    """Chat completions direct and through LiteLLM's proxy, at the same levels."""
    body = {
        "model": "bench-model",
        "max_tokens": 160,
        "messages": [
            {"role": "user", "content": build_prompt(ProductInput.model_validate(product(0)))}
        ],
    }
    bodies = [body] * args.requests
    for row, c in zip(results, levels, strict=True):
        d_lat, _, _ = asyncio.run(
            run_load(f"http://127.0.0.1:{up_port}/v1/chat/completions", bodies, {}, c)
        )
        l_lat, l_err, l_rps = asyncio.run(
            run_load(
                f"http://127.0.0.1:{litellm_port}/v1/chat/completions",
                bodies,
                {"Authorization": f"Bearer {LITELLM_KEY}"},
                c,
            )
        )
        row["litellm_rps"] = l_rps
        row["errors_litellm"] = l_err
        for q in (50, 95, 99):
            row[f"litellm_added_p{q}"] = pct(l_lat, q) - pct(d_lat, q)


def measure(
    args: argparse.Namespace, levels: list[int], up_port: int, gw_port: int, secret: str
) -> list[dict[str, float]]:
    direct_url = f"http://127.0.0.1:{up_port}/v1/completions"
    gateway_url = f"http://127.0.0.1:{gw_port}/v1/descriptions"
    auth = {"Authorization": f"Bearer {secret}"}
    # warm-up: first risk-model load and connection setup are not part of the steady state
    asyncio.run(run_load(gateway_url, [{"product": product(-i)} for i in range(1, 6)], auth, 1))
    results = []
    offset = 0
    for c in levels:
        bodies = [{"product": product(offset + i)} for i in range(args.requests)]
        offset += args.requests
        direct_bodies = [
            {
                "model": "bench-model",
                "max_tokens": 160,
                "prompt": build_prompt(ProductInput.model_validate(b["product"])),
            }
            for b in bodies
        ]
        d_lat, d_err, d_rps = asyncio.run(run_load(direct_url, direct_bodies, {}, c))
        g_lat, g_err, g_rps = asyncio.run(run_load(gateway_url, bodies, auth, c))
        results.append(
            {
                "concurrency": c,
                "direct_rps": d_rps,
                "gateway_rps": g_rps,
                "errors": d_err + g_err,
                **{f"direct_p{q}": pct(d_lat, q) for q in (50, 95, 99)},
                **{f"gateway_p{q}": pct(g_lat, q) for q in (50, 95, 99)},
            }
        )
    return results


def report(results: list[dict[str, float]], args: argparse.Namespace) -> None:
    table = Table(
        title=f"gateway overhead vs a {args.latency_ms:.0f} ms upstream "
        f"({args.requests} requests per level)"
    )
    for col in (
        "concurrency",
        "direct p50/p95/p99 ms",
        "gateway p50/p95/p99 ms",
        "added p50/p95/p99 ms",
        "direct req/s",
        "gateway req/s",
        "ratio",
        "errors",
    ):
        table.add_column(col, justify="right")
    for r in results:
        added = [r[f"gateway_p{q}"] - r[f"direct_p{q}"] for q in (50, 95, 99)]
        table.add_row(
            str(r["concurrency"]),
            "/".join(f"{r[f'direct_p{q}']:.1f}" for q in (50, 95, 99)),
            "/".join(f"{r[f'gateway_p{q}']:.1f}" for q in (50, 95, 99)),
            "/".join(f"{a:.1f}" for a in added),
            f"{r['direct_rps']:.0f}",
            f"{r['gateway_rps']:.0f}",
            f"{r['gateway_rps'] / r['direct_rps']:.2f}×",
            str(int(r["errors"])),
        )
    console.print(table)
    if results and "litellm_rps" in results[0]:
        side = Table(title="added latency: liftmeter vs LiteLLM proxy (same upstream, same run)")
        for col in (
            "concurrency",
            "liftmeter added p50/p95/p99 ms",
            "LiteLLM added p50/p95/p99 ms",
            "liftmeter req/s",
            "LiteLLM req/s",
            "LiteLLM errors",
        ):
            side.add_column(col, justify="right")
        for r in results:
            side.add_row(
                str(r["concurrency"]),
                "/".join(f"{r[f'gateway_p{q}'] - r[f'direct_p{q}']:.1f}" for q in (50, 95, 99)),
                "/".join(f"{r[f'litellm_added_p{q}']:.1f}" for q in (50, 95, 99)),
                f"{r['gateway_rps']:.0f}",
                f"{r['litellm_rps']:.0f}",
                str(int(r["errors_litellm"])),
            )
        console.print(side)
    out = ROOT / "var" / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "gateway_overhead.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
