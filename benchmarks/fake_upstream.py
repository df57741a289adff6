"""A fixed-latency OpenAI-compatible upstream for gateway benchmarks.

`python benchmarks/fake_upstream.py PORT LATENCY_MS` serves `/v1/completions`,
`/v1/chat/completions`, `/v1/models` and `/health`; every completion sleeps LATENCY_MS and
returns a fixed description with exact `usage`.
"""

from __future__ import annotations

import asyncio
import sys
import time

import uvicorn
from fastapi import FastAPI, Request

TEXT = "A dependable everyday product, made with care and built to last."


def build(latency_ms: float) -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {}

    @app.get("/v1/models")
    async def models() -> dict[str, object]:
        return {
            "object": "list",
            "data": [
                {
                    "id": "bench-model",
                    "object": "model",
                    "created": 0,
                    "owned_by": "bench",
                    "max_model_len": 4096,
                }
            ],
        }

    async def complete(request: Request, chat: bool) -> dict[str, object]:
        body = await request.json()
        await asyncio.sleep(latency_ms / 1000)
        prompt = body.get("prompt") or str(body.get("messages"))
        usage = {
            "prompt_tokens": len(str(prompt)) // 4,
            "completion_tokens": 14,
            "total_tokens": len(str(prompt)) // 4 + 14,
        }
        choice: dict[str, object] = {"index": 0, "finish_reason": "stop"}
        if chat:
            choice["message"] = {"role": "assistant", "content": TEXT}
        else:
            choice["text"] = TEXT
        return {
            "id": "cmpl-bench",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": body.get("model", "bench-model"),
            "choices": [choice],
            "usage": usage,
        }

    @app.post("/v1/completions")
    async def completions(request: Request) -> dict[str, object]:
        return await complete(request, chat=False)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> dict[str, object]:
        return await complete(request, chat=True)

    return app


if __name__ == "__main__":
    port, latency = int(sys.argv[1]), float(sys.argv[2])
    uvicorn.run(build(latency), host="127.0.0.1", port=port, log_level="warning", access_log=False)
