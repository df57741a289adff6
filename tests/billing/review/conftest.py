"""Fixtures for the review queue tests: the real gateway on each database kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway_harness import Harness, harness_with
from support import make_settings


@pytest.fixture
def gw(db_url: str) -> Iterator[Harness]:
    """The gateway on SQLite and on PostgreSQL."""
    with harness_with(make_settings(db_url)) as harness:
        yield harness


@pytest.fixture
def gw_sqlite(sqlite_url: str) -> Iterator[Harness]:
    with harness_with(make_settings(sqlite_url)) as harness:
        yield harness
