"""`compute_lift` and `liftmeter attribution compute`: SQL aggregates to a stored result;
insufficient data and SRM failures store amount 0 with the reason and print no interval."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from attribution.baseline import row_level_statistics
from attribution.compute import analyze_statistics, compute_lift, month_period
from attribution.metric import AnalysisOptions
from attribution.models import Experiment
from attribution.results import LiftResult, lift_result_for_period
from attribution.service import conversion_touches, record_events
from liftmeter.errors import ValidationFailed
from liftmeter.runtime import Runtime, open_runtime
from liftmeter.settings import AttributionSettings

from attribution_support import add_experiment, add_merchant, frames, synthetic_events
from factories import conversion_event, exposure_event
from support import make_settings

PERIOD = month_period("2026-09")
SETTINGS = AttributionSettings(min_converting_units=100)


def _runtime(db_url: str) -> Runtime:
    rt = open_runtime(make_settings(db_url))
    for merchant, experiment, share, units in (
        ("mer_a", "exp_a", "0.5", 3000),  # enough data
        ("mer_small", "exp_small", "0.5", 120),  # too few converters
        ("mer_srm", "exp_srm", "0.1", 3000),  # configured 10 % holdout, data split 50/50
    ):
        add_merchant(rt.sessions, merchant)
        add_experiment(rt.sessions, merchant, experiment, holdout_share=share)
        with rt.sessions.begin() as session:
            assert record_events(session, synthetic_events(merchant, experiment, units=units)) == []
    return rt


def _compute(rt: Runtime, merchant_id: str) -> LiftResult:
    with rt.sessions.begin() as session:
        (result,) = compute_lift(
            session,
            merchant_id=merchant_id,
            period_start=PERIOD[0],
            period_end=PERIOD[1],
            settings=SETTINGS,
        )
    return result


def test_compute_stores_what_the_row_level_computation_concludes(db_url: str) -> None:
    rt = _runtime(db_url)
    result = _compute(rt, "mer_a")
    units, conversions = frames(rt.engine, "exp_a", "mer_a")
    baseline = row_level_statistics(
        units,
        conversions,
        start=PERIOD[0],
        end=PERIOD[1],
        window_days=7,
        pre_period_days=28,
        cap_percentile=99.9,
    )
    with rt.sessions() as session:
        experiment = session.get(Experiment, "exp_a")
        assert experiment is not None
        revenue, statistics = analyze_statistics(
            baseline,
            experiment=experiment,
            currency="USD",
            settings=SETTINGS,
            options=AnalysisOptions(min_converting_units=100),
        )
        stored = lift_result_for_period(
            session, merchant_id="mer_a", period_start=PERIOD[0], period_end=PERIOD[1]
        )
    assert stored is not None
    assert stored.id == result.id
    assert result.reason == revenue.reason.value
    assert result.estimate == pytest.approx(revenue.estimate, rel=1e-9)
    assert result.ci_low == pytest.approx(revenue.ci_low, rel=1e-9)
    assert result.conservative_amount == revenue.conservative_amount
    assert (result.holdout_units, result.treated_units) == (
        revenue.holdout_units,
        revenue.treated_units,
    )
    stats = result.statistics
    assert stats["srm"]["passed"] is True
    assert stats["sufficiency"]["status"] == "ok"
    for metric in ("conversion_rate", "revenue_per_unit", "revenue_per_unit_uncapped"):
        assert stats["metrics"][metric]["absolute_sequential"]["ci_low"] is not None
    assert stats["metrics"]["conversion_rate"]["relative"]["estimate"] > 0  # simulated +30 %
    assert stats["metrics"]["revenue_per_unit"]["cuped_applied"] is True
    assert stats["revenue_cap"]["value"] == pytest.approx(baseline.cap)
    assert stats["segments"]["billed"] is False
    assert len(stats["segments"]["lifts"]) == 5
    assert stats["settings"]["window_days"] == 7
    assert stats["units_in_both_arms"] > 0
    for metric in ("conversion_rate", "revenue_per_unit"):
        mine, theirs = stats["metrics"][metric], statistics["metrics"][metric]
        assert mine["relative_sequential"]["estimate"] == pytest.approx(
            theirs["relative_sequential"]["estimate"], rel=1e-9
        )
    rt.close()


def test_insufficient_data_and_srm_failure_store_zero_with_the_reason(db_url: str) -> None:
    rt = _runtime(db_url)
    small, srm = _compute(rt, "mer_small"), _compute(rt, "mer_srm")
    assert small.reason == "insufficient_data"
    assert small.conservative_amount == Decimal(0)
    assert "at least 100 per arm" in (small.detail or "")
    assert small.statistics["sufficiency"]["status"] == "insufficient_data"
    assert srm.reason == "srm_failed"
    assert srm.conservative_amount == Decimal(0)
    assert srm.statistics["srm"]["passed"] is False
    rt.close()


def test_a_merchant_without_an_experiment_gets_no_result(sqlite_url: str) -> None:
    rt = open_runtime(make_settings(sqlite_url))
    add_merchant(rt.sessions, "mer_none")
    with rt.sessions.begin() as session:
        assert (
            compute_lift(
                session,
                merchant_id="mer_none",
                period_start=PERIOD[0],
                period_end=PERIOD[1],
                settings=SETTINGS,
            )
            == []
        )
    rt.close()


def test_month_period_is_a_utc_month_and_bad_text_names_the_field() -> None:
    assert month_period("2026-12") == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ValidationFailed) as info:
        month_period("2026-13")
    assert info.value.param == "period"


def test_cli_prints_a_table_and_says_why_there_is_no_interval(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from attribution import cli as attribution_cli
    from liftmeter.cli import app

    monkeypatch.setattr(attribution_cli, "console", Console(width=400))  # no wrapped cells
    _runtime(sqlite_url).close()
    monkeypatch.setenv("LIFTMETER_DATABASE__URL", sqlite_url)
    monkeypatch.setenv("LIFTMETER_ATTRIBUTION__MIN_CONVERTING_UNITS", "100")
    cli = CliRunner()
    out = cli.invoke(app, ["attribution", "compute", "--all", "--period", "2026-09"])
    assert out.exit_code == 0, out.output
    for fragment in ("mer_a", "exp_a", "mer_small", "no interval: insufficient data", "srm_failed"):
        assert fragment in out.output
    bad = cli.invoke(app, ["attribution", "compute", "--merchant", "mer_a", "--period", "11/2026"])
    assert bad.exit_code == 2
    assert "period" in bad.output
    neither = cli.invoke(app, ["attribution", "compute", "--period", "2026-09"])
    assert neither.exit_code == 2


def test_touch_links_are_direct_or_last_touch(sqlite_url: str) -> None:
    rt = open_runtime(make_settings(sqlite_url))
    add_merchant(rt.sessions, "mer_a")
    add_experiment(rt.sessions, "mer_a", "exp_1", starts_at=datetime(2026, 11, 1, tzinfo=UTC))
    direct = conversion_event(order_id="o-1", description_id="desc_direct")
    touched = conversion_event(order_id="o-2")
    untouched = conversion_event(order_id="o-3", visitor_id="v-never")
    with rt.sessions.begin() as session:
        events = [exposure_event(description_id="desc_shown"), direct, touched, untouched]
        assert record_events(session, events) == []
        links = conversion_touches(
            session,
            merchant_id="mer_a",
            start=PERIOD[0],
            end=datetime(2027, 1, 1, tzinfo=UTC),
            window_days=7,
        )
    by_id = {event_id: (description, how) for event_id, description, how in links}
    assert by_id[direct.event_id] == ("desc_direct", "direct")
    assert by_id[touched.event_id] == ("desc_shown", "last_touch")
    assert by_id[untouched.event_id] == (None, "last_touch")
    rt.close()
