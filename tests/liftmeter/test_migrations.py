"""Migrations: one history that upgrades, checks clean and downgrades on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from liftmeter import migrate
from liftmeter.db import Base, build_engine
from liftmeter.settings import DatabaseSettings
from migrations.metadata import import_all_models


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("empty_pg_url"))
    return f"sqlite:///{tmp_path / 'empty.db'}"


def test_upgrade_check_and_downgrade_on_an_empty_database(empty_db_url: str) -> None:
    engine = build_engine(DatabaseSettings(url=empty_db_url))
    migrate.upgrade(engine)
    import_all_models()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    migrate.check(engine)  # raises SchemaDrift if models and migrations disagree
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)  # and back up again
    engine.dispose()
