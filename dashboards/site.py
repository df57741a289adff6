"""The dashboards as a whole: page modules, static files, error pages, `install_dashboards`.

The gateway calls `install_dashboards(app, settings=…, keys=…)`; every page then lives
under `/dashboard`. A page module is a file with an `APIRouter` named `router` and,
when it belongs in the navigation, a `NAV` item; list it in `PAGES` (in nav order).
Static files: `/dashboard/static/plotly.min.js` (from the installed plotly package),
`dashboards.css` and `dashboards.js` (from `dashboards/static/`).
"""

from __future__ import annotations

import inspect
import secrets
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from dashboards import audit, charts, invoices, lift, review, signin, usage
from dashboards.auth import DashboardState, KeyDirectory, current_viewer
from dashboards.errors import DashboardError, PageNotFound, SignInRequired
from dashboards.nav import PREFIX, NavItem
from dashboards.session import SessionSigner
from dashboards.templating import build_templates, render
from liftmeter.settings import Settings

PAGES: tuple[ModuleType, ...] = (usage, lift, invoices, review, audit)
STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {"dashboards.css": "text/css", "dashboards.js": "text/javascript"}
STATIC_CACHE = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}

static_router = APIRouter(prefix=PREFIX)


@static_router.get("/static/plotly.min.js", include_in_schema=False)
def plotly_js() -> FileResponse:
    return FileResponse(charts.plotly_js_path(), media_type="text/javascript", headers=STATIC_CACHE)


@static_router.get("/static/{name}", include_in_schema=False)
def static_file(name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise PageNotFound("no such file")
    return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name], headers=STATIC_CACHE)


def _session_secret(settings: Settings) -> bytes:
    configured = settings.gateway.dashboard_session_secret
    if configured is None:
        return secrets.token_bytes(32)
    return configured.get_secret_value().encode()


def _is_page(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def _install_error_pages(app: FastAPI) -> None:
    previous = app.exception_handlers.get(StarletteHTTPException)

    async def dashboard_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DashboardError)
        if isinstance(exc, SignInRequired):
            target = request.url.path if request.method == "GET" else PREFIX
            if request.method == "GET" and request.url.query:
                target += "?" + request.url.query
            next_param = quote(target, safe="/")
            return RedirectResponse(f"{PREFIX}/login?next={next_param}", status_code=303)
        try:  # the navigation of the error page, for a viewer who is signed in
            viewer = await run_in_threadpool(current_viewer, request)
        except DashboardError:
            viewer = None
        return render(
            request,
            "error.html",
            viewer=viewer,
            title=exc.title,
            error=exc,
            status_code=exc.http_status,
        )

    async def unknown_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _is_page(request) and exc.status_code == 404:
            return await dashboard_error(request, PageNotFound("no such page"))
        assert previous is not None
        response = previous(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(DashboardError, dashboard_error)
    app.add_exception_handler(StarletteHTTPException, unknown_page)


def install_dashboards(app: FastAPI, *, settings: Settings, keys: KeyDirectory) -> None:
    """Mount every page under `/dashboard` and the handlers that render page errors."""
    nav: tuple[NavItem, ...] = tuple(page.NAV for page in PAGES if hasattr(page, "NAV"))
    app.state.dashboards = DashboardState(
        signer=SessionSigner(_session_secret(settings)),
        keys=keys,
        templates=build_templates(),
        session_ttl_s=settings.gateway.dashboard_session_ttl_s,
        secure_cookie=settings.gateway.dashboard_secure_cookie,
        nav=nav,
    )
    for module in (signin, *PAGES):
        app.include_router(module.router, include_in_schema=False)
    app.include_router(static_router, include_in_schema=False)
    _install_error_pages(app)
