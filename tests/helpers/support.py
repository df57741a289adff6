"""Helpers shared by tests and test worker processes: service addresses and test settings."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from liftmeter.settings import DatabaseSettings, EventsSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get(
    "LIFTMETER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5544/postgres"
)
KAFKA_SERVERS = os.environ.get("LIFTMETER_TEST_KAFKA_SERVERS", "127.0.0.1:19092")
REQUIRE_SERVICES = os.environ.get("LIFTMETER_TEST_REQUIRE_SERVICES") == "1"


def service_unavailable(what: str, why: str) -> None:
    message = f"{what} not available ({why}); start it with `scripts/services.sh up`"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


def make_settings(db_url: str, *, backend: str = "embedded", **events: object) -> Settings:
    """Settings for tests: explicit values, independent of the caller's environment."""
    return Settings(
        database=DatabaseSettings(url=db_url),
        events=EventsSettings(backend=backend, bootstrap_servers=KAFKA_SERVERS, **events),  # type: ignore[arg-type]
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a server, or to be refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(**liftmeter: str) -> dict[str, str]:
    """The environment of a `liftmeter` subprocess: this one's without any LIFTMETER_ setting
    of the caller, plus `liftmeter` (e.g. `LIFTMETER_DATABASE__URL=...`)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LIFTMETER_")}
    return {**inherited, **liftmeter}


def services(action: str, what: str) -> None:
    """Start or stop a real service (used by fault tests that take the broker down)."""
    subprocess.run([str(ROOT / "scripts" / "services.sh"), action, what], check=True, timeout=180)
    if action == "down" and what == "kafka" and _port_open(KAFKA_SERVERS):
        pytest.fail(
            f"the Kafka broker at {KAFKA_SERVERS} was not started by this checkout's "
            "scripts/services.sh, so this fault test cannot stop it; stop it and rerun"
        )


def _port_open(server: str) -> bool:
    host, _, port = server.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True
