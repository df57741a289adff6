"""Errors of the attribution domain (subclasses of `LiftmeterError` with stable codes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from liftmeter.errors import LiftmeterError, ValidationFailed


class UndefinedStatistic(LiftmeterError):
    """A statistic cannot be computed: zero variance, zero control mean, one unit per arm."""

    code = "undefined_statistic"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one row of a batch or file was refused: where, which field, a stable reason code.

    `position` is the 0-based index in a JSON array, or the 1-based data row of a file
    (the header is not counted); the transport names it `index` or `row` accordingly.
    """

    position: int
    field: str
    reason: str
    message: str


class RowsRejected(ValidationFailed):
    """Some rows were refused and the request asked for all or nothing: nothing was written."""

    code = "rows_rejected"

    def __init__(
        self, rejected: Sequence[Rejection], *, total: int, position_name: str, max_listed: int
    ):
        first = rejected[0]
        super().__init__(
            f"{len(rejected)} of {total} rows rejected (nothing was recorded; send "
            f"?best_effort=true to record the valid ones); first: {position_name} "
            f"{first.position}: {first.field}: {first.message}",
            param=first.field,
        )
        self.rejected = list(rejected)
        self.total = total
        self.position_name = position_name
        self.max_listed = max_listed

    def details(self) -> dict[str, object]:
        listed = self.rejected[: self.max_listed]
        return {
            "rows": self.total,
            "rejected_count": len(self.rejected),
            "rejected": [rejection_dict(r, self.position_name) for r in listed],
            "rejected_truncated": len(listed) < len(self.rejected),
        }


def rejection_dict(rejection: Rejection, position_name: str) -> dict[str, object]:
    return {
        position_name: rejection.position,
        "field": rejection.field,
        "reason": rejection.reason,
        "message": rejection.message,
    }
