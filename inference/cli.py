"""`liftmeter inference ...`: train, evaluate, serve and sample the embedded model.

Heavy imports (torch, the model, the server) happen inside the commands so that
`liftmeter --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The embedded sparse-attention model: train, evaluate, serve, generate.",
    no_args_is_help=True,
)


@app.callback()
def main() -> None:
    """Keep sub-commands explicit (`liftmeter inference train ...`)."""


@app.command()
def train(
    output: Annotated[Path, typer.Option(help="Checkpoint directory to write.")] = Path(
        "var/checkpoints/latest"
    ),
    steps: Annotated[int, typer.Option(min=1, help="Optimizer steps.")] = 1200,
    examples: Annotated[int, typer.Option(min=64, help="Training examples to generate.")] = 40_000,
    seed: Annotated[int, typer.Option(help="Seed for data, init and sampling.")] = 1234,
) -> None:
    """Train a model from scratch on the synthetic catalogue and write a checkpoint."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from inference.checkpoint import save_checkpoint
    from inference.training import StepReport, TrainConfig
    from inference.training import train as run_training

    config = TrainConfig(steps=steps, train_examples=examples, seed=seed)
    columns = (
        TextColumn("[bold]train"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as progress:
        task = progress.add_task("train", total=steps, status="preparing data")

        def show(report: StepReport) -> None:
            val = "" if report.val_loss is None else f" val {report.val_loss:.3f}"
            status = f"loss {report.loss:.3f}{val} {report.tokens_per_s:,.0f} tok/s"
            progress.update(task, completed=report.step, status=status)

        checkpoint = run_training(config, on_step=show)
    save_checkpoint(checkpoint, output)
    typer.echo(json.dumps({"checkpoint": str(output), **checkpoint.metadata}, indent=2))
