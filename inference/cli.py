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
    open_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of open-vocabulary products.")
    ] = 0.6,
    init_from: Annotated[
        Path | None, typer.Option(help="Continue from this checkpoint (its tokenizer too).")
    ] = None,
    time_budget_min: Annotated[
        float | None, typer.Option(min=1.0, help="Stop after this many minutes of training.")
    ] = None,
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 3e-3,
    warmup_steps: Annotated[int, typer.Option(min=1)] = 60,
    delexicalize: Annotated[
        bool, typer.Option(help="Train on slot placeholders; the engine fills in the values.")
    ] = True,
    wide_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of products with 6-16 attributes/features."),
    ] = 0.0,
    top_k: Annotated[
        int, typer.Option(min=1, help="Sparse-attention budget recorded for generation.")
    ] = 96,
) -> None:
    """Train a model on the synthetic catalogue and write a checkpoint."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from inference.checkpoint import save_checkpoint
    from inference.model import ModelConfig
    from inference.training import StepReport, TrainConfig
    from inference.training import train as run_training

    config = TrainConfig(
        model=ModelConfig(top_k=top_k),
        steps=steps,
        train_examples=examples,
        seed=seed,
        open_share=open_share,
        init_from=None if init_from is None else str(init_from),
        time_budget_s=None if time_budget_min is None else time_budget_min * 60,
        learning_rate=learning_rate,
        warmup_steps=warmup_steps,
        delexicalize=delexicalize,
        wide_share=wide_share,
    )
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
    unseen_products: Annotated[
        int, typer.Option(min=0, help="Unseen-vocabulary products to describe (0: skip).")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the held-out and unseen products.")] = 99,
    guard_numbers: Annotated[
        bool, typer.Option(help="Constrain numbers to those in the product data.")
    ] = True,
) -> None:
    """Run the quality gate on held-out and unseen-vocabulary products; exit 1 if one fails."""
    import asyncio

    from inference.catalog import generate_products, generate_unseen_products
    from inference.client import build_backend
    from inference.quality import evaluate_quality
    from liftmeter.settings import load_settings

    sets = {"held_out": list(generate_products(products, seed=seed, held_out=True))}
    if unseen_products:
        sets["unseen_vocabulary"] = list(generate_unseen_products(unseen_products, seed=seed))

    async def run() -> bool:
        backend = build_backend(load_settings())
        result: dict[str, object] = {}
        passed = True
        try:
            for name, items in sets.items():
                report = await evaluate_quality(backend, items, guard_numbers=guard_numbers)
                result[name] = {**report.summary(), "samples": report.samples}
                passed = passed and report.passed
        finally:
            await backend.aclose()
        typer.echo(json.dumps({"passed": passed, **result}, indent=2))
        return passed

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
