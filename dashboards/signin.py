"""Sign-in and sign-out of the dashboards.

- `GET /dashboard/login`: the form. It sets a short-lived pre-session cookie with a nonce;
  the form carries the matching token, so another site cannot sign a browser in.
- `POST /dashboard/login` (`api_key`, `csrf_token`, `next`): verifies the key with the
  gateway's key lookups; on success sets the session cookie (HttpOnly, SameSite=Lax, path
  /dashboard, signed, expiring after `gateway.dashboard_session_ttl_s`) and redirects.
- `POST /dashboard/logout` (`csrf_token`): clears the cookie.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dashboards.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    CsrfViewerDep,
    DashboardState,
    current_viewer,
    may_sign_in,
    state_of,
)
from dashboards.errors import CsrfRejected, DashboardError
from dashboards.nav import PREFIX
from dashboards.session import new_nonce, tokens_match
from dashboards.templating import render
from liftmeter.errors import Unauthorized
from liftmeter.web import Scope

router = APIRouter(prefix=PREFIX)
LOGIN_TTL_S = 3600
HOME = "/dashboard/usage"


def safe_next(target: str | None) -> str:
    """Only paths of the dashboards themselves: never another host (no open redirect)."""
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target:
        return target
    return HOME


def _login_form(
    request: Request, *, next_path: str, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    state = state_of(request)
    nonce = new_nonce()
    response = render(
        request,
        "login.html",
        viewer=None,
        title="Sign in",
        login_token=state.signer.login_token(nonce),
        next_path=next_path,
        error=error,
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_TTL_S,
        path="/dashboard/login",
        httponly=True,
        samesite="lax",
        secure=state.secure_cookie,
    )
    return response


@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
def home(request: Request) -> RedirectResponse:
    viewer = current_viewer(request)
    if viewer.principal.has(Scope.USAGE_READ):
        target = HOME
    else:
        target = "/dashboard/lift" if viewer.reads_merchant_data else "/dashboard/review"
    return RedirectResponse(target, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    try:
        current_viewer(request)
    except DashboardError:
        return _login_form(request, next_path=safe_next(next))
    return RedirectResponse(safe_next(next), status_code=303)


def _start_session(state: DashboardState, key_id: str, target: str) -> RedirectResponse:
    cookie, _ = state.signer.issue(key_id, now=time.time(), ttl_s=state.session_ttl_s)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=state.session_ttl_s,
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=state.secure_cookie,
    )
    response.delete_cookie(LOGIN_COOKIE, path="/dashboard/login")
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str | None, Form(max_length=200)] = None,
    next: Annotated[str | None, Form(max_length=500)] = None,  # noqa: A002
) -> Response:
    state = state_of(request)
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not tokens_match(state.signer.login_token(nonce), csrf_token):
        raise CsrfRejected("the sign-in form expired or came from another site; reload it")
    target = safe_next(next)
    try:
        with request.app.state.runtime.sessions() as session:
            principal = state.keys.authenticate(session, api_key.strip())
    except Unauthorized:
        return _login_form(
            request, next_path=target, error="Unknown or revoked API key.", status_code=401
        )
    if not may_sign_in(principal):
        return _login_form(
            request,
            next_path=target,
            status_code=403,
            error=(
                "This key cannot open the dashboards: "
                "it needs usage:read, finance, review or admin."
            ),
        )
    if target == HOME and not principal.has(Scope.USAGE_READ):
        target = PREFIX  # the home page sends each key to the first page it may open
    return _start_session(state, principal.key_id, target)


@router.post("/logout")
def logout(request: Request, viewer: CsrfViewerDep) -> RedirectResponse:
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/dashboard")
    return response
