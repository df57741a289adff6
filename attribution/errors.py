"""Errors of the attribution domain (subclasses of `LiftmeterError` with stable codes)."""

from __future__ import annotations

from liftmeter.errors import LiftmeterError


class UndefinedStatistic(LiftmeterError):
    """A statistic cannot be computed: zero variance, zero control mean, one unit per arm."""

    code = "undefined_statistic"
