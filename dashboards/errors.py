"""Errors of the dashboard pages. The dashboards install handlers that render them as HTML
pages (or a redirect to sign-in), not as the API's JSON error shape; codes stay stable."""

from __future__ import annotations

from liftmeter.errors import LiftmeterError


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
