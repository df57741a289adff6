"""The usage page's numbers, read from the metering ledger in one grouped query.

The ledger (`metering.ledger.query_usage`) is read at the page's granularity grouped by
every dimension (model, cache hit, risk verdict); the series over time, the totals and
the breakdowns are sums of those rows, so they always agree with each other and with
`GET /v1/usage`. Empty periods are filled with zeros so charts show gaps as zero.

Spend is the same usage priced with the merchant's plan by billing's own functions
(`dashboards.spend`): per period, the change of the month-to-date rating. None (an em dash
on the page) when nothing can be priced: no plan, or merchants in several currencies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from dashboards.spend import usage_spend
from metering.ledger import Granularity, UsageQuery, UsageRow, query_usage
from metering.models import DIMENSIONS

STEP = {Granularity.HOUR: timedelta(hours=1), Granularity.DAY: timedelta(days=1)}
SERIES_MEASURES = (
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cache_hits",
    "flagged_calls",
    "blocked_calls",
    "failed_calls",
)


@dataclass(frozen=True)
class UsageWindow:
    """[start, end) in UTC at `granularity` (hour or day)."""

    start: datetime
    end: datetime
    granularity: Granularity

    @classmethod
    def last(cls, days: int, granularity: Granularity, *, now: datetime) -> UsageWindow:
        """The last `days` days up to and including the current hour (or day)."""
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if granularity is Granularity.HOUR:
            end = hour + STEP[granularity]
            return cls(end - timedelta(days=days), end, granularity)
        end = hour.replace(hour=0) + STEP[granularity]
        return cls(end - timedelta(days=days), end, granularity)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def periods(self) -> list[datetime]:
        step, out, moment = STEP[self.granularity], [], self.start
        while moment < self.end:
            out.append(moment)
            moment += step
        return out


@dataclass(frozen=True)
class Breakdown:
    """Usage of one value of a dimension over the whole window."""

    name: str
    calls: int
    prompt_tokens: int
    completion_tokens: int


@dataclass
class UsageReport:
    """Series per period, totals and breakdowns of one merchant (or all, for staff)."""

    window: UsageWindow
    periods: list[datetime]
    series: dict[str, list[int]]
    totals: dict[str, int]
    by_model: list[Breakdown]
    by_verdict: list[Breakdown]
    spend: Mapping[datetime, Decimal] | None = field(default=None)
    spend_currency: str | None = None
    unpriced_merchants: int = 0

    @property
    def spend_total(self) -> Decimal | None:
        return None if self.spend is None else sum(self.spend.values(), Decimal(0))

    @property
    def is_empty(self) -> bool:
        return self.totals["calls"] == 0


def _measures(row: UsageRow) -> dict[str, int]:
    return {
        "calls": row.calls,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "cache_hits": row.calls if row.dimensions["cache_hit"] else 0,
        "flagged_calls": row.flagged_calls,
        "blocked_calls": row.blocked_calls,
        "failed_calls": row.failed_calls,
    }


def _breakdown(rows: list[UsageRow], dimension: str) -> list[Breakdown]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        acc = sums[str(row.dimensions[dimension])]
        acc[0] += row.calls
        acc[1] += row.prompt_tokens
        acc[2] += row.completion_tokens
    ordered = sorted(sums.items(), key=lambda item: (-item[1][0], item[0]))
    return [Breakdown(name, *values) for name, values in ordered]


def build_usage_report(
    session: Session, window: UsageWindow, *, merchant_id: str | None
) -> UsageReport:
    """Read the ledger for `window` (one merchant, or every merchant when None)."""
    query = UsageQuery(
        start=window.start,
        end=window.end,
        granularity=window.granularity,
        merchant_id=merchant_id,
        group_by=DIMENSIONS,
    )
    rows = query_usage(session, query)
    periods = window.periods()
    index = {moment: i for i, moment in enumerate(periods)}
    series = {name: [0] * len(periods) for name in SERIES_MEASURES}
    for row in rows:
        i = index[row.period_start]
        for name, value in _measures(row).items():
            series[name][i] += value
    spend = usage_spend(
        session,
        start=window.start,
        end=window.end,
        granularity=window.granularity,
        merchant_id=merchant_id,
    )
    return UsageReport(
        window=window,
        periods=periods,
        series=series,
        totals={name: sum(values) for name, values in series.items()},
        by_model=_breakdown(rows, "model"),
        by_verdict=_breakdown(rows, "risk_verdict"),
        spend=spend.by_period if spend is not None else None,
        spend_currency=spend.currency if spend is not None else None,
        unpriced_merchants=spend.unpriced_merchants if spend is not None else 0,
    )
