"""HTTP plumbing every router shares: the caller's identity and scopes, and the DB session.

The gateway authenticates each request (API key or dashboard session) and puts a
`Principal` on `request.state.principal`; domain routers (`metering/api.py`,
`billing/api.py`, …) depend on `require(Scope.X)` to get it. Reads depend on `db_session`;
writes depend on `sessions` and open `with sessions.begin():` themselves, so the commit
happens (or fails) before the response is built, never after it was sent. Routers raise
`LiftmeterError`s; the gateway maps them to HTTP statuses and its one JSON error shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from liftmeter.errors import Forbidden, NotFound, Unauthorized


class Scope(StrEnum):
    """What an API key may do."""

    DESCRIPTIONS_WRITE = "descriptions:write"
    CONVERSIONS_WRITE = "conversions:write"
    USAGE_READ = "usage:read"
    INVOICES_READ = "invoices:read"
    FINANCE = "finance"
    REVIEW = "review"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a merchant's key (`merchant_id` set) or a staff key (finance, review,
    admin)."""

    key_id: str
    merchant_id: str | None
    scopes: frozenset[str]

    @property
    def is_staff(self) -> bool:
        """Finance and admin keys see every merchant (review keys only in the review queue)."""
        return bool(self.scopes & {Scope.FINANCE, Scope.ADMIN})

    def has(self, scope: Scope) -> bool:
        """Admin holds every scope; finance also reads every merchant's usage and invoices and
        may decide review items (the `review` scope alone is for reviewers who are not finance)."""
        if scope in self.scopes or Scope.ADMIN in self.scopes:
            return True
        finance_also = (Scope.USAGE_READ, Scope.INVOICES_READ, Scope.REVIEW)
        return Scope.FINANCE in self.scopes and scope in finance_also

    def merchant_scope(self, requested: str | None = None) -> str | None:
        """The merchant whose data this request may read.

        A merchant key always gets its own merchant (asking for another one is a 404, so
        ids of other tenants are never confirmed). Staff get `requested`, or None for all.
        """
        if self.is_staff:
            return requested
        if requested is not None and requested != self.merchant_id:
            raise NotFound("no such merchant", param="merchant_id")
        return self.merchant_id

    def ensure_owns(self, merchant_id: str, *, what: str = "resource") -> None:
        """Raise `NotFound` unless staff or the owner of a row of `merchant_id`."""
        if not self.is_staff and merchant_id != self.merchant_id:
            raise NotFound(f"no such {what}")


def current_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthorized("missing or invalid API key (send 'Authorization: Bearer <key>')")
    return principal


def require(scope: Scope) -> Callable[[Request], Principal]:
    """A dependency that returns the caller if it holds `scope`, else 401/403."""

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if not principal.has(scope):
            raise Forbidden(f"this key lacks the '{scope}' scope")
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency


def db_session(request: Request) -> Iterator[Session]:
    """A session for reads; rolled back (nothing to keep) when the request ends."""
    with request.app.state.runtime.sessions() as session:
        yield session


def sessions(request: Request) -> sessionmaker[Session]:
    """The session factory, for handlers that write: they own their transaction."""
    factory: sessionmaker[Session] = request.app.state.runtime.sessions
    return factory
