"""Billing of approved review calls: review_settlements (immutable, one row per item).

Revision ID: 0013_review_billing
Revises: 0012_exposure_category
Create Date: 2026-11-28 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_review_billing"
down_revision: str | None = "0012_exposure_category"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "review_settlements"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("review_item_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_review_settlements_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_review_settlements_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["review_item_id"],
            ["review_items.id"],
            name=op.f("fk_review_settlements_review_item_id_review_items"),
        ),
        sa.PrimaryKeyConstraint("review_item_id", name=op.f("pk_review_settlements")),
    )
    op.create_index(op.f("ix_review_settlements_invoice_id"), _TABLE, ["invoice_id"])
    op.create_index(
        "ix_review_settlements_merchant_period", _TABLE, ["merchant_id", "period_start"]
    )
    if op.get_bind().dialect.name == "postgresql":
        # billing_row_is_immutable() comes from 0009_billing
        op.execute(
            f"CREATE TRIGGER {_TABLE}_immutable BEFORE UPDATE OR DELETE ON {_TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION billing_row_is_immutable()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_TABLE}_no_{verb.lower()} BEFORE {verb} ON {_TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{_TABLE} rows cannot be changed or deleted'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {_TABLE}_immutable ON {_TABLE}")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER {_TABLE}_no_{verb}")
    op.drop_index("ix_review_settlements_merchant_period", table_name=_TABLE)
    op.drop_index(op.f("ix_review_settlements_invoice_id"), table_name=_TABLE)
    op.drop_table(_TABLE)
