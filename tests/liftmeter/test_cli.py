"""The command line, run as a real process: clear one-line errors, and the demo end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LIFTMETER_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "liftmeter", *args],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"LIFTMETER_EVENTS__BACKEND": "rabbitmq"},
            "LIFTMETER_EVENTS__BACKEND: Input should be 'embedded' or 'kafka'",
        ),
        (
            {"LIFTMETER_DATABASE__URL": "mysql://db"},
            "LIFTMETER_DATABASE__URL: must be a sqlite:/// or postgresql",
        ),
        (
            {"LIFTMETER_DATABASE__URL": "postgresql+psycopg://u@127.0.0.1:1/x"},
            "LIFTMETER_DATABASE__URL: cannot connect",
        ),
        (
            {
                "LIFTMETER_EVENTS__BACKEND": "kafka",
                "LIFTMETER_EVENTS__BOOTSTRAP_SERVERS": "127.0.0.1:1",
                "LIFTMETER_EVENTS__CONNECT_TIMEOUT_S": "1",
            },
            "LIFTMETER_EVENTS__BOOTSTRAP_SERVERS: no Kafka broker reachable",
        ),
    ],
)
def test_bad_settings_stop_the_program_with_one_clear_line(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    result = _run(["check"], env, tmp_path)
    assert result.returncode == 2
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    assert expected in error_lines[0]
    assert "Traceback" not in result.stderr


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = _run(["--help"], {}, tmp_path)
    assert result.returncode == 0
    for command in ("demo", "db", "events", "check"):
        assert command in result.stdout
