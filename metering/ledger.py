"""Read side of the usage ledger: usage for any period at hour, day or month granularity.

Usage is computed from the hourly aggregates plus the adjustments (late calls for closed
periods), bucketed by the UTC hour the calls happened in, so totals always equal the raw
call rows. Billing reads pending adjustments separately (`pending_adjustments`) and settles
them on the next invoice (`settle_adjustments`). All numbers are integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    DateTime,
    Select,
    func,
    literal,
    select,
    tuple_,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from liftmeter.db import is_postgres
from metering.models import DIMENSIONS, MEASURES, UsageAdjustment, UsageHourly
from metering.repository import as_utc, total


class Granularity(StrEnum):
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True)
class UsageRow:
    """Usage of one bucket: period × merchant × meter × the requested dimensions.

    `dimensions` holds only the dimensions grouped by. `cached_tokens` sums the calls whose
    cached token count is known; `cached_tokens_unknown_calls` counts the others.
    """

    period_start: datetime
    merchant_id: str
    meter: str
    dimensions: dict[str, str | bool]
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cached_tokens_unknown_calls: int
    blocked_calls: int
    flagged_calls: int
    failed_calls: int

    def key(self) -> tuple[Any, ...]:
        """The sort key of the row; a page cursor is the key of its last row."""
        return (self.period_start, self.merchant_id, self.meter, *self.dimensions.values())


@dataclass(frozen=True)
class UsageQuery:
    """Which usage to read: [start, end) in UTC, bucketed by `granularity`."""

    start: datetime
    end: datetime
    granularity: Granularity = Granularity.DAY
    merchant_id: str | None = None
    group_by: Sequence[str] = field(default_factory=tuple)
    include_adjustments: bool = True


def _sources(query: UsageQuery) -> Any:
    cols = ["merchant_id", "hour_start", "meter", *DIMENSIONS, *MEASURES]
    parts: list[Select[Any]] = []
    tables: list[Any] = [UsageHourly.__table__]
    if query.include_adjustments:
        tables.append(UsageAdjustment.__table__)
    for table in tables:
        stmt = select(*[table.c[c] for c in cols]).where(
            table.c.hour_start >= query.start, table.c.hour_start < query.end
        )
        if query.merchant_id is not None:
            stmt = stmt.where(table.c.merchant_id == query.merchant_id)
        parts.append(stmt)
    return union_all(*parts).subquery("usage") if len(parts) > 1 else parts[0].subquery("usage")


def _period(session: Session, column: Any, granularity: Granularity) -> Any:
    if is_postgres(session):
        if granularity is Granularity.HOUR:
            return column
        return func.date_trunc(granularity.value, column, "UTC")
    fmt = {
        Granularity.HOUR: "%Y-%m-%d %H:00:00.000000",
        Granularity.DAY: "%Y-%m-%d 00:00:00.000000",
        Granularity.MONTH: "%Y-%m-01 00:00:00.000000",
    }[granularity]
    return type_coerce(func.strftime(fmt, column), DateTime(timezone=True))


def usage_statement(
    session: Session,
    query: UsageQuery,
    *,
    after: Sequence[Any] | None = None,
    limit: int | None = None,
) -> Select[Any]:
    """The grouped, ordered usage query (keyset pagination: rows strictly after `after`)."""
    src = _sources(query)
    keys = [
        _period(session, src.c.hour_start, query.granularity).label("period_start"),
        src.c.merchant_id,
        src.c.meter,
        *[src.c[d] for d in query.group_by],
    ]
    grouped = (
        select(*keys, *[total(src.c[m]).label(m) for m in MEASURES])
        .group_by(*keys)
        .subquery("grouped")
    )
    key_cols = [grouped.c[k.key] for k in keys]
    stmt = select(grouped).order_by(*key_cols)
    if after is not None:
        stmt = stmt.where(
            tuple_(*key_cols)
            > tuple_(
                *[
                    literal(v)
                    if not isinstance(v, datetime)
                    else literal(v, DateTime(timezone=True))
                    for v in after
                ]
            )
        )
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt


def query_usage(
    session: Session,
    query: UsageQuery,
    *,
    after: Sequence[Any] | None = None,
    limit: int | None = None,
) -> list[UsageRow]:
    """Usage rows for `query`, ordered by (period, merchant, meter, dimensions)."""
    rows = session.execute(usage_statement(session, query, after=after, limit=limit))
    return [
        UsageRow(
            period_start=as_utc(r.period_start),
            merchant_id=r.merchant_id,
            meter=r.meter,
            dimensions={d: getattr(r, d) for d in query.group_by},
            **{m: int(getattr(r, m)) for m in MEASURES},
        )
        for r in rows
    ]


def usage_totals(session: Session, query: UsageQuery) -> dict[str, int]:
    """Every measure summed over the whole query (one row per merchant collapsed)."""
    src = _sources(query)
    row = session.execute(select(*[total(src.c[m]).label(m) for m in MEASURES])).one()
    return {m: int(getattr(row, m)) for m in MEASURES}


def pending_adjustments(session: Session, merchant_id: str) -> list[UsageAdjustment]:
    """Late calls of `merchant_id` for closed periods that no invoice has settled yet."""
    stmt = (
        select(UsageAdjustment)
        .where(UsageAdjustment.merchant_id == merchant_id, UsageAdjustment.settled_at.is_(None))
        .order_by(UsageAdjustment.id)
    )
    return list(session.scalars(stmt))


def settle_adjustments(
    session: Session, adjustment_ids: Sequence[int], *, invoice_id: str, settled_at: datetime
) -> int:
    """Mark adjustments as billed on `invoice_id`; return how many were still pending.

    Only pending rows change, so settling twice (a retried finalize) bills nothing twice.
    """
    if not adjustment_ids:
        return 0
    result = session.execute(
        update(UsageAdjustment)
        .where(UsageAdjustment.id.in_(list(adjustment_ids)), UsageAdjustment.settled_at.is_(None))
        .values(settled_at=settled_at, settled_by=invoice_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
