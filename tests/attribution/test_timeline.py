"""Lift over time: per-day cumulative statistics from SQL; the last day of a period equals
the stored `LiftResult`, and any day equals the statistics of the period cut at its end,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attribution.assignment import Arm
from attribution.compute import compute_lift, month_period
from attribution.metric import AnalysisOptions
from attribution.models import Experiment
from attribution.repository import experiment_statistics
from attribution.service import record_events
from attribution.timeline import lift_over_time
from liftmeter.runtime import open_runtime
from liftmeter.settings import AttributionSettings

from attribution_support import add_experiment, add_merchant, synthetic_events
from support import make_settings

PERIOD = month_period("2026-09")
SETTINGS = AttributionSettings(min_converting_units=100)
OPTIONS = AnalysisOptions(min_converting_units=100)


def _timeline(session, experiment: Experiment, **kwargs):  # type: ignore[no-untyped-def]
    return lift_over_time(
        session,
        experiment=experiment,
        start=PERIOD[0],
        end=PERIOD[1],
        window_days=SETTINGS.window_days,
        pre_period_days=SETTINGS.pre_period_days,
        options=OPTIONS,
        **kwargs,
    )


def test_the_last_day_equals_the_stored_result_and_each_day_the_cut_period(db_url: str) -> None:
    rt = open_runtime(make_settings(db_url))
    add_merchant(rt.sessions, "mer_a")
    add_experiment(rt.sessions, "mer_a", "exp_a")
    with rt.sessions.begin() as session:
        assert record_events(session, synthetic_events("mer_a", "exp_a", units=3000)) == []
        (stored,) = compute_lift(
            session,
            merchant_id="mer_a",
            period_start=PERIOD[0],
            period_end=PERIOD[1],
            settings=SETTINGS,
        )
    with rt.sessions() as session:
        experiment = session.get(Experiment, "exp_a")
        assert experiment is not None
        days = _timeline(session, experiment)
        middle = days[12]
        cut = experiment_statistics(
            session,
            experiment=experiment,
            start=PERIOD[0],
            end=middle.as_of,
            window_days=SETTINGS.window_days,
            pre_period_days=SETTINGS.pre_period_days,
            cap_percentile=None,
        )
    rt.close()
    assert len(days) == 30
    assert [d.day.day for d in days] == list(range(1, 31))
    assert days[-1].as_of == PERIOD[1]
    units = [d.holdout.n + d.treatment.n for d in days]
    assert units == sorted(units)
    assert units[0] == 0 < units[-1]
    # day 13 equals the statistics of the units and purchases before its end
    for arm, mine in ((Arm.HOLDOUT, middle.holdout), (Arm.TREATMENT, middle.treatment)):
        theirs = [s.conversion for s in cut.segments if s.arm == arm.value]
        total = theirs[0]
        for s in theirs[1:]:
            total = total + s
        assert (mine.n, mine.n_nonzero) == (total.n, total.n_nonzero)
        assert (mine.sum_x, mine.sum_x2, mine.sum_xy) == pytest.approx(
            (total.sum_x, total.sum_x2, total.sum_xy), rel=1e-9, abs=1e-6
        )
    # the last day is the stored result
    last, want = days[-1], stored.statistics["metrics"]["conversion_rate"]
    assert (last.holdout.n, last.treatment.n) == (stored.holdout_units, stored.treated_units)
    assert list(last.conversion.converting_units) == want["converting_units"]
    assert last.conversion.holdout_mean == pytest.approx(want["holdout_mean"], rel=1e-12)
    assert last.conversion.treatment_mean == pytest.approx(want["treatment_mean"], rel=1e-12)
    seq = last.conversion.relative_sequential
    assert seq is not None
    for field in ("estimate", "ci_low", "ci_high"):
        assert getattr(seq, field) == pytest.approx(want["relative_sequential"][field], rel=1e-9)
    # early days have rates but too few converters for an interval
    assert days[3].conversion.status == "insufficient_data"
    assert days[3].conversion.relative_sequential is None


def test_days_stop_at_now_and_a_future_period_has_none(sqlite_url: str) -> None:
    rt = open_runtime(make_settings(sqlite_url))
    add_merchant(rt.sessions, "mer_a")
    add_experiment(rt.sessions, "mer_a", "exp_a")
    with rt.sessions.begin() as session:
        assert record_events(session, synthetic_events("mer_a", "exp_a", units=300)) == []
    with rt.sessions() as session:
        experiment = session.get(Experiment, "exp_a")
        assert experiment is not None
        now = datetime(2026, 9, 10, 12, tzinfo=UTC)
        days = _timeline(session, experiment, now=now)
        assert _timeline(session, experiment, now=PERIOD[0]) == []
    rt.close()
    assert [d.day.day for d in days] == list(range(1, 11))
    assert days[-1].as_of == now
