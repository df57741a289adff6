"""Plotly figures for the pages, built on the server and embedded as JSON.

A page puts `{{ chart(figure) }}` in its template; `dashboards.js` draws every embedded
figure with the plotly.js bundled in the installed plotly package (served by the
dashboards, no CDN). Helpers here give every chart the same look: a line or bar series
over time, an estimate with its interval drawn as a shaded band, grouped bars with error
bars. Figures are validated by plotly when built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b")
TREATMENT, HOLDOUT, BAND = "#2563eb", "#64748b", "rgba(37, 99, 235, 0.16)"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def plotly_js_path() -> Path:
    """plotly.min.js as shipped inside the installed plotly package."""
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def plotly_js_version() -> str:
    return str(plotly.__version__)


@dataclass(frozen=True)
class Series:
    """One named series of values over time (None: no value for that period)."""

    name: str
    values: Sequence[float | None]
    kind: str = "line"  # or "bar"


def styled(fig: go.Figure, *, title: str, y_title: str, y_format: str = "") -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}},
        font={"family": FONT, "size": 12, "color": "#1f2937"},
        margin={"l": 56, "r": 16, "t": 44, "b": 40},
        height=320,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18, "x": 0},
        colorway=list(PALETTE),
    )
    fig.update_xaxes(showgrid=False, linecolor="#d1d5db")
    fig.update_yaxes(
        title_text=y_title, gridcolor="#eef0f3", zerolinecolor="#d1d5db", tickformat=y_format
    )
    return fig


def time_series(
    x: Sequence[datetime], series: Sequence[Series], *, title: str, y_title: str
) -> go.Figure:
    """Lines or (stacked) bars over time, one trace per series."""
    fig = go.Figure()
    for s in series:
        trace: Any = go.Bar if s.kind == "bar" else go.Scatter
        extra = {} if s.kind == "bar" else {"mode": "lines+markers"}
        fig.add_trace(trace(x=list(x), y=list(s.values), name=s.name, **extra))
    fig.update_layout(barmode="stack")
    return styled(fig, title=title, y_title=y_title)


def _point_with_error_bar(
    x: datetime,
    estimate: float | None,
    low: float | None,
    high: float | None,
    *,
    name: str,
    color: str,
) -> go.Scatter:
    error: dict[str, object] | None = None
    if estimate is not None and low is not None and high is not None:
        error = {
            "type": "data",
            "symmetric": False,
            "array": [high - estimate],
            "arrayminus": [estimate - low],
        }
    return go.Scatter(
        x=[x],
        y=[estimate],
        mode="markers",
        marker={"color": color, "size": 9},
        name=name,
        error_y=error,
    )


def interval_traces(
    x: Sequence[datetime],
    estimate: Sequence[float | None],
    low: Sequence[float | None],
    high: Sequence[float | None],
    *,
    name: str,
    color: str = TREATMENT,
    band: str = BAND,
) -> list[go.Scatter]:
    """An estimate line with its interval as a band (upper bound, then lower filled up).

    A single point has no band to draw: it gets its interval as an error bar instead.
    """
    xs = list(x)
    if len(xs) == 1:
        return [_point_with_error_bar(xs[0], estimate[0], low[0], high[0], name=name, color=color)]
    return [
        go.Scatter(
            x=xs,
            y=list(high),
            mode="lines",
            line={"width": 0},
            name=f"{name} upper",
            showlegend=False,
            hoverinfo="skip",
        ),
        go.Scatter(
            x=xs,
            y=list(low),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=band,
            name=f"{name} interval",
            hoverinfo="skip",
        ),
        go.Scatter(
            x=xs,
            y=list(estimate),
            mode="lines+markers",
            line={"color": color, "width": 2},
            name=name,
        ),
    ]


def date_range(fig: go.Figure, start: datetime, end: datetime) -> go.Figure:
    """Show [start, end] on a date axis labelled by day (one point would zoom to milliseconds)."""
    fig.update_xaxes(type="date", range=[start, end], tickformat="%b %d")
    return fig


def category_bars(
    names: Sequence[str],
    estimate: Sequence[float | None],
    low: Sequence[float | None],
    high: Sequence[float | None],
    *,
    title: str,
    y_title: str,
    y_format: str = "",
) -> go.Figure:
    """One bar per category with its interval as asymmetric error bars."""
    pairs = list(zip(estimate, low, high, strict=True))
    plus = [None if e is None or h is None else h - e for e, _, h in pairs]
    minus = [None if e is None or lo is None else e - lo for e, lo, _ in pairs]
    fig = go.Figure(
        go.Bar(
            x=list(names),
            y=list(estimate),
            marker_color=TREATMENT,
            error_y={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus},
            name="lift",
        )
    )
    return styled(fig, title=title, y_title=y_title, y_format=y_format)


def breakdown_bars(names: Sequence[str], values: Sequence[int], *, title: str) -> go.Figure:
    """Horizontal bars of one measure by a dimension (model, risk verdict)."""
    fig = go.Figure(go.Bar(x=list(values), y=list(names), orientation="h", marker_color=TREATMENT))
    fig = styled(fig, title=title, y_title="")
    fig.update_layout(height=max(160, 60 + 36 * len(names)), hovermode="closest")
    return fig


def embed(fig: go.Figure, *, element_id: str) -> Markup:
    """A chart container with its figure as inert JSON (`<`, `>`, `&` escaped)."""
    # `<`, `>` and `&` only occur inside JSON strings, where \u escapes mean the same.
    payload = str(fig.to_json())
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        payload = payload.replace(char, escaped)
    safe_id = escape(element_id)
    return Markup(
        f'<div class="chart" id="{safe_id}" data-figure="{safe_id}-data"></div>'
        f'<script type="application/json" id="{safe_id}-data">{payload}</script>'
    )
