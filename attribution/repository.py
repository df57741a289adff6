"""All SQL of the attribution domain: event intake, per-unit state, sufficient statistics.

Statements work on PostgreSQL and SQLite and are set-based: one statement per batch and
table on intake, one aggregation per experiment for the statistics. Functions flush into
the caller's transaction; they never commit.

The statistics query (`experiment_statistics`) never moves unit rows to Python. Per unit
(an `experiment_units` row, not seen in both arms, first exposed in [start, end)) it
derives, from the unit's purchases (`attribution_conversions`, kind ``purchase``, matched
on the visitor id, or on the product id in a product-level experiment, and before `end`):

    converted    1 if any purchase in [t0, t0 + window), else 0      (t0 = first exposure)
    revenue      Σ revenue of those purchases (currency units)
    pre_revenue  Σ revenue in [t0 − pre_period, t0)                    (CUPED covariate)
    capped       min(revenue, cap), cap = the pooled `cap_percentile` of the non-zero
                 per-unit revenues (numpy's linear interpolation), computed in the same
                 statement with window functions

then aggregates per (arm, segment): n, Σy, Σy², Σx, Σx², Σxy and
the non-zero count for each metric. Sums are additive, so the overall statistics are the
sum over segments. The segment of a unit is the product category of its first exposure,
or its product id when that exposure carried no category. On SQLite window bounds are
resolved to the millisecond.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Float, Integer, String, bindparam, case, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from attribution.models import AttributedConversion, Experiment, ExperimentUnit, Exposure, UnitType
from attribution.sufficient import ArmStats
from liftmeter.db import is_postgres
from liftmeter.models import Merchant

_CHUNK = 500
UNIT_KEY = ("experiment_id", "unit_id")


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _dialect(session: Session) -> Any:
    return postgresql if is_postgres(session) else sqlite


def merchant_currencies(session: Session, merchant_ids: Iterable[str]) -> dict[str, str]:
    """Currency of each known merchant among `merchant_ids`."""
    ids = sorted(set(merchant_ids))
    if not ids:
        return {}
    rows = session.execute(select(Merchant.id, Merchant.currency).where(Merchant.id.in_(ids)))
    return {merchant_id: currency for merchant_id, currency in rows}


def experiments_by_id(session: Session, experiment_ids: Iterable[str]) -> dict[str, Experiment]:
    ids = sorted(set(experiment_ids))
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Experiment).where(Experiment.id.in_(ids)))}


def first_experiment_starts(session: Session, merchant_ids: Iterable[str]) -> dict[str, datetime]:
    """Start of each merchant's earliest experiment (merchants without one are absent)."""
    ids = sorted(set(merchant_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Experiment.merchant_id, func.min(Experiment.starts_at))
        .where(Experiment.merchant_id.in_(ids))
        .group_by(Experiment.merchant_id)
    )
    return {merchant_id: as_utc(start) for merchant_id, start in rows}


def _insert_ignoring(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], key: Any
) -> set[uuid.UUID]:
    """Insert `rows`, skipping any that hit a unique key; return the keys inserted."""
    inserted: set[uuid.UUID] = set()
    stmt = _dialect(session).insert(table).on_conflict_do_nothing().returning(key)
    for start in range(0, len(rows), _CHUNK):
        inserted.update(session.execute(stmt, list(rows[start : start + _CHUNK])).scalars())
    return inserted


