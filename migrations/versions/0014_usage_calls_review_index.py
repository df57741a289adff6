"""usage_calls: a partial index for billing's reads of review calls instead of an index on
every call's merchant and hour (written on each metering insert, used by no query).

Revision ID: 0014_usage_calls_review_index
Revises: 0013_review_billing
Create Date: 2026-11-28 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_usage_calls_review_index"
down_revision: str | None = "0013_review_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REVIEW = sa.text("risk_verdict = 'review'")


def upgrade() -> None:
    op.drop_index("ix_usage_calls_merchant_hour", table_name="usage_calls")
    op.create_index(
        "ix_usage_calls_review",
        "usage_calls",
        ["hour_start", "merchant_id"],
        unique=False,
        postgresql_where=_REVIEW,
        sqlite_where=_REVIEW,
    )


def downgrade() -> None:
    op.drop_index("ix_usage_calls_review", table_name="usage_calls")
    op.create_index(
        "ix_usage_calls_merchant_hour", "usage_calls", ["merchant_id", "hour_start"], unique=False
    )
