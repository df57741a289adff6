"""The gateway application: `create_app(settings)` builds the FastAPI app.

The lifespan opens the runtime (database, event log), starts the outbox relay thread (unless
disabled), and closes everything on shutdown. The model backend and the risk model are
loaded on first use, so the admin and intake routes start instantly.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.auth import authenticate_request
from gateway.errors import install_error_handlers
from gateway.metrics import GatewayMetrics
from gateway.middleware import GatewayMiddleware
from liftmeter import __version__
from liftmeter.outbox import OutboxRelay, pending_count
from liftmeter.runtime import Runtime, open_runtime
from liftmeter.settings import Settings

TAGS = [
    {"name": "descriptions", "description": "Generate product descriptions."},
    {"name": "experiments", "description": "Holdout experiments, variants and exposures."},
    {"name": "conversions", "description": "Report views, add-to-carts and purchases."},
    {"name": "usage", "description": "Metered usage."},
    {"name": "billing", "description": "Plans, invoices, credit notes and exports."},
    {"name": "review", "description": "The human review queue of the risk model."},
    {"name": "lift", "description": "Measured lift and incremental revenue."},
    {"name": "admin", "description": "Merchants and API keys."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


class Lazy:
    """A value built on first use, once, thread-safely (model and risk model loading)."""

    def __init__(self, build: Callable[[], Any]):
        self._build = build
        self._value: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value

    @property
    def loaded(self) -> bool:
        return self._value is not None


def _outbox_pending(app: FastAPI) -> Callable[[], float]:
    def read() -> float:
        runtime: Runtime | None = getattr(app.state, "runtime", None)
        if runtime is None:
            return 0.0
        with runtime.sessions() as session:
            return float(pending_count(session))

    return read


def _start_relay(runtime: Runtime) -> tuple[threading.Event, threading.Thread, OutboxRelay]:
    relay = OutboxRelay(sessions=runtime.sessions, log=runtime.event_log)
    stop = threading.Event()
    thread = threading.Thread(
        target=relay.run, kwargs={"stop": stop}, name="outbox-relay", daemon=True
    )
    thread.start()
    return stop, thread, relay


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the gateway for `settings` (or on an already opened `runtime`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or open_runtime(settings)
        app.state.runtime = rt
        relay = _start_relay(rt) if settings.gateway.run_relay else None
        try:
            yield
        finally:
            if relay is not None:
                stop, thread, outbox = relay
                stop.set()
                thread.join(timeout=10)
                outbox.close()
            await _close_components(app)
            if runtime is None:
                rt.close()

    app = FastAPI(
        title="liftmeter",
        version=__version__,
        summary="Product descriptions by a sparse-attention model, priced on measured lift.",
        description=(
            "Authenticate with `Authorization: Bearer <key>`. Errors have one shape: "
            "`{error: {type, code, message, param, request_id}}`. Every response carries "
            "`X-Request-ID`."
        ),
        openapi_tags=TAGS,
        lifespan=lifespan,
        dependencies=[Depends(authenticate_request)],
    )
    app.state.settings = settings
    app.state.started_at = time.time()
    if runtime is not None:  # usable without the lifespan too (ASGI test transports)
        app.state.runtime = runtime
    metrics = GatewayMetrics(_outbox_pending(app))
    app.state.metrics = metrics
    _install_components(app, settings)
    install_error_handlers(app)
    _install_operations(app)
    _install_routers(app)
    _install_dashboards(app, settings)
    app.add_middleware(
        GatewayMiddleware,
        metrics=metrics,
        max_body_bytes=settings.gateway.max_body_bytes,
        max_upload_bytes=settings.gateway.max_upload_bytes,
    )
    return app


def _install_components(app: FastAPI, settings: Settings) -> None:
    from gateway.cache import build_cache

    def backend() -> Any:
        from inference.client import build_backend

        return build_backend(settings)

    def risk_model() -> Any:
        from billing.risk.model import load_risk_model

        return load_risk_model()

    app.state.backend = Lazy(backend)
    app.state.risk = Lazy(risk_model)
    app.state.cache = build_cache(settings.cache)


async def _close_components(app: FastAPI) -> None:
    backend: Lazy = app.state.backend
    if backend.loaded:
        await backend.get().aclose()


def _install_routers(app: FastAPI) -> None:
    from attribution import api as lift
    from billing import api as billing
    from billing.review import api as review
    from gateway.routes import admin, conversions, descriptions, experiments
    from metering import api as usage

    for module in (descriptions, experiments, conversions, usage, lift, billing, review, admin):
        app.include_router(module.router)


def _install_dashboards(app: FastAPI, settings: Settings) -> None:
    """The web pages under /dashboard, signing in with the gateway's API keys."""
    from dashboards.site import install_dashboards
    from gateway.keys import KeyDirectory

    install_dashboards(app, settings=settings, keys=KeyDirectory())


def _install_operations(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Readiness: database and event log")
    async def readyz(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.runtime
        checks = await asyncio.to_thread(_readiness, rt)
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    def prometheus(request: Request) -> Response:
        data = generate_latest(request.app.state.metrics.registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)


def _readiness(rt: Runtime) -> dict[str, str]:
    checks: dict[str, str] = {}
    probes: tuple[tuple[str, Callable[[], None]], ...] = (
        ("database", lambda: _ping_database(rt)),
        ("event_log", rt.event_log.check),
    )
    for name, probe in probes:
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks[name] = f"error: {exc}"
    return checks


def _ping_database(rt: Runtime) -> None:
    from liftmeter.db import check_database

    check_database(rt.engine)
