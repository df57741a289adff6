"""Command line of the attribution domain, mounted as ``liftmeter attribution``.

``liftmeter attribution analyze FILE`` reads a per-unit CSV or Parquet export and prints
the statistics as JSON on stdout. Invalid input prints one ``error: <column>: <what>``
line on stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from liftmeter.errors import LiftmeterError

EXIT_INVALID_INPUT = 2

app = typer.Typer(help="Lift statistics on exported experiment data.", no_args_is_help=True)


@app.callback()
def attribution() -> None:
    """Lift statistics on exported experiment data."""


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
        int | None, typer.Option(help="minimum converting units per arm  [default: 100]")
    ] = None,
    cap_percentile: Annotated[
        float | None,
        typer.Option(help="revenue cap percentile of non-zero values; 100 = none  [default: 99.9]"),
    ] = None,
    tuning_n: Annotated[
        int | None, typer.Option(help="sequential tuning N*  [default: 5000]")
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
