"""Alembic environment: runs liftmeter's one migration history against the configured database.

The connection comes from `config.attributes["connection"]` when liftmeter calls Alembic
programmatically (`liftmeter.migrate`), else from `LIFTMETER_DATABASE__URL`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from liftmeter.db import Base, build_engine
from liftmeter.settings import load_settings
from migrations.metadata import import_all_models

import_all_models()
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = build_engine(load_settings().database)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("liftmeter migrations run online only (they need a connection)")
run_migrations_online()
