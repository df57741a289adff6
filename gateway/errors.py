"""The one JSON error shape of the API, and the mapping from liftmeter errors to HTTP.

Every error response is `{"error": {"type", "code", "message", "param", "request_id"}}`:
`type` is the broad class (OpenAI-style), `code` is stable and machine-readable, `param`
names the offending field when there is one. Errors with a `details()` method add their
keys inside `error` (a refused batch lists its rejected rows there). Nothing internal
leaks into a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from billing.errors import (
    CreditExceedsInvoice,
    InvoiceEmpty,
    InvoiceNotDraft,
    InvoiceNotFinalized,
    InvoiceNotFound,
    InvoicePaid,
    PeriodInFuture,
    PlanNotFound,
    PlanOverlap,
)
from inference.errors import InferenceError, InferenceUnavailable, InvalidGenerationRequest
from liftmeter.errors import (
    ConfigurationError,
    Conflict,
    EventLogUnavailable,
    Forbidden,
    LiftmeterError,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from liftmeter.logging import get_logger

log = get_logger(__name__)


class PayloadTooLarge(LiftmeterError):
    """A streamed body went past its size limit (bodies that declare their size are
    refused earlier, by the middleware, with the same code)."""

    code = "body_too_large"
    http_status = 413
    error_type = "invalid_request_error"


class UnsupportedMediaType(LiftmeterError):
    """The body's content type is not one the endpoint reads."""

    code = "unsupported_media_type"
    http_status = 415
    error_type = "invalid_request_error"


# (status, type) by error class; the first matching base class wins.
_STATUS: tuple[tuple[type[LiftmeterError], int, str], ...] = (
    # billing: lifecycle refusals are 409 (nothing changed), bad input 400, unknown ids 404
    (InvoiceEmpty, 409, "conflict_error"),
    (InvoiceNotDraft, 409, "conflict_error"),
    (InvoiceNotFinalized, 409, "conflict_error"),
    (InvoicePaid, 409, "conflict_error"),
    (PlanOverlap, 409, "conflict_error"),
    (PeriodInFuture, 400, "invalid_request_error"),
    (CreditExceedsInvoice, 400, "invalid_request_error"),
    (InvoiceNotFound, 404, "not_found_error"),
    (PlanNotFound, 404, "not_found_error"),
    (ValidationFailed, 400, "invalid_request_error"),
    (Unauthorized, 401, "authentication_error"),
    (Forbidden, 403, "permission_error"),
    (NotFound, 404, "not_found_error"),
    (Conflict, 409, "conflict_error"),
    (RateLimited, 429, "rate_limit_error"),
    (EventLogUnavailable, 503, "service_unavailable_error"),
    (ConfigurationError, 503, "service_unavailable_error"),
    (InvalidGenerationRequest, 400, "invalid_request_error"),
    (InferenceUnavailable, 503, "service_unavailable_error"),
    (InferenceError, 502, "api_error"),
)
_HTTP_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def status_of(exc: LiftmeterError) -> tuple[int, str]:
    """The HTTP status and error type for a liftmeter error (503/502 for backends, else 500)."""
    for cls, status, kind in _STATUS:
        if isinstance(exc, cls):
            return status, kind
    return getattr(exc, "http_status", 500), getattr(exc, "error_type", "api_error")


def error_body(
    request: Request,
    *,
    status: int,
    kind: str,
    code: str,
    message: str,
    param: str | None,
    details: dict[str, Any] | None = None,
) -> JSONResponse:
    """The error shape; `details` (e.g. the rejected rows of a batch) go inside `error`."""
    request_id = getattr(request.state, "request_id", None)
    error: dict[str, Any] = {
        "type": kind,
        "code": code,
        "message": message,
        "param": param,
        "request_id": request_id,
    }
    error.update(details or {})
    return JSONResponse({"error": error}, status_code=status)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through the one shape."""

    @app.exception_handler(LiftmeterError)
    async def _liftmeter(request: Request, exc: LiftmeterError) -> JSONResponse:
        status, kind = status_of(exc)
        details_of = getattr(exc, "details", None)
        details = details_of() if callable(details_of) else None
        response = error_body(
            request,
            status=status,
            kind=kind,
            code=exc.code,
            message=exc.message,
            param=exc.param,
            details=details,
        )
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        if status >= 500:
            log.warning("request failed", code=exc.code, error=exc.message)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        field = _field(tuple(first.get("loc", ())))
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        return error_body(
            request,
            status=400,
            kind="invalid_request_error",
            code="invalid_request",
            message=f"{field}: {message}",
            param=field,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_body(
            request,
            status=exc.status_code,
            kind=_HTTP_TYPES.get(exc.status_code, "api_error"),
            code=code,
            message=str(exc.detail),
            param=None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", error=repr(exc))
        return error_body(
            request,
            status=500,
            kind="api_error",
            code="internal_error",
            message="internal error; quote the request id to support",
            param=None,
        )
