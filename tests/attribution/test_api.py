"""`GET /v1/lift` through the real gateway: tenants see only their own results (another
merchant's experiment is a 404), finance sees all, bad parameters name the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from attribution.compute import compute_lift, month_period
from attribution.service import record_events
from liftmeter.settings import AttributionSettings

from attribution_support import add_experiment, synthetic_events
from gateway_harness import Harness, harness_with
from support import make_settings

PERIOD = month_period("2026-09")
RANGE = {"from": "2026-09-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}


@pytest.fixture
def gw(db_url: str) -> Iterator[Harness]:
    with harness_with(make_settings(db_url)) as harness:
        yield harness


def _with_result(
    gw: Harness, name: str, *, computations: int = 1
) -> tuple[str, dict[str, str], str]:
    merchant_id, headers = gw.merchant(name)
    experiment_id = f"exp_{merchant_id}"
    add_experiment(gw.runtime.sessions, merchant_id, experiment_id)
    with gw.runtime.sessions.begin() as session:
        record_events(session, synthetic_events(merchant_id, experiment_id, units=400))
    for _ in range(computations):
        with gw.runtime.sessions.begin() as session:
            compute_lift(
                session,
                merchant_id=merchant_id,
                period_start=PERIOD[0],
                period_end=PERIOD[1],
                settings=AttributionSettings(),
            )
    return merchant_id, headers, experiment_id


def test_a_merchant_reads_its_newest_result_with_statistics(gw: Harness) -> None:
    merchant_id, headers, experiment_id = _with_result(gw, "A", computations=2)
    _with_result(gw, "B")
    r = gw.client.get("/v1/lift", params={**RANGE, "experiment_id": experiment_id}, headers=headers)
    assert r.status_code == 200, r.text
    (result,) = r.json()["data"]  # two computations of one period: the newest only
    assert result["merchant_id"] == merchant_id
    assert result["experiment_id"] == experiment_id
    assert result["reason"] == "insufficient_data"
    assert result["conservative_amount"] == "0.000000"
    assert result["statistics"]["sufficiency"]["status"] == "insufficient_data"
    assert set(result["statistics"]["metrics"]) == {
        "conversion_rate",
        "revenue_per_unit",
        "revenue_per_unit_uncapped",
    }
    everything = gw.client.get("/v1/lift", params=RANGE, headers=headers).json()["data"]
    assert [row["merchant_id"] for row in everything] == [merchant_id]
    shifted = {"from": "2026-09-01T02:00:00+02:00", "to": "2026-10-01T02:00:00+02:00"}
    assert gw.client.get("/v1/lift", params=shifted, headers=headers).json()["data"] == everything
    outside = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    assert gw.client.get("/v1/lift", params=outside, headers=headers).json()["data"] == []


def test_another_merchants_experiment_is_not_found_not_forbidden(gw: Harness) -> None:
    _, headers, _ = _with_result(gw, "A")
    other_id, _, other_experiment = _with_result(gw, "B")
    theirs = gw.client.get(
        "/v1/lift", params={**RANGE, "experiment_id": other_experiment}, headers=headers
    )
    unknown = gw.client.get(
        "/v1/lift", params={**RANGE, "experiment_id": "exp_nope"}, headers=headers
    )
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert theirs.json()["error"]["param"] == "experiment_id"
    other = gw.client.get("/v1/lift", params={**RANGE, "merchant_id": other_id}, headers=headers)
    assert other.status_code == 404


def test_finance_sees_every_merchant(gw: Harness) -> None:
    a, _, _ = _with_result(gw, "A")
    b, _, experiment_b = _with_result(gw, "B")
    finance = gw.staff("finance")
    rows = gw.client.get("/v1/lift", params=RANGE, headers=finance).json()["data"]
    assert sorted(row["merchant_id"] for row in rows) == sorted([a, b])
    one = gw.client.get(
        "/v1/lift", params={**RANGE, "experiment_id": experiment_b}, headers=finance
    ).json()["data"]
    assert [row["merchant_id"] for row in one] == [b]
    only_a = gw.client.get("/v1/lift", params={**RANGE, "merchant_id": a}, headers=finance)
    assert [row["merchant_id"] for row in only_a.json()["data"]] == [a]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": RANGE["to"]}, "from"),
        ({"from": RANGE["from"]}, "to"),
        ({"from": "2026-09-01T00:00:00", "to": RANGE["to"]}, "from"),
        ({"from": "yesterday", "to": RANGE["to"]}, "from"),
        ({"from": "0001-01-01T00:00:00+01:00", "to": RANGE["to"]}, "from"),
        ({"from": RANGE["to"], "to": RANGE["from"]}, "to"),
        ({**RANGE, "experiment_id": "x" * 65}, "experiment_id"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(
    gw: Harness, params: dict[str, str], field: str
) -> None:
    _, headers = gw.merchant("A")
    r = gw.client.get("/v1/lift", params=params, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == field


def test_without_a_key_is_401(gw: Harness) -> None:
    assert gw.client.get("/v1/lift", params=RANGE).status_code == 401