def insert_exposures(session: Session, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Raw exposure rows; a stored event id is skipped. Returns the event ids inserted."""
    if not rows:
        return set()
    table = Exposure.__table__
    return _insert_ignoring(session, table, rows, table.c.event_id)


def insert_conversions(session: Session, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Conversion rows; a stored event id or (merchant, order id, kind) is skipped."""
    if not rows:
        return set()
    table = AttributedConversion.__table__
    return _insert_ignoring(session, table, rows, table.c.event_id)


def upsert_units(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Merge first exposures into `experiment_units` (one row per key in `rows`).

    The update keeps the earlier first exposure (with its arm, product and category) and ORs
    `multiple_arms`, also when the stored and incoming arms differ: it commutes, so the
    order and repetition of events do not matter. Rows are sorted by key so concurrent
    consumers lock unit rows in one order.
    """
    if not rows:
        return
    table = ExperimentUnit.__table__
    c = table.c
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in UNIT_KEY))
    stmt = _dialect(session).insert(table)
    earlier = stmt.excluded.first_exposed_at < c.first_exposed_at
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.experiment_id, c.unit_id],
        set_={
            "first_exposed_at": case(
                (earlier, stmt.excluded.first_exposed_at), else_=c.first_exposed_at
            ),
            "arm": case((earlier, stmt.excluded.arm), else_=c.arm),
            "product_id": case((earlier, stmt.excluded.product_id), else_=c.product_id),
            "category": case((earlier, stmt.excluded.category), else_=c.category),
            "multiple_arms": c.multiple_arms
            | stmt.excluded.multiple_arms
            | (c.arm != stmt.excluded.arm),
        },
    )
    for start in range(0, len(ordered), _CHUNK):
        session.execute(stmt, ordered[start : start + _CHUNK])


def units_in_both_arms(session: Session, experiment_id: str) -> int:
    """Units exposed to both arms (left out of the statistics)."""
    stmt = select(func.count()).where(
        ExperimentUnit.experiment_id == experiment_id, ExperimentUnit.multiple_arms.is_(True)
    )
    return int(session.execute(stmt).scalar_one())


@dataclass(frozen=True, slots=True)
class SegmentStats:
    """Statistics of one arm in one segment (category of first exposure, else its product)."""

    arm: str
    segment: str
    conversion: ArmStats
    revenue: ArmStats
    revenue_uncapped: ArmStats


@dataclass(frozen=True, slots=True)
class ExperimentStatistics:
    """What the statistics query returns: per (arm, segment) stats and the revenue cap."""

    cap: float | None
    segments: list[SegmentStats]


_PG = {
    "plus_window": "u.t0 + CAST(:window_days AS integer) * INTERVAL '1 day'",
    "minus_pre": "u.t0 - CAST(:pre_period_days AS integer) * INTERVAL '1 day'",
    "revenue": "CAST(c.revenue AS DOUBLE PRECISION)",
    "floor": "FLOOR",
}
_SQLITE = {
    "plus_window": "strftime('%Y-%m-%d %H:%M:%f', u.t0, '+' || :window_days || ' days')",
    "minus_pre": "strftime('%Y-%m-%d %H:%M:%f', u.t0, '-' || :pre_period_days || ' days')",
    "revenue": "CAST(c.revenue AS REAL)",
    "floor": "CAST",
}

_UNITS = """(
    SELECT unit_id, arm, COALESCE(category, product_id) AS segment, first_exposed_at AS t0
    FROM experiment_units
    WHERE experiment_id = :experiment_id AND NOT multiple_arms
      AND first_exposed_at >= :start AND first_exposed_at < :end
)"""
# Only units with a purchase (in the window or the pre-period) have non-zero outcomes, so
# the sums are taken over those few rows (`hits`), joined from the purchases side; the full
# unit set is only counted per (arm, segment). The database never groups, joins or sorts
# the whole unit set by unit id.
_STATS_SQL = """
WITH hits AS (
    SELECT u.unit_id, u.arm, u.segment,
        MAX(CASE WHEN c.occurred_at >= u.t0 THEN 1 ELSE 0 END) AS converted,
        SUM(CASE WHEN c.occurred_at >= u.t0 THEN {revenue} ELSE 0 END) AS revenue,
        SUM(CASE WHEN c.occurred_at < u.t0 THEN {revenue} ELSE 0 END) AS pre_revenue
    FROM attribution_conversions c
    JOIN {units} u
      ON c.{key} = u.unit_id
     AND c.occurred_at >= {minus_pre} AND c.occurred_at < {plus_window}
    WHERE c.merchant_id = :merchant_id AND c.kind = 'purchase' AND c.occurred_at < :end
    GROUP BY u.unit_id, u.arm, u.segment
),
ranked AS (
    SELECT revenue, ROW_NUMBER() OVER (ORDER BY revenue) - 1 AS i, COUNT(*) OVER () AS m
    FROM hits WHERE revenue > 0
),
positioned AS (
    SELECT revenue, i, {floor_lo} AS lo, :q * (m - 1) - {floor_lo} AS frac FROM ranked
),
cap AS (
    SELECT SUM(CASE WHEN i = lo THEN revenue * (1 - frac)
                    WHEN i = lo + 1 THEN revenue * frac ELSE 0 END) AS value
    FROM positioned WHERE i = lo OR i = lo + 1
),
capped AS (
    SELECT h.*,
        CASE WHEN cap.value IS NOT NULL AND h.revenue > cap.value THEN cap.value
             ELSE h.revenue END AS y
    FROM hits h CROSS JOIN cap
),
sums AS (
    SELECT arm, segment,
        SUM(converted) AS conv_sum, SUM(converted * pre_revenue) AS conv_xy,
        SUM(y) AS rev_sum, SUM(y * y) AS rev_sum2, SUM(y * pre_revenue) AS rev_xy,
        SUM(CASE WHEN y <> 0 THEN 1 ELSE 0 END) AS rev_nonzero,
        SUM(revenue) AS raw_sum, SUM(revenue * revenue) AS raw_sum2,
        SUM(revenue * pre_revenue) AS raw_xy,
        SUM(CASE WHEN revenue <> 0 THEN 1 ELSE 0 END) AS raw_nonzero,
        SUM(pre_revenue) AS x_sum, SUM(pre_revenue * pre_revenue) AS x_sum2
    FROM capped
    GROUP BY arm, segment
),
counts AS (
    SELECT arm, segment, COUNT(*) AS n FROM {units} u GROUP BY arm, segment
)
SELECT k.arm, k.segment, k.n,
    s.conv_sum, s.conv_xy, s.rev_sum, s.rev_sum2, s.rev_xy, s.rev_nonzero,
    s.raw_sum, s.raw_sum2, s.raw_xy, s.raw_nonzero, s.x_sum, s.x_sum2,
    (SELECT value FROM cap) AS cap
FROM counts k
LEFT JOIN sums s ON s.arm = k.arm AND s.segment = k.segment
ORDER BY k.arm, k.segment
"""


def _stats_statement(session: Session, unit_type: str) -> Any:
    parts = _PG if is_postgres(session) else _SQLITE
    key = "product_id" if unit_type == UnitType.PRODUCT else "visitor_id"
    floor_lo = "FLOOR(:q * (m - 1))" if is_postgres(session) else "CAST(:q * (m - 1) AS INTEGER)"
    sql = _STATS_SQL.format(
        revenue=parts["revenue"],
        key=key,
        minus_pre=parts["minus_pre"],
        plus_window=parts["plus_window"],
        floor_lo=floor_lo,
        units=_UNITS,
    )
    return text(sql).bindparams(
        bindparam("experiment_id", type_=String()),
        bindparam("merchant_id", type_=String()),
        bindparam("start", type_=DateTime(timezone=True)),
        bindparam("end", type_=DateTime(timezone=True)),
        bindparam("window_days", type_=Integer()),
        bindparam("pre_period_days", type_=Integer()),
        bindparam("q", type_=Float()),
    )


def _f(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _segment(row: Any) -> SegmentStats:
    n, x_sum, x_sum2 = int(row.n), _f(row.x_sum), _f(row.x_sum2)
    conv = int(row.conv_sum or 0)
    return SegmentStats(
        arm=row.arm,
        segment=row.segment,
        conversion=ArmStats(n, float(conv), float(conv), x_sum, x_sum2, _f(row.conv_xy), conv),
        revenue=ArmStats(
            n,
            _f(row.rev_sum),
            _f(row.rev_sum2),
            x_sum,
            x_sum2,
            _f(row.rev_xy),
            int(row.rev_nonzero or 0),
        ),
        revenue_uncapped=ArmStats(
            n,
            _f(row.raw_sum),
            _f(row.raw_sum2),
            x_sum,
            x_sum2,
            _f(row.raw_xy),
            int(row.raw_nonzero or 0),
        ),
    )


def experiment_statistics(
    session: Session,
    *,
    experiment: Experiment,
    start: datetime,
    end: datetime,
    window_days: int,
    pre_period_days: int,
    cap_percentile: float | None,
) -> ExperimentStatistics:
    """Per (arm, segment) sufficient statistics of units first exposed in [start, end).

    One statement (see the module docstring); `cap_percentile` None or 100 means no cap.
    """
    q = 1.0 if cap_percentile is None else min(cap_percentile, 100.0) / 100.0
    params: Mapping[str, Any] = {
        "experiment_id": experiment.id,
        "merchant_id": experiment.merchant_id,
        "start": as_utc(start),
        "end": as_utc(end),
        "window_days": window_days,
        "pre_period_days": pre_period_days,
        "q": q,
    }
    rows = session.execute(_stats_statement(session, experiment.unit_type), params).all()
    cap = next((float(r.cap) for r in rows if r.cap is not None), None)
    capped = cap_percentile is not None and cap_percentile < 100
    return ExperimentStatistics(cap if capped else None, [_segment(r) for r in rows])


_DAILY_SQL = """
WITH units AS {units},
hits AS (
    SELECT u.unit_id, u.arm, u.t0,
        MIN(CASE WHEN c.occurred_at >= u.t0 THEN c.occurred_at END) AS converted_at,
        SUM(CASE WHEN c.occurred_at < u.t0 THEN {revenue} ELSE 0 END) AS pre_revenue
    FROM attribution_conversions c
    JOIN units u
      ON c.{key} = u.unit_id
     AND c.occurred_at >= {minus_pre} AND c.occurred_at < {plus_window}
    WHERE c.merchant_id = :merchant_id AND c.kind = 'purchase' AND c.occurred_at < :end
    GROUP BY u.unit_id, u.arm, u.t0
)
SELECT 'exposed' AS part, arm, {day_t0} AS day, COUNT(*) AS n,
    0.0 AS x_sum, 0.0 AS x_sum2, 0.0 AS xy_sum
FROM units u GROUP BY 2, 3
UNION ALL
SELECT 'covariate', arm, {day_t0}, 0, SUM(pre_revenue), SUM(pre_revenue * pre_revenue), 0.0
FROM hits u GROUP BY 2, 3
UNION ALL
SELECT 'converted', arm, {day_converted}, COUNT(*), 0.0, 0.0, SUM(pre_revenue)
FROM hits WHERE converted_at IS NOT NULL GROUP BY 2, 3
"""
_DAY = {
    "pg": "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    "sqlite": "strftime('%Y-%m-%d', {column})",
}


@dataclass(frozen=True, slots=True)
class DailyConversionStats:
    """Per (arm, UTC day) increments of the conversion metric's sufficient statistics.

    ``exposed``: units first exposed that day (n) with Σx, Σx² of their pre-period revenue;
    ``converted``: units whose first purchase in their attribution window fell that day,
    with Σx of their pre-period revenue (= Σx·y, as y is 0/1). Summed up to a day they are
    the statistics of the units first exposed so far and their conversions so far.
    """

    arm: str
    day: date
    exposed: int
    x_sum: float
    x_sum2: float
    converted: int
    xy_sum: float


def _daily_statement(session: Session, unit_type: str) -> Any:
    parts = _PG if is_postgres(session) else _SQLITE
    day = _DAY["pg" if is_postgres(session) else "sqlite"]
    sql = _DAILY_SQL.format(
        units=_UNITS,
        revenue=parts["revenue"],
        key="product_id" if unit_type == UnitType.PRODUCT else "visitor_id",
        minus_pre=parts["minus_pre"],
        plus_window=parts["plus_window"],
        day_t0=day.format(column="t0"),
        day_converted=day.format(column="converted_at"),
    )
    return text(sql).bindparams(
        bindparam("experiment_id", type_=String()),
        bindparam("merchant_id", type_=String()),
        bindparam("start", type_=DateTime(timezone=True)),
        bindparam("end", type_=DateTime(timezone=True)),
        bindparam("window_days", type_=Integer()),
        bindparam("pre_period_days", type_=Integer()),
    )


def daily_conversion_statistics(
    session: Session,
    *,
    experiment: Experiment,
    start: datetime,
    end: datetime,
    window_days: int,
    pre_period_days: int,
) -> list[DailyConversionStats]:
    """Per (arm, day) increments of the conversion statistics of units first exposed in
    [start, end), in day order; one statement, the same definitions as
    `experiment_statistics` (window, pre-period, purchases before `end`)."""
    params: Mapping[str, Any] = {
        "experiment_id": experiment.id,
        "merchant_id": experiment.merchant_id,
        "start": as_utc(start),
        "end": as_utc(end),
        "window_days": window_days,
        "pre_period_days": pre_period_days,
    }
    merged: dict[tuple[str, str], dict[str, float]] = {}
    for row in session.execute(_daily_statement(session, experiment.unit_type), params):
        cell = merged.setdefault((row.day, row.arm), dict.fromkeys(_DAILY_FIELDS, 0.0))
        if row.part == "converted":
            cell["converted"] += int(row.n)
        else:
            cell["exposed"] += int(row.n)
        for field in ("x_sum", "x_sum2", "xy_sum"):
            cell[field] += _f(getattr(row, field))
    return [
        DailyConversionStats(
            arm=arm,
            day=date.fromisoformat(day),
            exposed=int(cell["exposed"]),
            x_sum=cell["x_sum"],
            x_sum2=cell["x_sum2"],
            converted=int(cell["converted"]),
            xy_sum=cell["xy_sum"],
        )
        for (day, arm), cell in sorted(merged.items())
    ]


_DAILY_FIELDS = ("exposed", "x_sum", "x_sum2", "converted", "xy_sum")


def touch_links(
    session: Session, *, merchant_id: str, start: datetime, end: datetime, window_days: int
) -> list[tuple[uuid.UUID, str | None, str]]:
    """Lineage of the conversions in [start, end): (event id, description id, how linked).

    ``direct`` when the conversion carries the description id; otherwise ``last_touch``:
    the description of the visitor's latest treatment exposure of the same product in the
    `window_days` before the conversion (None when there was none). Never used for billing.
    """
    c, e = AttributedConversion.__table__.c, Exposure.__table__.c
    conversions = session.execute(
        select(c.event_id, c.visitor_id, c.product_id, c.description_id, c.occurred_at)
        .where(c.merchant_id == merchant_id, c.occurred_at >= as_utc(start))
        .where(c.occurred_at < as_utc(end))
        .order_by(c.occurred_at, c.event_id)
    ).all()
    links: list[tuple[uuid.UUID, str | None, str]] = []
    for row in conversions:
        if row.description_id is not None:
            links.append((row.event_id, row.description_id, "direct"))
            continue
        at = as_utc(row.occurred_at)
        latest = session.execute(
            select(e.description_id)
            .where(e.merchant_id == merchant_id, e.product_id == row.product_id)
            .where(e.unit_id.in_([row.visitor_id, row.product_id]))
            .where(e.description_id.is_not(None), e.occurred_at <= at)
            .where(e.occurred_at > at - timedelta(days=window_days))
            .order_by(e.occurred_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        links.append((row.event_id, latest, "last_touch"))
    return links
