"""Errors of the inference package; all subclass `liftmeter.errors.LiftmeterError`."""

from __future__ import annotations

from liftmeter.errors import LiftmeterError


class InferenceError(LiftmeterError):
    """The model backend failed or answered something that is not a valid completion."""

    code = "inference_error"


class InferenceUnavailable(InferenceError):
    """The model backend cannot be reached (connection refused, timeout, repeated 5xx)."""

    code = "inference_unavailable"


class InvalidGenerationRequest(InferenceError):
    """The request cannot be served as asked (too long, bad sampling values); `param` says why."""

    code = "invalid_request"
