"""Attribution intake: raw exposures, per-unit first exposures, deduplicated conversions.

Revision ID: 0008_attribution_intake
Revises: 0007_lift_results
Create Date: 2026-11-28 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_attribution_intake"
down_revision: str | None = "0007_lift_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "attribution_exposures",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", sa.String(length=64), nullable=False),
        sa.Column("unit_type", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.String(length=128), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("description_id", sa.String(length=128), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _fk("attribution_exposures", "experiment_id", "experiments"),
        _fk("attribution_exposures", "merchant_id", "merchants"),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_attribution_exposures")),
    )
    op.create_index(
        "ix_attribution_exposures_unit",
        "attribution_exposures",
        ["experiment_id", "unit_id", "occurred_at"],
    )
    op.create_index(
        "ix_attribution_exposures_description", "attribution_exposures", ["description_id"]
    )
    op.create_table(
        "experiment_units",
        sa.Column("experiment_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=128), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("first_exposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("multiple_arms", sa.Boolean(), nullable=False),
        _fk("experiment_units", "experiment_id", "experiments"),
        _fk("experiment_units", "merchant_id", "merchants"),
        sa.PrimaryKeyConstraint("experiment_id", "unit_id", name=op.f("pk_experiment_units")),
    )
    op.create_index(
        "ix_experiment_units_first", "experiment_units", ["experiment_id", "first_exposed_at"]
    )
    op.create_table(
        "attribution_conversions",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("visitor_id", sa.String(length=128), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("revenue", sa.Numeric(20, 6), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description_id", sa.String(length=128), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _fk("attribution_conversions", "merchant_id", "merchants"),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_attribution_conversions")),
    )
    op.create_index(
        "uq_attribution_conversions_order",
        "attribution_conversions",
        ["merchant_id", "order_id", "kind"],
        unique=True,
    )
    op.create_index(
        "ix_attribution_conversions_visitor",
        "attribution_conversions",
        ["merchant_id", "visitor_id", "occurred_at"],
    )
    op.create_index(
        "ix_attribution_conversions_product",
        "attribution_conversions",
        ["merchant_id", "product_id", "occurred_at"],
    )


def downgrade() -> None:
    for name in (
        "ix_attribution_conversions_product",
        "ix_attribution_conversions_visitor",
        "uq_attribution_conversions_order",
    ):
        op.drop_index(name, table_name="attribution_conversions")
    op.drop_table("attribution_conversions")
    op.drop_index("ix_experiment_units_first", table_name="experiment_units")
    op.drop_table("experiment_units")
    op.drop_index("ix_attribution_exposures_description", table_name="attribution_exposures")
    op.drop_index("ix_attribution_exposures_unit", table_name="attribution_exposures")
    op.drop_table("attribution_exposures")
