"""Merchants and API keys (admin; merchants may list and revoke their own keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy.orm import Session, sessionmaker

from billing.risk.terms import merchant_terms, replace_terms
from gateway import keys
from gateway.models import ApiKey
from gateway.schemas import (
    KeyCreate,
    KeyIssued,
    KeyOut,
    MerchantCreate,
    MerchantOut,
    RiskTermsIn,
    RiskTermsOut,
)
from liftmeter.errors import Forbidden, NotFound
from liftmeter.models import Merchant
from liftmeter.web import Principal, Scope, current_principal, db_session, require, sessions

router = APIRouter(prefix="/v1", tags=["admin"])
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
Caller = Annotated[Principal, Depends(current_principal)]
Sessions = Annotated[sessionmaker[Session], Depends(sessions)]


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        name=key.name,
        merchant_id=key.merchant_id,
        prefix=key.prefix,
        scopes=key.scopes.split(),
        requests_per_minute=key.requests_per_minute,
        tokens_per_minute=key.tokens_per_minute,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.post(
    "/merchants",
    status_code=status.HTTP_201_CREATED,
    response_model=MerchantOut,
    summary="Register a merchant",
)
def create_merchant(body: MerchantCreate, _: Admin, factory: Sessions) -> MerchantOut:
    with factory.begin() as session:
        m = keys.create_merchant(
            session, name=body.name, currency=body.currency, merchant_id=body.id
        )
        return MerchantOut(id=m.id, name=m.name, currency=m.currency, created_at=m.created_at)


@router.post(
    "/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyIssued,
    summary="Issue an API key (the secret is shown once)",
)
def create_key(body: KeyCreate, _: Admin, factory: Sessions) -> KeyIssued:
    with factory.begin() as session:
        issued = keys.issue_key(
            session,
            merchant_id=body.merchant_id,
            name=body.name,
            scopes=body.scopes,
            requests_per_minute=body.requests_per_minute,
            tokens_per_minute=body.tokens_per_minute,
        )
        return KeyIssued(**_key_out(issued.key).model_dump(), secret=issued.secret)


@router.put(
    "/merchants/{merchant_id}/risk-terms",
    response_model=RiskTermsOut,
    summary="Set a merchant's forbidden terms (competitor marks); outputs naming them are blocked",
)
def put_risk_terms(
    merchant_id: str, body: RiskTermsIn, caller: Caller, factory: Sessions
) -> RiskTermsOut:
    if not caller.has(Scope.ADMIN):
        caller.merchant_scope(merchant_id)  # a merchant may set its own; others are a 404
        if not caller.has(Scope.DESCRIPTIONS_WRITE):
            raise Forbidden("this key lacks the 'descriptions:write' scope")
    with factory.begin() as session:
        if session.get(Merchant, merchant_id) is None:
            raise NotFound("no such merchant", param="merchant_id")
        terms = replace_terms(session, merchant_id, body.terms)
        return RiskTermsOut(merchant_id=merchant_id, terms=terms)


@router.get(
    "/merchants/{merchant_id}/risk-terms",
    response_model=RiskTermsOut,
    summary="A merchant's forbidden terms",
)
def get_risk_terms(
    merchant_id: str, caller: Caller, session: Annotated[Session, Depends(db_session)]
) -> RiskTermsOut:
    if not caller.is_staff:
        caller.merchant_scope(merchant_id)
    return RiskTermsOut(merchant_id=merchant_id, terms=merchant_terms(session, merchant_id))


@router.get("/keys", response_model=list[KeyOut], summary="List keys (a merchant sees its own)")
def list_keys(
    caller: Caller, session: Annotated[Session, Depends(db_session)], merchant_id: str | None = None
) -> list[KeyOut]:
    if not caller.has(Scope.ADMIN) and caller.merchant_id is None:
        raise Forbidden("this key lacks the 'admin' scope")
    scope = merchant_id if caller.has(Scope.ADMIN) else caller.merchant_scope(merchant_id)
    return [_key_out(k) for k in keys.list_keys(session, merchant_id=scope)]


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, summary="Revoke a key")
def revoke_key(key_id: str, caller: Caller, factory: Sessions) -> KeyOut:
    with factory.begin() as session:
        principal = None if caller.has(Scope.ADMIN) else caller
        return _key_out(keys.revoke_key(session, key_id, principal=principal))
