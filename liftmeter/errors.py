"""The one error hierarchy of liftmeter.

Every domain error subclasses `LiftmeterError` and carries a stable, machine-readable
`code` and, when one field is to blame, the `param` that names it. Transports map codes to
their own vocabulary (HTTP statuses in the gateway, exit codes in the CLI) in one place.
"""

from __future__ import annotations


class LiftmeterError(Exception):
    """Base of every liftmeter error: a stable `code`, a human message, an optional `param`."""

    code = "liftmeter_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.param}: {self.message}" if self.param else self.message


class ConfigurationError(LiftmeterError):
    """A setting is invalid or points at something that cannot be reached."""

    code = "configuration_error"


class ValidationFailed(LiftmeterError):
    """Input does not satisfy a contract (an event, a request body, a file row)."""

    code = "validation_failed"


class NotFound(LiftmeterError):
    """The entity does not exist, or belongs to another merchant (never say which)."""

    code = "not_found"


class Conflict(LiftmeterError):
    """The request conflicts with the current state (duplicate, wrong lifecycle state)."""

    code = "conflict"


class EventLogUnavailable(LiftmeterError):
    """The event log (Kafka broker or embedded table) cannot be reached right now."""

    code = "event_log_unavailable"


class Unauthorized(LiftmeterError):
    """No credentials, or credentials that are unknown or revoked."""

    code = "unauthorized"


class Forbidden(LiftmeterError):
    """Valid credentials without the scope the operation needs."""

    code = "forbidden"


class RateLimited(LiftmeterError):
    """A quota or rate limit is exhausted; retry after `retry_after_s` seconds."""

    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: int,
        param: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message, param=param, code=code)
        self.retry_after_s = retry_after_s
