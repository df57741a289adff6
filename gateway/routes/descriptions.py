"""POST /v1/descriptions: generate a product description."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from gateway.descriptions import CallContext, describe
from gateway.schemas import DescriptionOut, DescriptionRequest
from liftmeter.errors import ValidationFailed
from liftmeter.web import Principal, Scope, require

router = APIRouter(prefix="/v1", tags=["descriptions"])


def call_context(request: Request) -> CallContext:
    state = request.app.state
    return CallContext(
        settings=state.settings,
        sessions=state.runtime.sessions,
        backend=state.backend.get(),
        risk=state.risk.get(),
        cache=state.cache,
        metrics=state.metrics,
    )


@router.post(
    "/descriptions",
    response_model=DescriptionOut,
    summary="Generate a product description",
    description=(
        "Masks personal data, generates with the configured model, screens the output with "
        "the risk model and records a metered call. Send an `Idempotency-Key` to make retries "
        "safe: the same key and body return the stored response and are billed once; the "
        "same key with another body is a 409."
    ),
    responses={
        409: {"description": "Idempotency-Key reused with another body, or still running"},
        429: {"description": "Rate limit; see Retry-After"},
        503: {"description": "The model backend is unavailable"},
    },
)
async def create_description(
    body: DescriptionRequest,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require(Scope.DESCRIPTIONS_WRITE))],
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
    ] = None,
) -> DescriptionOut:
    if principal.merchant_id is None:
        raise ValidationFailed(
            "descriptions are generated for a merchant: use a merchant key", param="Authorization"
        )
    ctx = call_context(request)
    outcome = await describe(
        ctx,
        principal=principal,
        key=request.state.api_key,
        body=body,
        idempotency_key=idempotency_key,
    )
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return DescriptionOut.model_validate(outcome.body)
