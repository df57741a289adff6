"""Lift pages: the experiments with their latest status, and one experiment over time.

- `GET /dashboard/lift?merchant_id=…`: experiments, each with its latest stored result
  (status, incremental revenue with interval, conservative billable amount).
- `GET /dashboard/lift/{experiment_id}`: the latest period day by day (treatment vs holdout
  conversion rate over time, and the relative lift over time with its always-valid
  interval band, from `attribution.timeline`), the same per stored result (one point per
  period), incremental revenue with its band and the conservative amount, per-category
  lift, and every stored result in a table. Another merchant's experiment is a 404.

`dashboards.lift_report` (and with it scipy, through attribution) is imported on first
use, so the gateway starts without it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

import plotly.graph_objects as go
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from dashboards import charts
from dashboards.auth import ViewerDep
from dashboards.errors import PageNotFound
from dashboards.nav import PREFIX, NavItem
from dashboards.templating import merchant_picker, render
from liftmeter.errors import NotFound
from liftmeter.web import db_session

if TYPE_CHECKING:
    from attribution.timeline import DailyLift
    from dashboards.lift_report import LiftPoint

router = APIRouter(prefix=PREFIX)
NAV = NavItem("Lift", "/dashboard/lift", lambda viewer: viewer.reads_merchant_data)


@router.get("/lift", response_class=HTMLResponse)
def lift_overview(
    request: Request,
    viewer: ViewerDep,
    session: Annotated[Session, Depends(db_session)],
    merchant_id: str | None = None,
) -> HTMLResponse:
    from attribution.experiments import list_experiments
    from dashboards.lift_report import latest_results

    merchant = viewer.merchant_scope(merchant_id)
    experiments = list_experiments(session, merchant_id=merchant)
    return render(
        request,
        "lift_overview.html",
        viewer=viewer,
        title="Conversion lift",
        picker=merchant_picker(session, viewer, merchant),
        experiments=experiments,
        latest=latest_results(session, [e.id for e in experiments]),
    )


def _span(fig: go.Figure, points: list[LiftPoint]) -> go.Figure:
    """Results are plotted at their period end; show from the first period's start."""
    return charts.date_range(fig, points[0].period_start, points[-1].period_end + timedelta(days=1))


def _conversion_figures(points: list[LiftPoint]) -> dict[str, Markup]:
    with_rates = [p for p in points if p.conversion is not None]
    if not with_rates:
        return {}
    x = [p.period_end for p in with_rates]
    conv = [p.conversion for p in with_rates if p.conversion is not None]
    rates = go.Figure(
        [
            go.Scatter(
                x=x,
                y=[c.treatment_mean for c in conv],
                name="treatment",
                mode="lines+markers",
                line={"color": charts.TREATMENT},
            ),
            go.Scatter(
                x=x,
                y=[c.holdout_mean for c in conv],
                name="holdout",
                mode="lines+markers",
                line={"color": charts.HOLDOUT},
            ),
        ]
    )
    relative = go.Figure(
        charts.interval_traces(
            x,
            [c.relative.estimate for c in conv],
            [c.relative.ci_low for c in conv],
            [c.relative.ci_high for c in conv],
            name="relative lift",
        )
    )
    return {
        "rates": charts.embed(
            _span(
                charts.styled(
                    rates, title="Conversion rate by period", y_title="rate", y_format=".2%"
                ),
                with_rates,
            ),
            element_id="chart-lift-rates",
        ),
        "relative": charts.embed(
            _span(
                charts.styled(
                    relative,
                    title="Relative lift by period, with interval",
                    y_title="lift",
                    y_format="+.1%",
                ),
                with_rates,
            ),
            element_id="chart-lift-relative",
        ),
    }


def _day(day: date) -> datetime:
    """A day as its first instant (UTC): the points of a day are labelled by the day."""
    return datetime.combine(day, time(), UTC)


