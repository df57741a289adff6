"""`liftmeter risk ...`: evaluate, score and retrain the risk model from the command line,
and work the review queue (`queue`, `decide`: `billing/review/cli.py`).

`score` reads JSON lines (`{"text": ..., "category": ..., "merchant_terms": [...]}`) on
standard input and writes one JSON verdict per line. A bad line writes a JSON error line
naming the line number and the field, scoring goes on, and the command exits 1 at the end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from billing.review import cli as review_cli
from billing.risk.dataset import DEFAULT_DATASET_PATH, load_dataset, select_split
from billing.risk.schemas import ScoreRequest
from liftmeter.errors import LiftmeterError

if TYPE_CHECKING:
    from billing.risk.model import RiskModel

app = typer.Typer(help="Screen generated descriptions with the risk model.", no_args_is_help=True)
app.command("queue")(review_cli.queue)
app.command("decide")(review_cli.decide)

ModelOption = Annotated[
    Path | None, typer.Option("--model", help="Artefact directory (default: the committed one).")
]
DataOption = Annotated[Path, typer.Option("--data", help="Labelled dataset (JSON lines).")]


def _load(model_dir: Path | None) -> RiskModel:
    try:
        from billing.risk.model import load_risk_model  # scikit-learn: load on use

        return load_risk_model(model_dir)
    except LiftmeterError as exc:
        typer.echo(json.dumps({"error": exc.code, "param": exc.param, "message": exc.message}))
        raise typer.Exit(2) from None


def _metrics_table(title: str, metrics: dict[str, Any]) -> Table:
    table = Table(title=title)
    for column in ("class", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for label, row in metrics["per_class"].items():
        table.add_row(
            label, *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1")), str(row["support"])
        )
    return table


def _confusion_table(metrics: dict[str, Any]) -> Table:
    labels = metrics["labels"]
    table = Table(title="confusion (rows: truth, columns: verdict)")
    table.add_column("truth")
    for label in labels:
        table.add_column(label, justify="right")
    for label, row in zip(labels, metrics["confusion"], strict=True):
        table.add_row(label, *(str(count) for count in row))
    return table


@app.command()
def evaluate(
    model_dir: ModelOption = None,
    data: DataOption = DEFAULT_DATASET_PATH,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N held-out examples (a quick look).")
    ] = None,
) -> None:
    """Evaluate on the held-out test split: per-class precision, recall, F1, confusion."""
    model = _load(model_dir)
    from billing.risk.evaluate import evaluate_model

    report = evaluate_model(model, select_split(load_dataset(data), "test")[:limit])
    if as_json:
        typer.echo(json.dumps(report, sort_keys=True))
        return
    console = Console()
    console.print(f"model {report['model_version']}, {report['n_examples']} held-out examples")
    for stage in ("combined", "classifier_only", "rules_only"):
        console.print(_metrics_table(stage, report[stage]))
    console.print(_confusion_table(report["combined"]))


def _error_line(line_number: int, field: str, message: str) -> str:
    return json.dumps(
        {"line": line_number, "error": "validation_failed", "field": field, "message": message}
    )


def _parse_request(line: str, line_number: int) -> ScoreRequest | str:
    """A request, or the JSON error line to print instead."""
    try:
        return ScoreRequest.model_validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "line"
        if first["type"] == "json_invalid":
            field = "line"
        return _error_line(line_number, field, first["msg"])


@app.command()
def score(model_dir: ModelOption = None) -> None:
    """Score JSON lines from stdin; print one verdict (or error) per non-empty line."""
    model = _load(model_dir)
    failed = False
    for line_number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        parsed = _parse_request(line, line_number)
        if isinstance(parsed, str):
            failed = True
            typer.echo(parsed)
            continue
        verdict = model.score(
            parsed.text, category=parsed.category, merchant_terms=parsed.merchant_terms
        )
        typer.echo(verdict.model_dump_json())
    if failed:
        raise typer.Exit(1)


@app.command()
def train(
    data: DataOption = DEFAULT_DATASET_PATH,
    out: Annotated[Path | None, typer.Option("--out", help="Artefact directory.")] = None,
) -> None:
    """Retrain from the dataset and rewrite the artefact (deterministic)."""
    from billing.risk.training import retrain

    manifest = retrain(data, out) if out is not None else retrain(data)
    block = manifest.metrics["combined"]["per_class"]["block"]
    typer.echo(
        f"wrote {manifest.version}: held-out block precision {block['precision']:.3f}, "
        f"recall {block['recall']:.3f}"
    )


if __name__ == "__main__":
    app()
