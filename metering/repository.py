"""All SQL of the usage ledger: bulk inserts, aggregate upserts, locks, period lookups.

Statements are set-based, never one round trip per event: PostgreSQL (production) counts a
consumer batch in one statement (`ingest_calls`), SQLite (embedded) with one statement per
table (`insert_calls`, `add_to_hourly`, `insert_adjustments`). Functions flush into
the caller's transaction; they never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    String,
    Subquery,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from liftmeter.db import is_postgres
from liftmeter.events import CallCompletedStruct
from liftmeter.models import Merchant
from metering.models import (
    MEASURES,
    METER_DESCRIPTIONS,
    ClosedPeriod,
    Disposition,
    UsageAdjustment,
    UsageCall,
    UsageHourly,
)

CALL_COLUMNS: tuple[str, ...] = (
    "event_id",
    "merchant_id",
    "occurred_at",
    "hour_start",
    "call_id",
    "model",
    "cache_hit",
    "risk_verdict",
    "status",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "disposition",
)
HOURLY_KEY: tuple[str, ...] = (
    "merchant_id",
    "hour_start",
    "meter",
    "model",
    "cache_hit",
    "risk_verdict",
)
_ROW_COLUMNS = ", ".join((*CALL_COLUMNS, "recorded_at"))
# PostgreSQL fast path (`ingest_calls`): the accepted calls travel as one JSON array
# parameter (msgspec encodes a batch in C; PostgreSQL's `json_to_recordset` turns it back
# into rows on the database's core), then one statement inserts the raw rows (`ON CONFLICT
# (event_id) DO NOTHING`), and from the rows it actually inserted adds the hourly
# aggregates (closed periods excluded) and the adjustments (closed periods only). The hour
# and the disposition are computed in the statement that decides which rows are new.


class _Arriving(
    msgspec.Struct,
    gc=False,
    rename={
        "event_id": "e",
        "merchant_id": "m",
        "occurred_at": "t",
        "call_id": "c",
        "model": "mo",
        "cache_hit": "h",
        "risk_verdict": "v",
        "status": "s",
        "prompt_tokens": "p",
        "completion_tokens": "o",
        "cached_tokens": "k",
    },
):
    """One call as the ingest statement reads it: its columns under one-letter keys (the
    database parses a third of the JSON the whole event would take)."""

    event_id: uuid.UUID
    merchant_id: str
    occurred_at: datetime
    call_id: str
    model: str
    cache_hit: bool
    risk_verdict: str
    status: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int | None


_ARRIVING_KEYS = (
    "e uuid, m varchar, t timestamptz, c varchar, mo varchar, h boolean, v varchar, "
    "s varchar, p bigint, o bigint, k bigint"
)
_ARRIVING_AS_COLUMNS = (
    "e AS event_id, m AS merchant_id, t AS occurred_at, c AS call_id, mo AS model, "
    "h AS cache_hit, v AS risk_verdict, s AS status, p AS prompt_tokens, "
    "o AS completion_tokens, k AS cached_tokens"
)
_CALL_MEASURES_SQL = (
    "1",
    "prompt_tokens",
    "completion_tokens",
    "coalesce(cached_tokens, 0)",
    "(cached_tokens IS NULL)::int",
    "(status = 'blocked')::int",
    "(risk_verdict = 'review')::int",
    "(status = 'failed')::int",
)  # one call as the MEASURES counters: the arithmetic of `calls_as_measures`
_KEY_SQL = f"merchant_id, hour_start, '{METER_DESCRIPTIONS}', model, cache_hit, risk_verdict"
_PG_INGEST = text(
    "WITH arriving AS ("
    "  SELECT a.*, h.hour_start, p.period_start"
    f"  FROM (SELECT {_ARRIVING_AS_COLUMNS}"
    f"   FROM json_to_recordset(CAST(:calls AS json)) AS j({_ARRIVING_KEYS})) a"
    "  CROSS JOIN LATERAL (SELECT date_trunc('hour', a.occurred_at, 'UTC') AS hour_start) h"
    "  LEFT JOIN closed_periods p ON p.merchant_id = a.merchant_id"
    "   AND p.period_start <= h.hour_start AND h.hour_start < p.period_end"
    "), inserted AS ("
    f"  INSERT INTO usage_calls ({_ROW_COLUMNS})"
    "  SELECT event_id, merchant_id, occurred_at, hour_start, call_id, model, cache_hit,"
    "   risk_verdict, status, prompt_tokens, completion_tokens, cached_tokens,"
    "   CASE WHEN period_start IS NULL THEN 'hourly' ELSE 'adjustment' END, :recorded_at"
    "  FROM arriving WHERE NOT EXISTS (SELECT 1 FROM processed_events s"  # settled: rejected
    "   WHERE s.group_id = :settled_group AND s.event_id = arriving.event_id)"
    "  ON CONFLICT (event_id) DO NOTHING"
    "  RETURNING event_id, merchant_id, hour_start, model, cache_hit, risk_verdict, status,"
    "   prompt_tokens, completion_tokens, cached_tokens, disposition"
    "), hourly AS ("
    f"  INSERT INTO usage_hourly ({', '.join((*HOURLY_KEY, *MEASURES))})"
    f"  SELECT {_KEY_SQL}, {', '.join(f'sum({m})' for m in _CALL_MEASURES_SQL)}"
    "  FROM inserted WHERE disposition = 'hourly'"
    "  GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"  # one lock order for all consumers
    f"  ON CONFLICT ({', '.join(HOURLY_KEY)}) DO UPDATE SET "
    + ", ".join(f"{m} = usage_hourly.{m} + excluded.{m}" for m in MEASURES)
    + "), adjusted AS ("
    "  INSERT INTO usage_adjustments"
    f"  (event_id, period_start, created_at, {', '.join((*HOURLY_KEY, *MEASURES))})"
    "  SELECT i.event_id, p.period_start, :recorded_at, i.merchant_id, i.hour_start,"
    f"   '{METER_DESCRIPTIONS}',"
    f"   i.model, i.cache_hit, i.risk_verdict, {', '.join(_CALL_MEASURES_SQL)}"
    "  FROM inserted i JOIN closed_periods p ON p.merchant_id = i.merchant_id"
    "   AND p.period_start <= i.hour_start AND i.hour_start < p.period_end"
    "  WHERE i.disposition = 'adjustment'"
    "  ON CONFLICT (event_id) DO NOTHING"
    ") SELECT count(*) FROM inserted"
)
_SQLITE_CHUNK = 500


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _dialect(session: Session) -> Any:
    return postgresql if is_postgres(session) else sqlite


def lock_ledger_for_ingest(session: Session) -> None:
    """Order this ingest after any `close_period` in flight (see `lock_ledger_for_close`).

    ROW EXCLUSIVE does not conflict with itself, so consumers still run side by side. On
    SQLite `BEGIN IMMEDIATE` already serializes every writer.
    """
    if is_postgres(session):
        session.execute(text("LOCK TABLE usage_hourly IN ROW EXCLUSIVE MODE"))


def lock_ledger_for_close(session: Session) -> None:
    """Block ingest until the caller commits: a period closes between batches, never inside."""
    if is_postgres(session):
        session.execute(text("LOCK TABLE usage_hourly IN SHARE ROW EXCLUSIVE MODE"))


def known_merchants(session: Session, merchant_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(merchant_ids))
    if not ids:
        return set()
    return set(session.scalars(select(Merchant.id).where(Merchant.id.in_(ids))))


def closed_periods(
    session: Session, merchant_ids: Iterable[str], *, start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Closed periods of `merchant_ids` that overlap [start, end), per merchant."""
    ids = sorted(set(merchant_ids))
    out: dict[str, list[tuple[datetime, datetime]]] = {}
    if not ids:
        return out
    rows = session.execute(
        select(ClosedPeriod.merchant_id, ClosedPeriod.period_start, ClosedPeriod.period_end)
        .where(ClosedPeriod.merchant_id.in_(ids))
        .where(ClosedPeriod.period_start < end, ClosedPeriod.period_end > start)
    )
    for merchant_id, period_start, period_end in rows:
        out.setdefault(merchant_id, []).append((as_utc(period_start), as_utc(period_end)))
    return out


