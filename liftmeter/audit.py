"""The audit log: one append-only table of who did what, when and why.

Finance actions (finalize, void, mark paid, credit notes, plan changes) and review
decisions each write one row in the same transaction as the change they record, so an
action without its audit row cannot exist. Rows are never edited or deleted: the migration
installs triggers on PostgreSQL and SQLite that reject UPDATE and DELETE, so even a
hand-written statement cannot rewrite history.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, Text, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from liftmeter.db import Base
from liftmeter.models import utcnow


class AuditEntry(Base):
    """One recorded action: `actor` (an API key id or `cli:<user>`) did `action` on a subject."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject", "subject_type", "subject_id"),
        Index("ix_audit_log_merchant_at", "merchant_id", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(128))
    merchant_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details_json: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def details(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.details_json)
        return loaded


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    merchant_id: str | None = None,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit row to the caller's transaction (flushed, not committed)."""
    entry = AuditEntry(
        id=uuid.uuid4(),
        at=utcnow(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        merchant_id=merchant_id,
        reason=reason,
        details_json=json.dumps(dict(details or {}), sort_keys=True, default=str),
    )
    session.add(entry)
    session.flush()
    return entry


def list_audit(
    session: Session,
    *,
    subject_type: str | None = None,
    subject_id: str | None = None,
    merchant_id: str | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Audit rows, newest first, optionally for one subject or one merchant."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id).limit(limit)
    if subject_type is not None:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    if merchant_id is not None:
        query = query.where(AuditEntry.merchant_id == merchant_id)
    return list(session.scalars(query))
