"""Conversion intake, end to end: check rows, dedupe against receipts, record events.

The rules live in `attribution.intake`; this module adds what needs the gateway's tables:
the merchant's currency and `conversion_receipts`, whose key (merchant, order_id, kind)
makes a re-sent order a duplicate across requests. Receipts and the ConversionRecorded
events of accepted rows are written in the caller's one transaction, so an order is
either recorded with its event or not at all. Concurrent requests with the same order meet
at the receipt's primary key (`INSERT … ON CONFLICT DO NOTHING`): exactly one records it.

All or nothing unless `best_effort`: when any row is rejected, `RowsRejected` is raised
before anything is written. Duplicates are not rejections: re-sending a file is safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from attribution.errors import Rejection, RowsRejected
from attribution.intake import CheckedConversions, Conversion, ConversionChecker
from gateway.models import ConversionReceipt
from liftmeter.db import is_postgres
from liftmeter.errors import NotFound
from liftmeter.events import ConversionRecorded
from liftmeter.models import Merchant
from liftmeter.outbox import enqueue_events

MAX_LISTED = 1000


@dataclass(frozen=True)
class ConversionIntake:
    rows: int
    accepted: int
    duplicates: list[Conversion]
    rejected: list[Rejection]


def checker_for(session: Session, merchant_id: str) -> ConversionChecker:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("no such merchant", param="merchant_id")
    return ConversionChecker(merchant_currency=merchant.currency)


def check_rows(
    factory: sessionmaker[Session], merchant_id: str, rows: Iterable[tuple[int, Any]]
) -> CheckedConversions:
    """Check `(position, row)` pairs; the database is read once, before the rows stream."""
    with factory() as session:
        checker = checker_for(session, merchant_id)
    for position, raw in rows:
        checker.add(raw, position)
    return checker.result


def _claim_receipts(
    session: Session, merchant_id: str, pending: list[tuple[Conversion, ConversionRecorded]]
) -> set[tuple[str, str]]:
    """Insert receipts for keyed rows; return the keys this transaction claimed.

    One statement executed for many parameter sets (SQLAlchemy batches them into
    multi-row INSERTs), so it is compiled once however large the file.
    """
    values = [
        {"merchant_id": merchant_id, "order_id": c.order_id, "kind": c.kind, "event_id": e.event_id}
        for c, e in pending
        if c.order_id is not None
    ]
    if not values:
        return set()
    dialect = postgresql if is_postgres(session) else sqlite
    stmt = (
        dialect.insert(ConversionReceipt.__table__)
        .on_conflict_do_nothing()
        .returning(ConversionReceipt.order_id, ConversionReceipt.kind)
    )
    return {(row.order_id, row.kind) for row in session.execute(stmt, values)}


def record_conversions(
    session: Session,
    merchant_id: str,
    checked: CheckedConversions,
    *,
    best_effort: bool,
    position_name: str,
) -> ConversionIntake:
    """Write receipts and events for the valid rows (see the module docstring)."""
    if checked.rejected and not best_effort:
        raise RowsRejected(
            checked.rejected, total=checked.rows, position_name=position_name, max_listed=MAX_LISTED
        )
    pending = [(c, c.event(merchant_id)) for c in checked.valid]
    claimed = _claim_receipts(session, merchant_id, pending)
    accepted: list[ConversionRecorded] = []
    duplicates = list(checked.duplicates)
    for conversion, event in pending:
        key = conversion.dedupe_key
        if key is None or key in claimed:
            accepted.append(event)
        else:
            duplicates.append(conversion)
    enqueue_events(session, accepted)
    duplicates.sort(key=lambda c: c.position)
    return ConversionIntake(checked.rows, len(accepted), duplicates, checked.rejected)