def insert_calls(
    session: Session, columns: Mapping[str, Sequence[Any]], *, recorded_at: datetime
) -> set[uuid.UUID]:
    """SQLite: insert raw call rows given column-wise; return the event ids actually inserted.

    Rows whose `event_id` is already stored are skipped (`ON CONFLICT DO NOTHING`).
    PostgreSQL counts a batch with `ingest_calls` instead.
    """
    if not columns["event_id"]:
        return set()
    rows = [
        dict(zip(CALL_COLUMNS, values, strict=True))
        for values in zip(*(columns[c] for c in CALL_COLUMNS), strict=True)
    ]
    inserted: set[uuid.UUID] = set()
    table = UsageCall.__table__
    for start in range(0, len(rows), _SQLITE_CHUNK):
        chunk = [{**row, "recorded_at": recorded_at} for row in rows[start : start + _SQLITE_CHUNK]]
        stmt = sqlite.insert(UsageCall).values(chunk).on_conflict_do_nothing()
        inserted.update(session.execute(stmt.returning(table.c.event_id)).scalars())
    return inserted


def ingest_calls(
    session: Session,
    calls: Sequence[CallCompletedStruct],
    *,
    recorded_at: datetime,
    settled_group: str | None = None,
) -> int:
    """PostgreSQL: count `calls` in the ledger in one statement; return how many were new.

    New calls become raw rows plus either hourly aggregates or, for an hour inside a closed
    period, adjustments; calls whose `event_id` is already stored, or that `settled_group`
    has settled (its consumer rejected them earlier, see `liftmeter.consumer`), change nothing.
    """
    rows = [
        _Arriving(
            c.event_id,
            c.merchant_id,
            c.occurred_at,
            c.call_id,
            c.model,
            c.cache_hit,
            c.risk_verdict,
            c.status,
            c.prompt_tokens,
            c.completion_tokens,
            c.cached_tokens,
        )
        for c in calls
    ]
    params = {
        "calls": msgspec.json.encode(rows).decode(),
        "recorded_at": recorded_at,
        "settled_group": settled_group,
    }
    return int(session.execute(_PG_INGEST, params).scalar_one())


