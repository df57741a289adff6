"""Wire models of the usage read API (`GET /v1/usage`). Integers only, never floats."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from metering.ledger import Granularity, UsageRow


class UsageRecord(BaseModel):
    """Usage of one bucket. Dimensions not grouped by are null.

    `cached_tokens` sums the calls whose cached token count is known and is null when no
    call's count is known; `cached_tokens_unknown_calls` counts the calls without one.
    """

    model_config = ConfigDict(frozen=True)

    period_start: datetime
    merchant_id: str
    meter: str
    model: str | None = None
    cache_hit: bool | None = None
    risk_verdict: str | None = None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int | None
    cached_tokens_unknown_calls: int
    blocked_calls: int
    flagged_calls: int
    failed_calls: int

    @classmethod
    def from_row(cls, row: UsageRow) -> UsageRecord:
        known = row.calls - row.cached_tokens_unknown_calls
        return cls(
            period_start=row.period_start,
            merchant_id=row.merchant_id,
            meter=row.meter,
            calls=row.calls,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cached_tokens=row.cached_tokens if known > 0 else None,
            cached_tokens_unknown_calls=row.cached_tokens_unknown_calls,
            blocked_calls=row.blocked_calls,
            flagged_calls=row.flagged_calls,
            failed_calls=row.failed_calls,
            **row.dimensions,  # type: ignore[arg-type]
        )


CSV_COLUMNS: tuple[str, ...] = tuple(UsageRecord.model_fields)


class UsagePage(BaseModel):
    """One page of usage; pass `next_cursor` as `cursor` for the next (null on the last)."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    granularity: Granularity
    group_by: list[str]
    data: list[UsageRecord]
    next_cursor: str | None
