"""Schemathesis over the gateway's own OpenAPI spec: generated requests never get a 5xx.

Requests carry a real merchant key (merchant scopes) so they reach the handlers, and the
examples include malformed bodies, wrong types, huge numbers and unknown fields.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from gateway_harness import Harness, harness_with
from support import make_settings


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    from liftmeter import migrate
    from liftmeter.db import build_engine
    from liftmeter.settings import DatabaseSettings

    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    engine = build_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    migrate.upgrade(engine)
    engine.dispose()
    with harness_with(make_settings(f"sqlite:///{path}")) as harness:
        yield harness


@pytest.fixture(scope="module")
def merchant_headers(fuzz_target: Harness) -> dict[str, str]:
    return fuzz_target.merchant("Fuzz")[1]


def test_generated_requests_never_get_a_server_error(
    fuzz_target: Harness, merchant_headers: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_target.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers={**(case.headers or {}), **merchant_headers})
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
            )

        call()
