"""All SQL of billing. Set-based: the invoice run reads each input with one statement per
period over all merchants (usage aggregate, plans in effect, lift results, existing
invoices, pending adjustments) and writes with one statement per table. Functions flush
into the caller's transaction; they never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from attribution.results import LiftResult
from billing.models import (
    BillingSequence,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PlanVersion,
)
from liftmeter.db import is_postgres
from liftmeter.models import Merchant
from metering.models import MEASURES, UsageAdjustment, UsageHourly
from metering.repository import as_utc, total


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """The hourly ledger of one merchant and period, summed per (risk verdict, cache hit)."""

    merchant_id: str
    risk_verdict: str
    cache_hit: bool
    first_hour: datetime
    last_hour: datetime
    hour_rows: int
    measures: dict[str, int]


def usage_groups(
    session: Session, *, start: datetime, end: datetime, merchant_id: str | None = None
) -> dict[str, list[UsageGroup]]:
    """One aggregate query over `usage_hourly` in [start, end), for every merchant at once."""
    t = UsageHourly.__table__.c
    keys = [t.merchant_id, t.risk_verdict, t.cache_hit]
    stmt = (
        select(
            *keys,
            func.min(t.hour_start).label("first_hour"),
            func.max(t.hour_start).label("last_hour"),
            func.count().label("hour_rows"),
            *[total(t[m]).label(m) for m in MEASURES],
        )
        .where(t.hour_start >= start, t.hour_start < end)
        .group_by(*keys)
        .order_by(*keys)
    )
    if merchant_id is not None:
        stmt = stmt.where(t.merchant_id == merchant_id)
    out: dict[str, list[UsageGroup]] = {}
    for row in session.execute(stmt):
        out.setdefault(row.merchant_id, []).append(
            UsageGroup(
                merchant_id=row.merchant_id,
                risk_verdict=row.risk_verdict,
                cache_hit=bool(row.cache_hit),
                first_hour=as_utc(row.first_hour),
                last_hour=as_utc(row.last_hour),
                hour_rows=int(row.hour_rows),
                measures={m: int(getattr(row, m)) for m in MEASURES},
            )
        )
    return out


def settled_adjustment_groups(
    session: Session, *, merchant_id: str, period_start: datetime, exclude_invoice: str
) -> list[UsageGroup]:
    """Adjustments of a closed period already billed on an earlier invoice, as usage groups."""
    a = UsageAdjustment.__table__.c
    keys = [a.merchant_id, a.risk_verdict, a.cache_hit]
    stmt = (
        select(
            *keys,
            func.min(a.hour_start).label("first_hour"),
            func.max(a.hour_start).label("last_hour"),
            func.count().label("hour_rows"),
            *[total(a[m]).label(m) for m in MEASURES],
        )
        .where(
            a.merchant_id == merchant_id,
            a.period_start == period_start,
            a.settled_at.is_not(None),
            a.settled_by != exclude_invoice,
        )
        .group_by(*keys)
    )
    return [
        UsageGroup(
            merchant_id=r.merchant_id,
            risk_verdict=r.risk_verdict,
            cache_hit=bool(r.cache_hit),
            first_hour=as_utc(r.first_hour),
            last_hour=as_utc(r.last_hour),
            hour_rows=int(r.hour_rows),
            measures={m: int(getattr(r, m)) for m in MEASURES},
        )
        for r in session.execute(stmt)
    ]


def merchant_currencies(session: Session, merchant_id: str | None = None) -> dict[str, str]:
    stmt = select(Merchant.id, Merchant.currency).order_by(Merchant.id)
    if merchant_id is not None:
        stmt = stmt.where(Merchant.id == merchant_id)
    return {mid: currency for mid, currency in session.execute(stmt)}


def plans_in_effect(
    session: Session, *, at: datetime, merchant_id: str | None = None
) -> dict[str, PlanVersion]:
    """The plan version each merchant has at `at` (the latest one effective by then)."""
    latest = select(
        PlanVersion.merchant_id, func.max(PlanVersion.effective_from).label("effective_from")
    ).where(PlanVersion.effective_from <= at)
    if merchant_id is not None:
        latest = latest.where(PlanVersion.merchant_id == merchant_id)
    sub = latest.group_by(PlanVersion.merchant_id).subquery()
    stmt = select(PlanVersion).join(
        sub,
        (PlanVersion.merchant_id == sub.c.merchant_id)
        & (PlanVersion.effective_from == sub.c.effective_from),
    )
    return {p.merchant_id: p for p in session.scalars(stmt)}


def plan_versions(session: Session, merchant_id: str) -> list[PlanVersion]:
    stmt = (
        select(PlanVersion)
        .where(PlanVersion.merchant_id == merchant_id)
        .order_by(PlanVersion.effective_from)
    )
    return list(session.scalars(stmt))


def lift_results(
    session: Session, *, start: datetime, end: datetime, merchant_id: str | None = None
) -> dict[str, LiftResult]:
    """The newest stored lift result covering exactly [start, end), per merchant.

    The set-based form of `attribution.results.lift_result_for_period` (same ordering).
    """
    stmt = (
        select(LiftResult)
        .where(LiftResult.period_start == start, LiftResult.period_end == end)
        .order_by(LiftResult.merchant_id, LiftResult.computed_at.desc(), LiftResult.id.desc())
    )
    if merchant_id is not None:
        stmt = stmt.where(LiftResult.merchant_id == merchant_id)
    out: dict[str, LiftResult] = {}
    for row in session.scalars(stmt):
        out.setdefault(row.merchant_id, row)
    return out


def invoices_for_period(
    session: Session, *, start: datetime, merchant_id: str | None = None, lock_drafts: bool = False
) -> dict[str, Invoice]:
    """Existing invoices of the period by merchant, optionally locked (and re-read) first.

    The run locks them so that a concurrent finalize either happens before (the run then
    sees it final and leaves it alone) or waits until the run commits.
    """
    stmt = select(Invoice).where(Invoice.period_start == start).order_by(Invoice.id)
    if merchant_id is not None:
        stmt = stmt.where(Invoice.merchant_id == merchant_id)
    if lock_drafts:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return {inv.merchant_id: inv for inv in session.scalars(stmt)}


def pending_adjustments(
    session: Session, *, before: datetime, merchant_id: str | None = None
) -> dict[str, list[UsageAdjustment]]:
    """Unsettled late calls of periods that start before `before`, per merchant, by id."""
    stmt = (
        select(UsageAdjustment)
        .where(UsageAdjustment.settled_at.is_(None), UsageAdjustment.period_start < before)
        .order_by(UsageAdjustment.merchant_id, UsageAdjustment.id)
    )
    if merchant_id is not None:
        stmt = stmt.where(UsageAdjustment.merchant_id == merchant_id)
    out: dict[str, list[UsageAdjustment]] = {}
    for adj in session.scalars(stmt):
        out.setdefault(adj.merchant_id, []).append(adj)
    return out


def finalized_invoice(session: Session, merchant_id: str, period_start: datetime) -> Invoice | None:
    stmt = select(Invoice).where(
        Invoice.merchant_id == merchant_id,
        Invoice.period_start == period_start,
        Invoice.status != InvoiceStatus.DRAFT,
    )
    return session.scalars(stmt).first()


def lines_of(session: Session, invoice_ids: Iterable[str]) -> dict[str, list[InvoiceLine]]:
    ids = sorted(set(invoice_ids))
    out: dict[str, list[InvoiceLine]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id.in_(ids))
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    )
    for line in session.scalars(stmt):
        out[line.invoice_id].append(line)
    return out


def replace_draft_lines(session: Session, *, start: datetime, merchant_id: str | None) -> None:
    """Delete the lines of the period's drafts (the caller holds their row locks)."""
    drafts = select(Invoice.id).where(
        Invoice.period_start == start, Invoice.status == InvoiceStatus.DRAFT
    )
    if merchant_id is not None:
        drafts = drafts.where(Invoice.merchant_id == merchant_id)
    session.execute(
        delete(InvoiceLine)
        .where(InvoiceLine.invoice_id.in_(drafts.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


_INVOICE_COLUMNS = (
    "id",
    "merchant_id",
    "period_start",
    "period_end",
    "currency",
    "status",
    "plan_version_id",
    "total",
    "computed_at",
)
_LINE_COLUMNS = (
    "id",
    "invoice_id",
    "position",
    "kind",
    "component",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "lineage_json",
)
_PG_UPDATE_DRAFTS = text(
    "UPDATE invoices SET total = u.total, plan_version_id = u.plan_version_id, "
    "currency = u.currency, computed_at = u.computed_at FROM unnest("
    "CAST(:id AS varchar[]), CAST(:total AS numeric[]), CAST(:plan_version_id AS varchar[]), "
    "CAST(:currency AS varchar[]), CAST(:computed_at AS timestamptz[])"
    ") AS u(id, total, plan_version_id, currency, computed_at) "
    "WHERE invoices.id = u.id AND invoices.status = 'draft'"
)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _pg_copy(
    session: Session, table: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    driver: Any = session.connection().connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(tuple(row[c] for c in columns))


def write_invoices(
    session: Session,
    *,
    new: Sequence[dict[str, Any]],
    changed: Sequence[dict[str, Any]],
    lines: Sequence[dict[str, Any]],
) -> None:
    """Insert new drafts, update recomputed ones (by id), insert every line: 3 statements.

    PostgreSQL: `COPY` for the inserts and one `UPDATE … FROM unnest(…)`; an executemany
    would cost one round trip per row. SQLite: plain executemany.
    """
    session.flush()
    if is_postgres(session):
        if new:
            _pg_copy(session, "invoices", _INVOICE_COLUMNS, new)
        if changed:
            keys = ("id", "total", "plan_version_id", "currency", "computed_at")
            session.execute(_PG_UPDATE_DRAFTS, {k: [r[k] for r in changed] for k in keys})
        if lines:
            _pg_copy(session, "invoice_lines", _LINE_COLUMNS, lines)
    else:
        if new:
            session.execute(insert(_table(Invoice)), list(new))
        if changed:
            session.execute(update(Invoice), list(changed))
        if lines:
            session.execute(insert(_table(InvoiceLine)), list(lines))
    session.expire_all()


def lock_invoice(session: Session, invoice_id: str) -> Invoice | None:
    stmt = select(Invoice).where(Invoice.id == invoice_id).with_for_update()
    return session.scalars(stmt).first()


def next_number(session: Session, *, merchant_id: str, kind: str, year: int) -> int:
    """The next document number for (merchant, kind, year), under a row lock: no gaps."""
    stmt = (
        select(BillingSequence)
        .where(
            BillingSequence.merchant_id == merchant_id,
            BillingSequence.kind == kind,
            BillingSequence.year == year,
        )
        .with_for_update()
    )
    dialect = postgresql if is_postgres(session) else sqlite
    session.execute(
        dialect.insert(BillingSequence)
        .values(merchant_id=merchant_id, kind=kind, year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    seq = session.scalars(stmt).one()
    seq.last_value += 1
    session.flush()
    return seq.last_value


def credit_notes_of(session: Session, invoice_id: str) -> list[CreditNote]:
    stmt = select(CreditNote).where(CreditNote.invoice_id == invoice_id).order_by(CreditNote.number)
    return list(session.scalars(stmt))


def list_invoices(
    session: Session,
    *,
    merchant_id: str | None,
    status: str | None,
    period_start: datetime | None,
    limit: int,
) -> list[Invoice]:
    stmt = select(Invoice).order_by(Invoice.period_start.desc(), Invoice.merchant_id).limit(limit)
    if merchant_id is not None:
        stmt = stmt.where(Invoice.merchant_id == merchant_id)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if period_start is not None:
        stmt = stmt.where(Invoice.period_start == period_start)
    return list(session.scalars(stmt))
