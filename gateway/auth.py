"""Request authentication: `Authorization: Bearer <key>` → `request.state.principal`.

It runs for every route as an app-level dependency. Routes that need a caller depend on
`liftmeter.web.require(scope)`; public routes (health, docs) simply ignore the principal.
An Authorization header with an unknown or revoked key is a 401 even on public routes.
"""

from __future__ import annotations

from fastapi import Request

from gateway.keys import authenticate
from liftmeter.errors import Forbidden, Unauthorized
from liftmeter.web import Principal


def authenticate_request(request: Request) -> None:
    header = request.headers.get("authorization")
    if not header:
        return
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("use 'Authorization: Bearer <key>'", param="Authorization")
    with request.app.state.runtime.sessions() as session:
        principal, key = authenticate(session, secret.strip())
    request.state.principal = principal
    request.state.api_key = key


def merchant_of(principal: Principal) -> str:
    """The merchant a storefront-style request acts for; staff keys have none (403)."""
    if principal.merchant_id is None:
        raise Forbidden("this endpoint acts for one merchant: use one of the merchant's keys")
    return principal.merchant_id
