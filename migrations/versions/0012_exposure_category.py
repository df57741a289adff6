"""The product category of an exposure and of a unit's first exposure (nullable).

Revision ID: 0012_exposure_category
Revises: 0011_spend_months
Create Date: 2026-11-28 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_exposure_category"
down_revision: str | None = "0011_spend_months"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("attribution_exposures", "experiment_units")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("category", sa.String(length=100), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("category")
