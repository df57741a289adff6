"""Command line of the attribution domain, mounted as ``liftmeter attribution``.

- ``analyze FILE`` reads a per-unit CSV or Parquet export and prints the statistics as
  JSON on stdout;
- ``compute --merchant ID --period YYYY-MM`` (or ``--all``) computes the lift of the
  merchant's experiments over the month from the attribution tables, stores an immutable
  result per experiment and prints a table; a period without a measured interval (too
  little data, a failed SRM check) says why instead of printing an interval;
- ``run`` consumes exposure and conversion events (group ``attribution``) until SIGTERM.

Invalid input prints one ``error: <field>: <what>`` line on stderr and exits with status
2; no traceback.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from liftmeter.consumer_metrics import (
    MetricsEndpoint,
    MetricsHostOption,
    MetricsPortOption,
    serving_metrics,
)
from liftmeter.errors import LiftmeterError, ValidationFailed
from liftmeter.logging import configure_logging
from liftmeter.runtime import Runtime, open_runtime
from liftmeter.settings import load_settings

if TYPE_CHECKING:
    from attribution.results import LiftResult

EXIT_INVALID_INPUT = 2

app = typer.Typer(
    help="Lift: consume exposures and conversions, compute, analyze exports.",
    no_args_is_help=True,
)
console = Console()


@app.callback()
def attribution() -> None:
    """Lift: consume exposures and conversions, compute, analyze exports."""


def _runtime(*, check_events: bool = True) -> Runtime:
    settings = load_settings()
    configure_logging(settings.log)
    return open_runtime(settings, check_events=check_events)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="per-unit export, .csv or .parquet")],
    holdout_share: Annotated[float, typer.Option(help="configured holdout share")] = 0.1,
    unit_col: Annotated[str, typer.Option(help="unit id column")] = "unit_id",
    arm_col: Annotated[str, typer.Option(help="arm column")] = "arm",
    converted_col: Annotated[str, typer.Option(help="0/1 conversion column")] = "converted",
    revenue_col: Annotated[str, typer.Option(help="revenue per unit column")] = "revenue",
    pre_col: Annotated[str | None, typer.Option(help="pre-period revenue (CUPED)")] = None,
    treatment_label: Annotated[str, typer.Option(help="arm value of treatment")] = "treatment",
    holdout_label: Annotated[str, typer.Option(help="arm value of the holdout")] = "holdout",
    currency: Annotated[str, typer.Option(help="ISO 4217 currency of revenue")] = "USD",
    alpha: Annotated[float, typer.Option(help="1 − confidence level")] = 0.05,
    min_converting_units: Annotated[
        int | None, typer.Option(help="minimum converting units per arm (default: 100)")
    ] = None,
    cap_percentile: Annotated[
        float | None,
        typer.Option(help="revenue cap percentile of non-zero values; 100 = none (default: 99.9)"),
    ] = None,
    tuning_n: Annotated[
        int | None, typer.Option(help="sequential tuning N* (default: 5000)")
    ] = None,
) -> None:
    """Validate FILE and print lift, SRM and incremental revenue as JSON."""
    # Imported here: pandas and scipy would slow every `liftmeter` command's start-up.
    from attribution.analyze import ColumnMap, analyze_units, load_units
    from attribution.capping import DEFAULT_CAP_PERCENTILE
    from attribution.metric import DEFAULT_MIN_CONVERTING_UNITS, AnalysisOptions
    from attribution.sequential import DEFAULT_TUNING_N

    if min_converting_units is None:
        min_converting_units = DEFAULT_MIN_CONVERTING_UNITS
    if cap_percentile is None:
        cap_percentile = DEFAULT_CAP_PERCENTILE
    if tuning_n is None:
        tuning_n = DEFAULT_TUNING_N
    columns = ColumnMap(
        unit_id=unit_col,
        arm=arm_col,
        converted=converted_col,
        revenue=revenue_col,
        pre_period=pre_col,
        treatment_label=treatment_label,
        holdout_label=holdout_label,
    )
    options = AnalysisOptions(
        alpha=alpha, min_converting_units=min_converting_units, tuning_n=tuning_n
    )
    try:
        report = analyze_units(
            load_units(file, columns),
            holdout_share=holdout_share,
            currency=currency,
            options=options,
            cap_percentile=None if cap_percentile >= 100 else cap_percentile,
        )
    except LiftmeterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    typer.echo(json.dumps(report, indent=2))


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _row(table: Table, result: LiftResult) -> None:
    stats = result.statistics
    conversion = stats["metrics"]["conversion_rate"]
    relative = conversion.get("relative_sequential") or {}
    lift = (
        f"{relative['estimate']:+.2%} [{relative['ci_low']:+.2%}, {relative['ci_high']:+.2%}]"
        if relative
        else "-"
    )
    if result.reason in ("insufficient_data", "srm_failed", "undefined"):
        revenue = f"no interval: {result.detail}"
    else:
        revenue = f"{_money(result.estimate)} [{_money(result.ci_low)}, {_money(result.ci_high)}]"
    table.add_row(
        result.merchant_id,
        result.experiment_id,
        f"{result.holdout_units:,} / {result.treated_units:,}",
        lift,
        revenue,
        f"{result.conservative_amount:,.2f} {result.currency}",
        result.reason,
    )


def _merchants(rt: Runtime, merchant: str | None, every: bool) -> list[str]:
    if every == (merchant is not None):
        raise ValidationFailed("give either --merchant ID or --all", param="merchant")
    if merchant is not None:
        return [merchant]
    from sqlalchemy import select

    from liftmeter.models import Merchant

    with rt.sessions() as session:
        return list(session.scalars(select(Merchant.id).order_by(Merchant.id)))


@app.command()
def compute(
    period: Annotated[str, typer.Option(help="billing month, YYYY-MM (UTC)")],
    merchant: Annotated[str | None, typer.Option(help="merchant id")] = None,
    every: Annotated[bool, typer.Option("--all", help="every merchant")] = False,
    alpha: Annotated[float, typer.Option(help="1 − confidence level")] = 0.05,
) -> None:
    """Compute, store and print the lift of each experiment over the period."""
    from attribution.compute import compute_lift, month_period

    try:
        start, end = month_period(period)
        rt = _runtime(check_events=False)
        merchants = _merchants(rt, merchant, every)
    except LiftmeterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    results: list[LiftResult] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"lift {period}", total=len(merchants))
        for merchant_id in merchants:
            try:
                with rt.sessions.begin() as session:
                    results += compute_lift(
                        session,
                        merchant_id=merchant_id,
                        period_start=start,
                        period_end=end,
                        settings=rt.settings.attribution,
                        alpha=alpha,
                    )
            except LiftmeterError as exc:
                rt.close()
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(EXIT_INVALID_INPUT) from None
            progress.advance(task)
    rt.close()
    if not results:
        console.print(f"no experiment ran in {period} for {', '.join(merchants) or 'anyone'}")
        return
    table = Table(title=f"lift {period} (sequential intervals; revenue share on the amount)")
    for column in (
        "merchant",
        "experiment",
        "units H / T",
        "conversion lift",
        "incremental revenue",
        "billable",
        "reason",
    ):
        table.add_column(column)
    for result in results:
        _row(table, result)
    console.print(table)


@app.command()
def run(
    group: Annotated[str, typer.Option(help="consumer group")] = "attribution",
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
) -> None:
    """Consume exposure and conversion events until SIGTERM or Ctrl-C."""
    from attribution.consumer import TOPICS, run_consumer

    endpoint = MetricsEndpoint.from_options(metrics_host, metrics_port)
    rt = _runtime()
    rt.event_log.ensure_topics(list(TOPICS))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"attribution: consuming {', '.join(TOPICS)} as group {group}")
    if endpoint is not None:
        console.print(f"metrics: {endpoint.url}", highlight=False)
    with (
        contextlib.suppress(KeyboardInterrupt),
        serving_metrics(endpoint, group, lambda: rt.event_log.lag(group, list(TOPICS))) as metrics,
    ):
        outcome = run_consumer(
            event_log=rt.event_log,
            sessions=rt.sessions,
            stop=stop,
            group_id=group,
            max_records=rt.settings.events.poll_max_records,
            timeout_ms=rt.settings.events.poll_timeout_ms,
            metrics=metrics,
        )
        console.print(
            f"applied {outcome.applied}, duplicates {outcome.duplicates}, "
            f"dead-lettered {outcome.dead_lettered}"
        )
    rt.close()
