"""Fixtures of the metering tests: a migrated database with merchants, on both dialects."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from liftmeter.runtime import Runtime, open_runtime

from metering_support import add_merchants
from support import make_settings

MERCHANTS = ["mer_a", "mer_b", *[f"mer_{i}" for i in range(13)]]


@pytest.fixture
def rt(db_url: str) -> Iterator[Runtime]:
    """A runtime on a fresh database (SQLite and PostgreSQL) with the test merchants."""
    runtime = open_runtime(make_settings(db_url))
    add_merchants(runtime.sessions, MERCHANTS)
    yield runtime
    runtime.close()
