"""Database engine, sessions and the declarative base shared by every domain's tables.

Engines are built per entry point from `Settings` (no module-level engine). Transactions
belong to the caller: one request, one consumer batch, one task. Repositories and services
flush, never commit.

SQLite runs in WAL mode with a busy timeout so a gateway and a consumer can share the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.dml import Insert

from liftmeter.errors import ConfigurationError
from liftmeter.settings import DatabaseSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every liftmeter table; one metadata for the one migration history."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def build_engine(settings: DatabaseSettings) -> Engine:
    """Create an engine for `settings.url`; raise `ConfigurationError` on a malformed URL."""
    try:
        url = make_url(settings.url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(str(exc), param="LIFTMETER_DATABASE__URL") from None
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=settings.echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so that a
        # transaction starts when SQLAlchemy says so and writers lock in a known order.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        event.listen(engine, "connect", _disable_pysqlite_autobegin)
        return engine
    try:
        return create_engine(
            url, echo=settings.echo, pool_size=settings.pool_size, pool_pre_ping=True
        )
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise ConfigurationError(str(exc), param="LIFTMETER_DATABASE__URL") from None


def _disable_pysqlite_autobegin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def check_database(engine: Engine) -> None:
    """Connect once; raise `ConfigurationError` naming the URL setting if that fails."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigurationError(
            f"cannot connect to {engine.url.render_as_string(hide_password=True)}: {reason}",
            param="LIFTMETER_DATABASE__URL",
        ) from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that never expire objects on commit (callers read results after commit)."""
    return sessionmaker(engine, expire_on_commit=False)


def insert_ignoring_conflicts(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], *, returning: Iterable[Any] = ()
) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING` for the session's dialect (PostgreSQL or SQLite).

    Returns the statement; pass `returning` columns to learn which rows were inserted.
    """
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt: Insert = module.insert(table).values(list(rows)).on_conflict_do_nothing()
    cols = list(returning)
    return stmt.returning(*cols) if cols else stmt


def insert_adding_counters(
    session: Session, table: Any, *, key: Mapping[str, Any], counters: Mapping[str, int]
) -> Insert:
    """`INSERT key + counters … ON CONFLICT (key) DO UPDATE SET c = c + value` for each counter.

    One atomic statement on PostgreSQL and SQLite: concurrent writers each add their values.
    """
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table).values(**key, **counters)
    upsert: Insert = stmt.on_conflict_do_update(
        index_elements=[table.c[name] for name in key],
        set_={name: table.c[name] + value for name, value in counters.items()},
    )
    return upsert


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "postgresql"
