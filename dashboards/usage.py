"""Usage and spend page: calls, tokens and cache hits over time, by model and risk verdict.

`GET /dashboard/usage?days=30&granularity=day&merchant_id=…` (merchant_id: staff only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from dashboards import charts
from dashboards.auth import ViewerDep
from dashboards.errors import BadPageParameter
from dashboards.nav import PREFIX, NavItem
from dashboards.templating import merchant_picker, render
from dashboards.usage_report import UsageReport, UsageWindow, build_usage_report
from liftmeter.web import Scope, db_session
from metering.ledger import Granularity

router = APIRouter(prefix=PREFIX)
NAV = NavItem("Usage", "/dashboard/usage", lambda viewer: viewer.principal.has(Scope.USAGE_READ))
DAY_CHOICES = (1, 2, 7, 30, 90)
MAX_HOURLY_DAYS = 7


def _window(raw_days: str, granularity: str | None) -> UsageWindow:
    days = int(raw_days) if raw_days.isdigit() else 0
    if days not in DAY_CHOICES:
        raise BadPageParameter(f"must be one of {DAY_CHOICES}", param="days")
    grain = granularity or ("hour" if days <= 2 else "day")
    if grain not in (Granularity.HOUR, Granularity.DAY):
        raise BadPageParameter("must be hour or day", param="granularity")
    if grain == Granularity.HOUR and days > MAX_HOURLY_DAYS:
        raise BadPageParameter(f"hourly usage covers at most {MAX_HOURLY_DAYS} days", param="days")
    return UsageWindow.last(days, Granularity(grain), now=datetime.now(UTC))


def _figures(report: UsageReport) -> dict[str, object]:
    x, s = report.periods, report.series
    calls = charts.time_series(
        x,
        [
            charts.Series(
                "calls (cache miss)",
                [c - h for c, h in zip(s["calls"], s["cache_hits"], strict=True)],
                "bar",
            ),
            charts.Series("cache hits", s["cache_hits"], "bar"),
        ],
        title="Calls",
        y_title="calls",
    )
    tokens = charts.time_series(
        x,
        [
            charts.Series("prompt tokens", s["prompt_tokens"], "bar"),
            charts.Series("completion tokens", s["completion_tokens"], "bar"),
        ],
        title="Tokens",
        y_title="tokens",
    )
    models = [b.name for b in report.by_model]
    verdicts = [b.name for b in report.by_verdict]
    return {
        "calls": charts.embed(calls, element_id="chart-usage-calls"),
        "tokens": charts.embed(tokens, element_id="chart-usage-tokens"),
        "models": charts.embed(
            charts.breakdown_bars(models, [b.calls for b in report.by_model], title="By model"),
            element_id="chart-usage-models",
        ),
        "verdicts": charts.embed(
            charts.breakdown_bars(
                verdicts, [b.calls for b in report.by_verdict], title="By risk verdict"
            ),
            element_id="chart-usage-verdicts",
        ),
    }


@router.get("/usage", response_class=HTMLResponse)
def usage_page(
    request: Request,
    viewer: ViewerDep,
    session: Annotated[Session, Depends(db_session)],
    days: str = "30",
    granularity: str | None = None,
    merchant_id: str | None = None,
) -> HTMLResponse:
    viewer.require(Scope.USAGE_READ)
    merchant = viewer.merchant_scope(merchant_id)
    window = _window(days, granularity)
    report = build_usage_report(session, window, merchant_id=merchant)
    return render(
        request,
        "usage.html",
        viewer=viewer,
        title="Usage and spend",
        picker=merchant_picker(session, viewer, merchant),
        report=report,
        figures=_figures(report) if not report.is_empty else None,
        days=window.days,
        day_choices=DAY_CHOICES,
        granularity=window.granularity.value,
    )
