"""Cache warming: describe every product of a catalogue CSV through the gateway's API.

Warming goes through `POST /v1/descriptions` like any client (so each generation is metered
and screened), with bounded concurrency, an `Idempotency-Key` derived from the request body (a
rerun after an interruption does not generate twice), and a progress bar.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from liftmeter.errors import ValidationFailed

BASE_COLUMNS = ("id", "title", "brand", "category")


def read_catalog(path: Path) -> list[dict[str, Any]]:
    """Products from a CSV; `features` is `;`-separated; unknown columns become attributes."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in BASE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValidationFailed(f"catalog lacks column(s) {', '.join(missing)}", param="catalog")
        products = []
        for row in reader:
            product: dict[str, Any] = {c: row[c] for c in BASE_COLUMNS}
            product["features"] = [
                f.strip() for f in (row.get("features") or "").split(";") if f.strip()
            ]
            if row.get("price"):
                product["price"] = row["price"]
            product["attributes"] = {
                k: v for k, v in row.items() if k not in (*BASE_COLUMNS, "features", "price") and v
            }
            products.append(product)
    return products


async def warm(
    products: list[dict[str, Any]],
    *,
    url: str,
    key: str,
    style: str | None,
    concurrency: int,
    console: Console,
) -> dict[str, int]:
    """Describe `products`; return counts of generated, cached and failed calls."""
    counts = {"generated": 0, "cached": 0, "failed": 0}
    semaphore = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    progress = Progress(
        TextColumn("warming cache"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:

        async def one(product: dict[str, Any]) -> None:
            async with semaphore:
                body = {"product": product, "style": style}
                digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
                r = await client.post(
                    "/v1/descriptions",
                    json=body,
                    headers={"Idempotency-Key": f"warm:{digest[:32]}"},
                )
            if r.status_code != 200:
                counts["failed"] += 1
                console.print(f"[red]{product['id']}[/]: {r.status_code} {r.text[:200]}")
            else:
                counts["cached" if r.json()["cached"] else "generated"] += 1
            progress.advance(task)

        with progress:
            task = progress.add_task("warm", total=len(products))
            await asyncio.gather(*(one(p) for p in products))
    return counts
