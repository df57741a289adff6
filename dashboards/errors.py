"""Errors of the dashboard pages. The dashboards install handlers that render them as HTML
pages (or a redirect to sign-in), not as the API's JSON error shape; codes stay stable."""

from __future__ import annotations

from liftmeter.errors import Conflict, Forbidden, LiftmeterError, NotFound, ValidationFailed

# A domain service's refusal shown on a page keeps the status the API gives it.
_REFUSAL_STATUS: tuple[tuple[type[LiftmeterError], int], ...] = (
    (ValidationFailed, 400),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
)


def refusal_status(error: LiftmeterError) -> int:
    """The HTTP status of a page that shows `error` as a message (400 unless known)."""
    return next((status for cls, status in _REFUSAL_STATUS if isinstance(error, cls)), 400)


class DashboardError(LiftmeterError):
    """Base of the page errors: an HTTP status and a title for the error page."""

    code = "dashboard_error"
    http_status = 400
    title = "Bad request"


class SignInRequired(DashboardError):
    """No live session (none, expired, tampered with, or its key was revoked)."""

    code = "dashboard_sign_in_required"
    http_status = 401
    title = "Sign in required"


class CsrfRejected(DashboardError):
    """A POST without the CSRF token of the session (or of the sign-in form)."""

    code = "csrf_rejected"
    http_status = 403
    title = "Request refused"


class PageForbidden(DashboardError):
    """Signed in, but the key's scopes do not cover this page."""

    code = "page_forbidden"
    http_status = 403
    title = "Not allowed"


class PageNotFound(DashboardError):
    """No such page or record, or it belongs to another merchant (never say which)."""

    code = "page_not_found"
    http_status = 404
    title = "Not found"


class BadPageParameter(DashboardError):
    """A query parameter of a page is out of range; `param` names it."""

    code = "bad_page_parameter"
    http_status = 400
    title = "Bad request"
