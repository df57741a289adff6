"""Settings: embedded defaults, environment overrides, one clear line for bad values."""

from __future__ import annotations

import pytest

from liftmeter.errors import ConfigurationError
from liftmeter.settings import load_settings


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("LIFTMETER_"):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.database.url.startswith("sqlite:///")
    assert settings.events.backend == "embedded"
    assert settings.inference.backend == "local"


def test_nested_environment_variables_switch_to_the_real_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIFTMETER_DATABASE__URL", "postgresql+psycopg://u@127.0.0.1:5432/db")
    monkeypatch.setenv("LIFTMETER_EVENTS__BACKEND", "kafka")
    monkeypatch.setenv("LIFTMETER_EVENTS__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    settings = load_settings()
    assert settings.database.url.startswith("postgresql+psycopg://")
    assert settings.events.backend == "kafka"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("LIFTMETER_EVENTS__BACKEND", "rabbit", "'embedded' or 'kafka'"),
        ("LIFTMETER_DATABASE__URL", "mysql://x", "sqlite:/// or postgresql"),
        ("LIFTMETER_EVENTS__PARTITIONS", "0", "greater than or equal to 1"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert info.value.param == name
    assert fragment in info.value.message
