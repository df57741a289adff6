"""Merchants and API keys.

A key is `lmk_` + 32 random bytes (URL-safe base64). Only its SHA-256 is stored, with a
visible prefix (the first 12 characters) so people can tell keys apart; the secret is
returned once, at creation. Lookup is by hash, so no secret is ever compared by string.
Keys of a merchant carry merchant scopes; staff keys (`finance`, `review`,
`admin`) have no merchant.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import ApiKey
from liftmeter.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from liftmeter.ids import new_id
from liftmeter.models import Merchant
from liftmeter.money import check_currency
from liftmeter.web import Principal, Scope

MERCHANT_SCOPES = frozenset(
    {Scope.DESCRIPTIONS_WRITE, Scope.CONVERSIONS_WRITE, Scope.USAGE_READ, Scope.INVOICES_READ}
)
STAFF_SCOPES = frozenset({Scope.FINANCE, Scope.REVIEW, Scope.ADMIN})
KEY_PREFIX = "lmk_"


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_merchant(
    session: Session, *, name: str, currency: str = "USD", merchant_id: str | None = None
) -> Merchant:
    """Register a merchant (id generated unless given)."""
    check_currency(currency)
    merchant_id = merchant_id or new_id("mer")
    if session.get(Merchant, merchant_id) is not None:
        raise Conflict(f"merchant {merchant_id} exists", param="merchant_id")
    merchant = Merchant(id=merchant_id, name=name, currency=currency)
    session.add(merchant)
    session.flush()
    return merchant


def parse_scopes(scopes: Iterable[str]) -> frozenset[Scope]:
    out = set()
    for raw in scopes:
        try:
            out.add(Scope(raw))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ValidationFailed(
                f"unknown scope {raw!r} (known: {known})", param="scopes"
            ) from None
    if not out:
        raise ValidationFailed("at least one scope is required", param="scopes")
    return frozenset(out)


def issue_key(
    session: Session,
    *,
    merchant_id: str | None,
    name: str,
    scopes: Iterable[str],
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
) -> IssuedKey:
    """Create a key; the returned secret is never stored and cannot be shown again."""
    granted = parse_scopes(scopes)
    if merchant_id is None and not granted <= STAFF_SCOPES:
        raise ValidationFailed("merchant scopes need a merchant_id", param="merchant_id")
    if merchant_id is not None:
        if granted & STAFF_SCOPES:
            raise ValidationFailed(
                "finance, review and admin keys belong to no merchant", param="scopes"
            )
        if session.get(Merchant, merchant_id) is None:
            raise NotFound("no such merchant", param="merchant_id")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"),
        merchant_id=merchant_id,
        name=name,
        prefix=secret[:12],
        secret_sha256=hash_secret(secret),
        scopes=" ".join(sorted(granted)),
        requests_per_minute=requests_per_minute,
        tokens_per_minute=tokens_per_minute,
    )
    session.add(key)
    session.flush()
    return IssuedKey(key, secret)


def principal_of(key: ApiKey) -> Principal:
    return Principal(
        key_id=key.id, merchant_id=key.merchant_id, scopes=frozenset(key.scopes.split())
    )


def authenticate(session: Session, secret: str) -> tuple[Principal, ApiKey]:
    """The principal of a live key, or `Unauthorized`."""
    key = session.scalars(select(ApiKey).where(ApiKey.secret_sha256 == hash_secret(secret))).first()
    if key is None or key.revoked_at is not None:
        raise Unauthorized("invalid or revoked API key")
    return principal_of(key), key


def live_principal(session: Session, key_id: str) -> Principal | None:
    """The principal of key `key_id` if it exists and is not revoked, else None."""
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return None
    return principal_of(key)


class KeyDirectory:
    """Key lookups for the dashboards' sign-in (which may not import the gateway)."""

    def authenticate(self, session: Session, secret: str) -> Principal:
        return authenticate(session, secret)[0]

    def principal(self, session: Session, key_id: str) -> Principal | None:
        return live_principal(session, key_id)


def list_keys(session: Session, *, merchant_id: str | None) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at)
    if merchant_id is not None:
        stmt = stmt.where(ApiKey.merchant_id == merchant_id)
    return list(session.scalars(stmt))


def revoke_key(session: Session, key_id: str, *, principal: Principal | None = None) -> ApiKey:
    """Revoke a key (idempotent). A merchant may revoke only its own keys."""
    key = session.get(ApiKey, key_id)
    if key is None or (
        principal is not None
        and not principal.is_staff
        and key.merchant_id != principal.merchant_id
    ):
        raise NotFound("no such key", param="key_id")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
    session.flush()
    return key
