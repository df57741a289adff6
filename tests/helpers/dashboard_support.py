"""Seed data for dashboard tests: metered calls, experiments and real lift results.

Usage goes through `metering.service.record_calls` (the consumer's own handler); lift
results are computed by attribution's statistics on simulated per-unit outcomes and stored
with `store_lift_result`, with the statistics in the shape of `attribution.analyze`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from attribution.analyze import analyze_units
from attribution.experiments import create_experiment
from attribution.results import LiftResult, store_lift_result
from attribution.revenue import estimate_incremental_revenue
from attribution.sufficient import arm_stats_from_arrays
from metering.service import record_calls

from factories import call_event

CATEGORIES = ("apparel", "home", "toys")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = TOKEN.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def sign_in(client: TestClient, secret: str, next_path: str = "/dashboard/usage") -> str:
    """Sign `client` in with `secret` through the form; return the session's CSRF token."""
    form = client.get(f"/dashboard/login?next={next_path}")
    assert form.status_code == 200
    r = client.post(
        "/dashboard/login",
        data={"api_key": secret, "csrf_token": csrf_of(form.text), "next": next_path},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == next_path
    page = client.get(next_path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def secret_of(headers: dict[str, str]) -> str:
    """The API key secret inside `Authorization: Bearer …` headers."""
    return headers["Authorization"].split(" ", 1)[1]


def seed_usage(
    sessions: sessionmaker[Session], merchant_id: str, *, calls: int, now: datetime
) -> None:
    """`calls` metered calls spread over the last hours: a few cache hits and flags."""
    events = [
        call_event(
            merchant_id,
            seq,
            call_id=f"call_{merchant_id}_{seq}",
            occurred_at=now - timedelta(hours=seq % 20, minutes=seq % 50),
            cache_hit=seq % 5 == 0,
            risk_verdict="review" if seq % 9 == 0 else "pass",
            model="liftmeter-sparse-small" if seq % 3 else "vllm-deepseek",
        )
        for seq in range(calls)
    ]
    with sessions.begin() as session:
        assert record_calls(session, events, now=now) == []


@dataclass(frozen=True)
class Arms:
    """Simulated units of one period: conversion rates, holdout share, units."""

    units: int
    holdout_share: float = 0.5
    holdout_rate: float = 0.10
    treatment_rate: float = 0.13
    holdout_count: int | None = None  # force a sample ratio mismatch


def _units(arms: Arms, rng: np.random.Generator) -> pd.DataFrame:
    n_hold = arms.holdout_count or int(round(arms.units * arms.holdout_share))
    arm = ["holdout"] * n_hold + ["treatment"] * (arms.units - n_hold)
    rate = np.where(np.array(arm) == "treatment", arms.treatment_rate, arms.holdout_rate)
    converted = (rng.random(arms.units) < rate).astype(int)
    revenue = converted * rng.lognormal(3.5, 0.5, arms.units)
    return pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(arms.units)],
            "arm": arm,
            "converted": converted,
            "revenue": revenue,
            "category": [CATEGORIES[i % len(CATEGORIES)] for i in range(arms.units)],
        }
    )


def lift_statistics(frame: pd.DataFrame, holdout_share: float) -> dict[str, Any]:
    """The `attribution.analyze` report, plus the conversion metric of every category."""
    table = frame.drop(columns=["category"])
    report = analyze_units(table, holdout_share=holdout_share)
    report["categories"] = {
        name: analyze_units(table[frame["category"] == name], holdout_share=holdout_share)[
            "metrics"
        ]["conversion_rate"]
        for name in CATEGORIES
    }
    return report


def store_period(
    session: Session,
    *,
    merchant_id: str,
    experiment_id: str,
    start: datetime,
    arms: Arms,
    seed: int,
) -> LiftResult:
    """Simulate one week of an experiment and store its lift result."""
    frame = _units(arms, np.random.default_rng(seed))
    holdout = frame[frame["arm"] == "holdout"]["revenue"].to_numpy()
    treated = frame[frame["arm"] == "treatment"]["revenue"].to_numpy()
    revenue = estimate_incremental_revenue(
        arm_stats_from_arrays(holdout),
        arm_stats_from_arrays(treated),
        currency="USD",
        holdout_share=arms.holdout_share,
    )
    return store_lift_result(
        session,
        merchant_id=merchant_id,
        experiment_id=experiment_id,
        period_start=start,
        period_end=start + timedelta(days=7),
        revenue=revenue,
        statistics=lift_statistics(frame, arms.holdout_share),
    )


def seed_experiment(
    sessions: sessionmaker[Session],
    merchant_id: str,
    *,
    periods: list[Arms],
    name: str = "Generated descriptions",
) -> str:
    """An experiment with one stored lift result per period (weekly, oldest first)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=7 * len(periods))
    with sessions.begin() as session:
        experiment = create_experiment(
            session, merchant_id=merchant_id, name=name, holdout_share="0.5", now=start
        ).experiment
        for i, arms in enumerate(periods):
            store_period(
                session,
                merchant_id=merchant_id,
                experiment_id=experiment.id,
                start=start + timedelta(days=7 * i),
                arms=arms,
                seed=i,
            )
        return experiment.id


def figure_data(html: str, element_id: str) -> dict[str, Any]:
    """The figure embedded as `element_id` (an empty figure if absent)."""
    match = re.search(
        rf'<script type="application/json" id="{re.escape(element_id)}-data">(.*?)</script>',
        html,
        re.S,
    )
    return dict(json.loads(match.group(1))) if match else {"data": []}


def figure_traces(html: str, element_id: str) -> int:
    """How many traces the figure embedded as `element_id` carries (0 if absent)."""
    return len(figure_data(html, element_id)["data"])


def seed_measured_experiment(
    sessions: sessionmaker[Session], merchant_id: str, *, units: int = 3000
) -> str:
    """An experiment fed with exposures (carrying categories) and purchases through the
    attribution intake, and its September 2026 lift computed and stored from them."""
    from attribution.compute import compute_lift, month_period
    from attribution.service import record_events
    from liftmeter.settings import AttributionSettings

    from attribution_support import add_experiment, synthetic_events, with_categories

    experiment_id = f"exp_measured_{merchant_id}"
    add_experiment(sessions, merchant_id, experiment_id)
    categories = {f"sku-{i}": CATEGORIES[i % len(CATEGORIES)] for i in range(5)}
    events = with_categories(synthetic_events(merchant_id, experiment_id, units=units), categories)
    start, end = month_period("2026-09")
    with sessions.begin() as session:
        assert record_events(session, events) == []
        compute_lift(
            session,
            merchant_id=merchant_id,
            period_start=start,
            period_end=end,
            settings=AttributionSettings(),
        )
    return experiment_id
