"""Alembic migrations: one history for every liftmeter table, on PostgreSQL and SQLite."""
