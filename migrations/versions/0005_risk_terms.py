"""Per-merchant forbidden terms for the risk rules.

Revision ID: 0005_risk_terms
Revises: 0004_metering
Create Date: 2026-11-28 14:10:01.744919
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005_risk_terms'
down_revision: str | None = '0004_metering'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('risk_terms',
    sa.Column('merchant_id', sa.String(length=64), nullable=False),
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_risk_terms_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('merchant_id', 'term', name=op.f('pk_risk_terms'))
    )


def downgrade() -> None:
    op.drop_table('risk_terms')
