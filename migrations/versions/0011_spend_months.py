"""Per-merchant monthly billable usage for the gateway's spend cap.

Revision ID: 0011_spend_months
Revises: 0010_review_queue
Create Date: 2026-11-28 16:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_spend_months"
down_revision: str | None = "0010_review_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spend_months",
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("month_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("cache_hits", sa.BigInteger(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "month_start", name=op.f("pk_spend_months")),
    )


def downgrade() -> None:
    op.drop_table("spend_months")
