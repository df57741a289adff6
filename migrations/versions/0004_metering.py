"""Metering: raw call rows, hourly usage aggregates, closed periods, usage adjustments.

Revision ID: 0004_metering
Revises: 0003_intake
Create Date: 2026-11-28 13:30:03.959218
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004_metering'
down_revision: str | None = '0003_intake'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('closed_periods',
    sa.Column('merchant_id', sa.String(length=64), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_closed_periods_positive_length')),
    sa.PrimaryKeyConstraint('merchant_id', 'period_start', name=op.f('pk_closed_periods'))
    )
    op.create_table('usage_adjustments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('merchant_id', sa.String(length=64), nullable=False),
    sa.Column('hour_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meter', sa.String(length=32), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('cache_hit', sa.Boolean(), nullable=False),
    sa.Column('risk_verdict', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_by', sa.String(length=64), nullable=True),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('prompt_tokens', sa.BigInteger(), nullable=False),
    sa.Column('completion_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cached_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cached_tokens_unknown_calls', sa.BigInteger(), nullable=False),
    sa.Column('blocked_calls', sa.BigInteger(), nullable=False),
    sa.Column('flagged_calls', sa.BigInteger(), nullable=False),
    sa.Column('failed_calls', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_adjustments')),
    sa.UniqueConstraint('event_id', name=op.f('uq_usage_adjustments_event_id'))
    )
    op.create_index('ix_usage_adjustments_pending', 'usage_adjustments', ['merchant_id', 'settled_at'], unique=False)
    op.create_table('usage_calls',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('merchant_id', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hour_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('call_id', sa.String(length=128), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('cache_hit', sa.Boolean(), nullable=False),
    sa.Column('risk_verdict', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('prompt_tokens', sa.BigInteger(), nullable=False),
    sa.Column('completion_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cached_tokens', sa.BigInteger(), nullable=True),
    sa.Column('disposition', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_usage_calls'))
    )
    op.create_index('ix_usage_calls_merchant_hour', 'usage_calls', ['merchant_id', 'hour_start'], unique=False)
    op.create_table('usage_hourly',
    sa.Column('merchant_id', sa.String(length=64), nullable=False),
    sa.Column('hour_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meter', sa.String(length=32), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('cache_hit', sa.Boolean(), nullable=False),
    sa.Column('risk_verdict', sa.String(length=16), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('prompt_tokens', sa.BigInteger(), nullable=False),
    sa.Column('completion_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cached_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cached_tokens_unknown_calls', sa.BigInteger(), nullable=False),
    sa.Column('blocked_calls', sa.BigInteger(), nullable=False),
    sa.Column('flagged_calls', sa.BigInteger(), nullable=False),
    sa.Column('failed_calls', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('merchant_id', 'hour_start', 'meter', 'model', 'cache_hit', 'risk_verdict', name=op.f('pk_usage_hourly'))
    )
    op.create_index('ix_usage_hourly_hour', 'usage_hourly', ['hour_start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_usage_hourly_hour', table_name='usage_hourly')
    op.drop_table('usage_hourly')
    op.drop_index('ix_usage_calls_merchant_hour', table_name='usage_calls')
    op.drop_table('usage_calls')
    op.drop_index('ix_usage_adjustments_pending', table_name='usage_adjustments')
    op.drop_table('usage_adjustments')
    op.drop_table('closed_periods')
