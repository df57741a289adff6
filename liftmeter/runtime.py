"""What an entry point builds from `Settings`: the engine, sessions and the event log.

`open_runtime(settings)` checks that the database (and, with `check_events`, the event log)
is reachable and raises `ConfigurationError` naming the setting if not, so programs stop at
start with one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from liftmeter.db import build_engine, check_database, session_factory
from liftmeter.eventlog import EventLog, build_event_log
from liftmeter.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    event_log: EventLog

    def close(self) -> None:
        self.event_log.close()
        self.engine.dispose()


def open_runtime(settings: Settings, *, check_events: bool = True) -> Runtime:
    """Build and check the engine, session factory and event log for `settings`."""
    engine = build_engine(settings.database)
    check_database(engine)
    event_log = build_event_log(settings, engine)
    if check_events:
        event_log.check()
    return Runtime(settings, engine, session_factory(engine), event_log)
