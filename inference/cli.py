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
            if not progress.console.is_terminal and report.step % 50 == 0:
                progress.console.print(f"step {report.step}/{steps} {status}")  # for CI logs

        checkpoint = run_training(config, on_step=show)
    save_checkpoint(checkpoint, output)
    typer.echo(json.dumps({"checkpoint": str(output), **checkpoint.metadata}, indent=2))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Serve the embedded model on the OpenAI-compatible API (like `vllm serve`)."""
    import uvicorn

    from inference.server import create_app
    from liftmeter.logging import configure_logging
    from liftmeter.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None)


@app.command()
def generate(
    product_json: Annotated[
        str, typer.Argument(help="A ProductInput as JSON, or a raw prompt with --raw.")
    ],
    style: Annotated[str | None, typer.Option(help="standard|concise|playful|technical")] = None,
    raw: Annotated[bool, typer.Option(help="Treat the argument as a raw prompt.")] = False,
    max_tokens: Annotated[int, typer.Option(min=1)] = 160,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.0,
    seed: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Generate one description through the configured backend (local or OpenAI-compatible)."""
    import asyncio

    from inference.client import GenerationRequest, build_backend
    from inference.prompts import ProductInput, build_prompt
    from liftmeter.settings import load_settings

    prompt = (
        product_json if raw else build_prompt(ProductInput.model_validate_json(product_json), style)
    )
    request = GenerationRequest(
        prompt=prompt, max_tokens=max_tokens, temperature=temperature, seed=seed
    )

    async def run() -> None:
        backend = build_backend(load_settings())
        try:
            result = await backend.generate(request)
        finally:
            await backend.aclose()
        typer.echo(result.text.strip())
        usage = {
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
        }
        typer.echo(json.dumps({"finish_reason": result.finish_reason, **usage}), err=True)

    asyncio.run(run())


@app.command()
def evaluate(
    products: Annotated[int, typer.Option(min=1, help="Held-out products to describe.")] = 200,
    seed: Annotated[int, typer.Option(help="Catalogue seed of the held-out products.")] = 99,
    guard_numbers: Annotated[
        bool, typer.Option(help="Constrain numbers to those in the product data.")
    ] = True,
) -> None:
    """Run the quality gate on held-out products; exit 1 if it fails."""
    import asyncio

    from inference.catalog import generate_products
    from inference.client import build_backend
    from inference.quality import evaluate_quality
    from liftmeter.settings import load_settings

    held_out = list(generate_products(products, seed=seed, held_out=True))

    async def run() -> bool:
        backend = build_backend(load_settings())
        try:
            report = await evaluate_quality(backend, held_out, guard_numbers=guard_numbers)
        finally:
            await backend.aclose()
        typer.echo(json.dumps({**report.summary(), "samples": report.samples}, indent=2))
        return report.passed

    if not asyncio.run(run()):
        raise typer.Exit(code=1)


@app.command()
def export(
    output: Annotated[Path, typer.Argument(help="Directory for the Hugging Face Llama export.")],
) -> None:
    """Export the configured checkpoint as a dense LlamaForCausalLM for `vllm serve`."""
    from inference.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
    from inference.export import export_llama
    from liftmeter.settings import load_settings

    source = load_settings().inference.checkpoint or DEFAULT_CHECKPOINT
    export_llama(load_checkpoint(source), output, source=source)
    typer.echo(f"exported {source} -> {output} (vllm serve {output})")