def _rate_lines(days: list[DailyLift]) -> list[go.Scatter]:
    x = [_day(d.day) for d in days]
    arms = (
        ("treatment", charts.TREATMENT, [d.conversion.treatment_mean for d in days]),
        ("holdout", charts.HOLDOUT, [d.conversion.holdout_mean for d in days]),
    )
    return [
        go.Scatter(x=x, y=y, name=name, mode="lines", line={"color": color, "width": 2})
        for name, color, y in arms
    ]


def _daily_figures(days: list[DailyLift]) -> dict[str, Markup]:
    """Conversion rates and relative lift at each day's end of the latest period."""
    start, end = _day(days[0].day), _day(days[-1].day + timedelta(days=1))
    rates = charts.styled(
        go.Figure(_rate_lines(days)),
        title="Conversion rate over time (cumulative, latest period)",
        y_title="rate",
        y_format=".2%",
    )
    out = {
        "daily_rates": charts.embed(
            charts.date_range(rates, start, end), element_id="chart-lift-daily-rates"
        )
    }
    with_interval = [
        (_day(d.day), r) for d in days if (r := d.conversion.relative_sequential) is not None
    ]
    if with_interval:
        relative = charts.styled(
            go.Figure(
                charts.interval_traces(
                    [day for day, _ in with_interval],
                    [r.estimate for _, r in with_interval],
                    [r.ci_low for _, r in with_interval],
                    [r.ci_high for _, r in with_interval],
                    name="relative lift",
                )
            ),
            title="Relative lift over time, always-valid interval",
            y_title="lift",
            y_format="+.1%",
        )
        out["daily_relative"] = charts.embed(
            charts.date_range(relative, start, end), element_id="chart-lift-daily-relative"
        )
    return out


def _revenue_figure(points: list[LiftPoint]) -> Markup:
    x = [p.period_end for p in points]
    fig = go.Figure(
        charts.interval_traces(
            x,
            [p.revenue.estimate for p in points],
            [p.revenue.ci_low for p in points],
            [p.revenue.ci_high for p in points],
            name="incremental revenue",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[float(p.conservative_amount) for p in points],
            name="conservative (billable)",
            mode="lines+markers",
            line={"color": charts.PALETTE[2], "dash": "dash", "width": 2},
        )
    )
    currency = points[-1].currency
    return charts.embed(
        _span(
            charts.styled(fig, title=f"Incremental revenue ({currency})", y_title=currency),
            points,
        ),
        element_id="chart-lift-revenue",
    )


def _category_figure(point: LiftPoint) -> Markup | None:
    names = [n for n, m in point.categories.items() if m.relative.estimate is not None]
    if not names:
        return None
    rel = [point.categories[n].relative for n in names]
    fig = charts.category_bars(
        names,
        [r.estimate for r in rel],
        [r.ci_low for r in rel],
        [r.ci_high for r in rel],
        title="Relative lift by category (latest period)",
        y_title="lift",
        y_format="+.1%",
    )
    return charts.embed(fig, element_id="chart-lift-categories")


@router.get("/lift/{experiment_id}", response_class=HTMLResponse)
def lift_detail(
    request: Request,
    experiment_id: str,
    viewer: ViewerDep,
    session: Annotated[Session, Depends(db_session)],
) -> HTMLResponse:
    from attribution.experiments import get_experiment
    from dashboards.lift_report import lift_history, lift_timeline

    try:
        experiment = get_experiment(session, experiment_id, merchant_id=viewer.merchant_scope(None))
    except NotFound:
        raise PageNotFound("no such experiment") from None
    points = lift_history(session, experiment.id)
    latest = points[-1] if points else None
    figures: dict[str, Markup | None] = {}
    days: list[DailyLift] = []
    if latest is not None:
        days = lift_timeline(session, experiment, latest)
        figures = {**_conversion_figures(points), "revenue": _revenue_figure(points)}
        figures["categories"] = _category_figure(latest)
    if days:
        figures.update(_daily_figures(days))
    return render(
        request,
        "lift_detail.html",
        viewer=viewer,
        title=f"Lift: {experiment.name}",
        experiment=experiment,
        points=points,
        latest=latest,
        figures=figures,
        days=days,
    )
