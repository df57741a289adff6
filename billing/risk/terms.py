"""Per-merchant forbidden terms (competitor trademarks, banned words) for the risk rules.

A merchant's terms are matched case-insensitively on word boundaries by the rule stage
(`competitor_trademark`, a blocking reason). Setting the list replaces it whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from liftmeter.db import Base
from liftmeter.errors import ValidationFailed
from liftmeter.models import utcnow

MAX_TERMS = 200


class RiskTerm(Base):
    """One forbidden term of one merchant."""

    __tablename__ = "risk_terms"

    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def merchant_terms(session: Session, merchant_id: str) -> list[str]:
    stmt = select(RiskTerm.term).where(RiskTerm.merchant_id == merchant_id).order_by(RiskTerm.term)
    return list(session.scalars(stmt))


def replace_terms(session: Session, merchant_id: str, terms: Sequence[str]) -> list[str]:
    """Replace the merchant's terms (trimmed, de-duplicated case-insensitively)."""
    cleaned: dict[str, str] = {}
    for raw in terms:
        term = " ".join(raw.split())
        if not 2 <= len(term) <= 100:
            raise ValidationFailed("each term needs 2 to 100 characters", param="terms")
        cleaned.setdefault(term.casefold(), term)
    if len(cleaned) > MAX_TERMS:
        raise ValidationFailed(f"at most {MAX_TERMS} terms", param="terms")
    session.execute(delete(RiskTerm).where(RiskTerm.merchant_id == merchant_id))
    session.add_all(RiskTerm(merchant_id=merchant_id, term=t) for t in cleaned.values())
    session.flush()
    return sorted(cleaned.values())
