"""Billing: plan versions, invoices and lines, credit notes, number sequences, and the
triggers that keep plan versions, finalized invoices and credit notes immutable.

Revision ID: 0009_billing
Revises: 0008_attribution_intake
Create Date: 2026-11-28 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_billing"
down_revision: str | None = "0008_attribution_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AMOUNT = sa.Numeric(20, 6)
# Columns of a finalized invoice that nothing may change; only status, paid_at, voided_at
# and void_reason move, and only finalized -> paid -> void or finalized -> void.
_FROZEN = (
    "id", "merchant_id", "period_start", "period_end", "currency", "number",
    "plan_version_id", "total", "computed_at", "finalized_at",
)
_MOVES = (
    "(OLD.status = 'finalized' AND NEW.status IN ('paid', 'void')) "
    "OR (OLD.status = 'paid' AND NEW.status = 'void')"
)
_IMMUTABLE = ("plan_versions", "credit_notes", "credit_note_lines")

_PG_IMMUTABLE = """
CREATE FUNCTION billing_row_is_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows cannot be changed or deleted', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""
_PG_INVOICE = f"""
CREATE FUNCTION invoices_guard_final() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoice % is %: it cannot be deleted', OLD.id, OLD.status;
    END IF;
    IF NOT ({_MOVES}) OR ({", ".join("NEW." + c for c in _FROZEN)})
            IS DISTINCT FROM ({", ".join("OLD." + c for c in _FROZEN)}) THEN
        RAISE EXCEPTION 'invoice % is % and immutable', OLD.id, OLD.status;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""
_PG_LINES = """
CREATE FUNCTION invoice_lines_guard_final() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND EXISTS (
        SELECT 1 FROM invoices WHERE id = OLD.invoice_id AND status <> 'draft'
    ) THEN
        RAISE EXCEPTION 'lines of finalized invoice % are immutable', OLD.invoice_id;
    END IF;
    IF TG_OP <> 'DELETE' AND EXISTS (
        SELECT 1 FROM invoices WHERE id = NEW.invoice_id AND status <> 'draft'
    ) THEN
        RAISE EXCEPTION 'lines of finalized invoice % are immutable', NEW.invoice_id;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""


def _sqlite_final_line(ref: str) -> str:
    return f"EXISTS (SELECT 1 FROM invoices WHERE id = {ref}.invoice_id AND status <> 'draft')"


def _create_tables() -> None:
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("monthly_spend_cap", _AMOUNT, nullable=True),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_plan_versions_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_versions")),
        sa.UniqueConstraint("merchant_id", "effective_from", name="uq_plan_versions_effective"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("plan_version_id", sa.String(length=64), nullable=True),
        sa.Column("total", _AMOUNT, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_invoices_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["plan_version_id"], ["plan_versions.id"],
            name=op.f("fk_invoices_plan_version_id_plan_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("merchant_id", "period_start", name="uq_invoices_merchant_period"),
        sa.UniqueConstraint("merchant_id", "number", name="uq_invoices_merchant_number"),
    )
    op.create_index("ix_invoices_period_status", "invoices", ["period_start", "status"])
    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("component", sa.String(length=32), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Numeric(28, 6), nullable=False),
        sa.Column("unit_price", sa.Numeric(28, 12), nullable=True),
        sa.Column("amount", _AMOUNT, nullable=False),
        sa.Column("lineage_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint("invoice_id", "position", name="uq_invoice_lines_position"),
    )
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", _AMOUNT, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_credit_notes_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("merchant_id", "number", name="uq_credit_notes_number"),
    )
    op.create_index(op.f("ix_credit_notes_invoice_id"), "credit_notes", ["invoice_id"])
    op.create_table(
        "credit_note_lines",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("credit_note_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("invoice_line_id", sa.String(length=80), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("amount", _AMOUNT, nullable=False),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["credit_notes.id"],
            name=op.f("fk_credit_note_lines_credit_note_id_credit_notes"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_line_id"], ["invoice_lines.id"],
            name=op.f("fk_credit_note_lines_invoice_line_id_invoice_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_lines")),
        sa.UniqueConstraint("credit_note_id", "position", name="uq_credit_note_lines_position"),
    )
    op.create_table(
        "billing_sequences",
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "kind", "year", name=op.f("pk_billing_sequences")),
    )


def _pg_triggers() -> None:
    op.execute(_PG_IMMUTABLE)
    for table in _IMMUTABLE:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION billing_row_is_immutable()"
        )
    op.execute(_PG_INVOICE)
    op.execute(
        "CREATE TRIGGER invoices_final_immutable BEFORE UPDATE OR DELETE ON invoices "
        "FOR EACH ROW EXECUTE FUNCTION invoices_guard_final()"
    )
    op.execute(_PG_LINES)
    op.execute(
        "CREATE TRIGGER invoice_lines_final_immutable BEFORE INSERT OR UPDATE OR DELETE "
        "ON invoice_lines FOR EACH ROW EXECUTE FUNCTION invoice_lines_guard_final()"
    )


def _sqlite_triggers() -> None:
    for table in _IMMUTABLE:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows cannot be changed or deleted'); END"
            )
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FROZEN)
    op.execute(
        "CREATE TRIGGER invoices_final_no_update BEFORE UPDATE ON invoices "
        f"WHEN OLD.status <> 'draft' AND (NOT ({_MOVES}) OR {changed}) "
        "BEGIN SELECT RAISE(ABORT, 'finalized invoices are immutable'); END"
    )
    op.execute(
        "CREATE TRIGGER invoices_final_no_delete BEFORE DELETE ON invoices "
        "WHEN OLD.status <> 'draft' "
        "BEGIN SELECT RAISE(ABORT, 'finalized invoices cannot be deleted'); END"
    )
    for verb, refs in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        when = " OR ".join(_sqlite_final_line(r) for r in refs)
        op.execute(
            f"CREATE TRIGGER invoice_lines_final_no_{verb.lower()} BEFORE {verb} ON invoice_lines "
            f"WHEN {when} BEGIN SELECT RAISE(ABORT, 'lines of finalized invoices are immutable'); "
            "END"
        )


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        _pg_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER invoice_lines_final_immutable ON invoice_lines")
        op.execute("DROP FUNCTION invoice_lines_guard_final()")
        op.execute("DROP TRIGGER invoices_final_immutable ON invoices")
        op.execute("DROP FUNCTION invoices_guard_final()")
        for table in _IMMUTABLE:
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
        op.execute("DROP FUNCTION billing_row_is_immutable()")
    else:
        for verb in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER invoice_lines_final_no_{verb}")
        op.execute("DROP TRIGGER invoices_final_no_update")
        op.execute("DROP TRIGGER invoices_final_no_delete")
        for table in _IMMUTABLE:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"DROP TRIGGER {table}_no_delete")
    op.drop_table("billing_sequences")
    op.drop_table("credit_note_lines")
    op.drop_index(op.f("ix_credit_notes_invoice_id"), table_name="credit_notes")
    op.drop_table("credit_notes")
    op.drop_table("invoice_lines")
    op.drop_index("ix_invoices_period_status", table_name="invoices")
    op.drop_table("invoices")
    op.drop_table("plan_versions")
