"""ASGI middleware: request ids, body-size limits, access logs and HTTP metrics.

Pure ASGI (no BaseHTTPMiddleware) to keep the per-request overhead small.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import GatewayMetrics
from liftmeter.logging import get_logger

log = get_logger("gateway.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")
# JSON batch endpoints sized like uploads (10,000 exposures do not fit the 1 MiB default).
_BATCH_PATHS = frozenset({"/v1/exposures"})


class BodyTooLarge(Exception):
    pass


def _error(status: int, code: str, message: str, request_id: str) -> bytes:
    return json.dumps(
        {
            "error": {
                "type": "invalid_request_error",
                "code": code,
                "message": message,
                "param": None,
                "request_id": request_id,
            }
        }
    ).encode()


class GatewayMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: GatewayMetrics, max_body_bytes: int, max_upload_bytes: int
    ):
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes

    def _limit(self, path: str) -> int:
        if path.endswith("/upload") or path in _BATCH_PATHS:
            return self.max_upload
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else f"req_{uuid.uuid4().hex}"
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self._limit(scope["path"])
        start = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send_with_id, request_id, limit)
        else:
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLarge
                return message

            structlog.contextvars.bind_contextvars(request_id=request_id)
            try:
                await self.app(scope, limited_receive, send_with_id)
            except BodyTooLarge:
                await self._reject(send_with_id, request_id, limit)
            finally:
                structlog.contextvars.unbind_contextvars("request_id")
        self._observe(scope, status["code"], time.perf_counter() - start, request_id)

    async def _reject(self, send: Any, request_id: str, limit: int) -> None:
        body = _error(413, "body_too_large", f"request body exceeds {limit} bytes", request_id)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _observe(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.requests.labels(method, template, str(status)).inc()
        self.metrics.latency.labels(method, template).observe(seconds)
        if template not in ("/metrics", "/healthz"):
            log.info(
                "request",
                method=method,
                route=template,
                status=status,
                duration_ms=round(seconds * 1000, 2),
                request_id=request_id,
            )
