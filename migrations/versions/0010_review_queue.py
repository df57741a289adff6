"""The human review queue of the risk model: review_items.

Revision ID: 0010_review_queue
Revises: 0009_billing
Create Date: 2026-11-28 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_review_queue"
down_revision: str | None = "0009_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("description_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.String(length=1000), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_review_items_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("call_id", name=op.f("uq_review_items_call_id")),
    )
    op.create_index(op.f("ix_review_items_description_id"), "review_items", ["description_id"])
    op.create_index("ix_review_items_merchant_status", "review_items", ["merchant_id", "status"])
    op.create_index("ix_review_items_status_created", "review_items", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_review_items_status_created", table_name="review_items")
    op.drop_index("ix_review_items_merchant_status", table_name="review_items")
    op.drop_index(op.f("ix_review_items_description_id"), table_name="review_items")
    op.drop_table("review_items")
