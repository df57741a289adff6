"""Who is looking at a page: the signed-in viewer, its merchant scope, and CSRF checks.

Sign-in posts an API key; the gateway's key lookups (a `KeyDirectory`, handed in when the
gateway installs the dashboards, since no package may import the gateway) verify it, and
the session cookie keeps only the key id. Every page depends on `current_viewer`, which
re-reads the key, so a revoked key is signed out on its next request. Every POST depends on
`csrf_viewer`, which also checks the session's CSRF token in the form (403 without it).

Scoping mirrors the API's: a merchant's key sees its own merchant only, and asking for
another merchant (or one of its rows) is a 404 so ids of other tenants are never
confirmed; finance and admin keys see every merchant, or the one picked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request
from jinja2 import Environment
from sqlalchemy.orm import Session

from dashboards.errors import CsrfRejected, PageForbidden, PageNotFound, SignInRequired
from dashboards.nav import NavItem
from dashboards.session import SessionSigner, tokens_match
from liftmeter.web import Principal, Scope

SESSION_COOKIE = "lm_dashboard_session"
LOGIN_COOKIE = "lm_dashboard_login"
CSRF_FIELD = "csrf_token"


class KeyDirectory(Protocol):
    """API-key lookups the gateway provides (`gateway.keys.KeyDirectory`)."""

    def authenticate(self, session: Session, secret: str) -> Principal:
        """The principal of a live key secret; raises `Unauthorized` otherwise."""
        ...

    def principal(self, session: Session, key_id: str) -> Principal | None:
        """The principal of a live key id, or None (unknown or revoked)."""
        ...


@dataclass(frozen=True)
class DashboardState:
    """Everything the pages share, kept on `app.state.dashboards`."""

    signer: SessionSigner
    keys: KeyDirectory
    templates: Environment
    session_ttl_s: int
    secure_cookie: bool
    nav: tuple[NavItem, ...]


def state_of(request: Request) -> DashboardState:
    state: DashboardState = request.app.state.dashboards
    return state


def is_reviewer(principal: Principal) -> bool:
    """A staff key that decides review items (`review`, finance or admin; no merchant)."""
    return principal.merchant_id is None and principal.has(Scope.REVIEW)


def may_sign_in(principal: Principal) -> bool:
    """Keys that read usage (merchants' read keys), staff, and reviewers open the dashboards.

    A reviewer's key (scope `review` alone) reads no merchant data: only the review queue.
    """
    return principal.is_staff or principal.has(Scope.USAGE_READ) or is_reviewer(principal)


@dataclass(frozen=True)
class Viewer:
    """The signed-in caller of a page, and the CSRF token its forms must carry."""

    principal: Principal
    csrf_token: str

    @property
    def is_staff(self) -> bool:
        return self.principal.is_staff

    @property
    def is_finance(self) -> bool:
        return self.principal.has(Scope.FINANCE)

    def require(self, scope: Scope) -> None:
        if not self.principal.has(scope):
            raise PageForbidden(f"this key lacks the '{scope}' scope")

    @property
    def is_reviewer(self) -> bool:
        return is_reviewer(self.principal)

    @property
    def reads_merchant_data(self) -> bool:
        """Staff or a merchant's key; a reviewer's key sees the review queue only."""
        return self.is_staff or self.principal.merchant_id is not None

    def merchant_scope(self, requested: str | None) -> str | None:
        """The merchant whose data the page shows: own (merchants); picked or all (staff)."""
        if self.is_staff:
            return requested or None
        if self.principal.merchant_id is None:
            raise PageForbidden("this key reads no merchant data")
        if requested and requested != self.principal.merchant_id:
            raise PageNotFound("no such merchant", param="merchant_id")
        return self.principal.merchant_id

    def ensure_owns(self, merchant_id: str, *, what: str) -> None:
        if not self.is_staff and merchant_id != self.principal.merchant_id:
            raise PageNotFound(f"no such {what}")


def current_viewer(request: Request) -> Viewer:
    """The viewer of a live session, or `SignInRequired` (the pages redirect to sign-in)."""
    state = state_of(request)
    token = state.signer.read(request.cookies.get(SESSION_COOKIE), now=time.time())
    if token is None:
        raise SignInRequired("sign in with an API key")
    with request.app.state.runtime.sessions() as session:
        principal = state.keys.principal(session, token.key_id)
    if principal is None or not may_sign_in(principal):
        raise SignInRequired("the key of this session was revoked; sign in again")
    return Viewer(principal, state.signer.csrf_token(token.nonce))


async def csrf_viewer(
    request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Viewer:
    """The viewer of a POST whose form carries the session's CSRF token, else 403."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not tokens_match(viewer.csrf_token, given if isinstance(given, str) else None):
        raise CsrfRejected("missing or wrong CSRF token; reload the page and try again")
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
CsrfViewerDep = Annotated[Viewer, Depends(csrf_viewer)]
