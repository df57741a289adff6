"""Immutable lift results, with triggers that reject UPDATE and DELETE.

Revision ID: 0007_lift_results
Revises: 0006_audit_log
Create Date: 2026-11-28 16:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_lift_results"
down_revision: str | None = "0006_audit_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_FUNCTION = """
CREATE FUNCTION lift_results_are_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'lift_results rows cannot be changed or deleted';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "lift_results",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method_version", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("conservative_amount", sa.Numeric(20, 6), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("treated_units", sa.Integer(), nullable=False),
        sa.Column("holdout_units", sa.Integer(), nullable=False),
        sa.Column("statistics_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"],
            name=op.f("fk_lift_results_experiment_id_experiments"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_lift_results_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lift_results")),
    )
    op.create_index(
        "ix_lift_results_merchant_period",
        "lift_results",
        ["merchant_id", "period_start", "period_end"],
    )
    op.create_index(
        op.f("ix_lift_results_experiment_id"), "lift_results", ["experiment_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER lift_results_immutable BEFORE UPDATE OR DELETE ON lift_results "
            "FOR EACH ROW EXECUTE FUNCTION lift_results_are_immutable()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER lift_results_no_{verb.lower()} BEFORE {verb} ON lift_results "
                "BEGIN SELECT RAISE(ABORT, 'lift_results rows cannot be changed or deleted'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER lift_results_immutable ON lift_results")
        op.execute("DROP FUNCTION lift_results_are_immutable()")
    else:
        op.execute("DROP TRIGGER lift_results_no_update")
        op.execute("DROP TRIGGER lift_results_no_delete")
    op.drop_index(op.f("ix_lift_results_experiment_id"), table_name="lift_results")
    op.drop_index("ix_lift_results_merchant_period", table_name="lift_results")
    op.drop_table("lift_results")