def add_to_hourly(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """SQLite: add `rows` (key columns + measures) to `usage_hourly` in one upsert statement.

    Rows are sorted by key so that concurrent consumers lock aggregate rows in one order.
    """
    if not rows:
        return
    table = UsageHourly.__table__
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in HOURLY_KEY))
    stmt = _dialect(session).insert(table).values(ordered)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in HOURLY_KEY],
        set_={m: table.c[m] + stmt.excluded[m] for m in MEASURES},
    )
    session.execute(stmt)


def insert_adjustments(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Record late calls for closed periods; a repeated event id is ignored."""
    if not rows:
        return
    stmt = _dialect(session).insert(UsageAdjustment.__table__).values(list(rows))
    session.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"]))


def clear_hourly(session: Session) -> None:
    session.execute(delete(UsageHourly))


def calls_as_measures(
    *,
    disposition: Disposition | None = Disposition.HOURLY,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Subquery:
    """Raw call rows as one-call measures (the same arithmetic as the ingest aggregation)."""
    c = UsageCall.__table__.c
    stmt = select(
        c.merchant_id,
        c.hour_start,
        literal(METER_DESCRIPTIONS, String()).label("meter"),
        c.model,
        c.cache_hit,
        c.risk_verdict,
        literal(1, BigInteger()).label("calls"),
        c.prompt_tokens,
        c.completion_tokens,
        func.coalesce(c.cached_tokens, 0).label("cached_tokens"),
        _flag(c.cached_tokens.is_(None)).label("cached_tokens_unknown_calls"),
        _flag(c.status == "blocked").label("blocked_calls"),
        _flag(c.risk_verdict == "review").label("flagged_calls"),
        _flag(c.status == "failed").label("failed_calls"),
    )
    if disposition is not None:
        stmt = stmt.where(c.disposition == disposition.value)
    if start is not None:
        stmt = stmt.where(c.hour_start >= start)
    if end is not None:
        stmt = stmt.where(c.hour_start < end)
    return stmt.subquery("calls")


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def total(column: Any) -> Any:
    """SUM that is 0, not NULL, over no rows, and an integer on every dialect."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def hourly_from_calls(session: Session, *, start: datetime, end: datetime) -> int:
    """Aggregate the raw rows counted hourly in [start, end) into `usage_hourly`.

    One `INSERT … SELECT … GROUP BY`; the target hours must be empty (`clear_hourly`).
    Returns the raw rows read.
    """
    src = calls_as_measures(start=start, end=end)
    key_cols = [src.c[k] for k in HOURLY_KEY]
    grouped = select(*key_cols, *[total(src.c[m]) for m in MEASURES]).group_by(*key_cols)
    session.execute(insert(UsageHourly).from_select([*HOURLY_KEY, *MEASURES], grouped))
    return int(session.execute(select(total(src.c.calls))).scalar_one())


def call_hours(session: Session) -> tuple[datetime, datetime] | None:
    """The first and last hour that has raw call rows, or None."""
    first, last = session.execute(
        select(func.min(UsageCall.hour_start), func.max(UsageCall.hour_start))
    ).one()
    if first is None or last is None:
        return None
    return as_utc(first), as_utc(last)
